/*
 * RTCP parsing and building. The parser walks a compound packet with a
 * length check before every field and keeps what the relay acts on.
 */
#include <string.h>

#include "rtcp.h"

static uint16_t
rd16(const uint8_t *p)
{
	return ((uint16_t)p[0] << 8) | p[1];
}

static uint32_t
rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

static void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void
wr32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

static void
rtcp_blocks(struct rtcp_info *ri, const uint8_t *p, size_t len, int rc)
{
	int		i;
	uint32_t	l;

	for (i = 0; i < rc && len >= 24 && ri->nblocks < RTCP_MAX_ITEMS; i++) {
		struct rtp_block *b = &ri->blocks[ri->nblocks++];

		b->ssrc = rd32(p);
		b->fraction = p[4];
		l = ((uint32_t)p[5] << 16) | ((uint32_t)p[6] << 8) | p[7];
		if (l & 0x800000)
			l |= 0xff000000U;
		b->lost = (int32_t)l;
		b->ext_seq = rd32(p + 8);
		b->jitter = rd32(p + 12);
		b->lsr = rd32(p + 16);
		b->dlsr = rd32(p + 20);
		p += 24;
		len -= 24;
	}
}

static void
rtcp_nack(struct rtcp_info *ri, const uint8_t *p, size_t len)
{
	uint32_t	media;
	uint16_t	pid, blp;
	int		b;

	if (len < 8)
		return;
	media = rd32(p + 4);
	for (p += 8, len -= 8; len >= 4; p += 4, len -= 4) {
		pid = rd16(p);
		blp = rd16(p + 2);
		for (b = -1; b < 16; b++) {
			if (b >= 0 && !(blp & (1U << b)))
				continue;
			if (ri->nnack >= RTCP_MAX_NACK)
				return;
			ri->nack[ri->nnack].media = media;
			ri->nack[ri->nnack].seq = (uint16_t)(pid + b + 1);
			ri->nnack++;
		}
	}
}

/* REMB: PSFB fmt 15, "REMB", num ssrc, exp (6 bits), mantissa (18). */
static void
rtcp_remb(struct rtcp_info *ri, const uint8_t *p, size_t len)
{
	uint32_t	mant;
	unsigned int	ex;

	if (len < 20 || memcmp(p + 8, "REMB", 4) != 0)
		return;
	ex = p[13] >> 2;
	mant = ((uint32_t)(p[13] & 3) << 16) | ((uint32_t)p[14] << 8) | p[15];
	ri->has_remb = 1;
	ri->remb_bps = ex > 40 ? UINT64_MAX >> 1 : (uint64_t)mant << ex;
}

int
rtcp_parse(struct rtcp_info *ri, const uint8_t *p, size_t len)
{
	size_t		plen;
	uint8_t		pt, fmt;
	int		n = 0;

	memset(ri, 0, sizeof(*ri));
	while (len >= 4) {
		if ((p[0] & 0xc0) != 0x80)
			return (n > 0 ? 0 : -1);
		fmt = p[0] & 0x1f;
		pt = p[1];
		plen = ((size_t)rd16(p + 2) + 1) * 4;
		if (plen > len)
			return (n > 0 ? 0 : -1);
		switch (pt) {
		case RTCP_SR:
			if (plen < 28)
				break;
			ri->has_sr = 1;
			ri->sr_ssrc = rd32(p + 4);
			ri->sr_ntp = ((uint64_t)rd32(p + 8) << 32) | rd32(p + 12);
			ri->sr_rtp = rd32(p + 16);
			rtcp_blocks(ri, p + 28, plen - 28, fmt);
			break;
		case RTCP_RR:
			if (plen >= 8)
				rtcp_blocks(ri, p + 8, plen - 8, fmt);
			break;
		case RTCP_RTPFB:
			if (fmt == 1)
				rtcp_nack(ri, p + 4, plen - 4);
			break;
		case RTCP_PSFB:
			if (fmt == 1 && plen >= 12) {		/* PLI */
				if (ri->npli < RTCP_MAX_ITEMS)
					ri->pli[ri->npli++] = rd32(p + 8);
			} else if (fmt == 4 && plen >= 20) {	/* FIR */
				if (ri->npli < RTCP_MAX_ITEMS)
					ri->pli[ri->npli++] = rd32(p + 12);
			} else if (fmt == 15)
				rtcp_remb(ri, p + 4, plen - 4);
			break;
		case RTCP_BYE:
			ri->nbye++;
			break;
		default:
			break;
		}
		n++;
		p += plen;
		len -= plen;
	}
	return (n > 0 ? 0 : -1);
}

static size_t
rtcp_head(uint8_t *out, size_t cap, uint8_t fmt, uint8_t pt, size_t len)
{
	if (cap < len || (len & 3) != 0 || len < 4)
		return (0);
	out[0] = 0x80 | (fmt & 0x1f);
	out[1] = pt;
	wr16(out + 2, (uint16_t)(len / 4 - 1));
	return (len);
}

size_t
rtcp_build_sr(uint8_t *out, size_t cap, uint32_t ssrc, uint64_t ntp,
    uint32_t rtp_ts, uint32_t packets, uint32_t octets)
{
	if (rtcp_head(out, cap, 0, RTCP_SR, 28) == 0)
		return (0);
	wr32(out + 4, ssrc);
	wr32(out + 8, (uint32_t)(ntp >> 32));
	wr32(out + 12, (uint32_t)ntp);
	wr32(out + 16, rtp_ts);
	wr32(out + 20, packets);
	wr32(out + 24, octets);
	return (28);
}

size_t
rtcp_build_rr(uint8_t *out, size_t cap, uint32_t ssrc,
    const struct rtp_block *b, int n)
{
	size_t		len;
	uint8_t		*q;
	int		i;

	if (n < 0 || n > 31)
		return (0);
	len = 8 + (size_t)n * 24;
	if (rtcp_head(out, cap, (uint8_t)n, RTCP_RR, len) == 0)
		return (0);
	wr32(out + 4, ssrc);
	for (i = 0, q = out + 8; i < n; i++, q += 24) {
		wr32(q, b[i].ssrc);
		q[4] = b[i].fraction;
		q[5] = ((uint32_t)b[i].lost >> 16) & 0xff;
		q[6] = ((uint32_t)b[i].lost >> 8) & 0xff;
		q[7] = (uint32_t)b[i].lost & 0xff;
		wr32(q + 8, b[i].ext_seq);
		wr32(q + 12, b[i].jitter);
		wr32(q + 16, b[i].lsr);
		wr32(q + 20, b[i].dlsr);
	}
	return (len);
}

size_t
rtcp_build_pli(uint8_t *out, size_t cap, uint32_t sender, uint32_t media)
{
	if (rtcp_head(out, cap, 1, RTCP_PSFB, 12) == 0)
		return (0);
	wr32(out + 4, sender);
	wr32(out + 8, media);
	return (12);
}

/* Generic NACK, packing consecutive losses into PID + bitmask pairs. */
size_t
rtcp_build_nack(uint8_t *out, size_t cap, uint32_t sender, uint32_t media,
    const uint16_t *seqs, int n)
{
	size_t		len = 12;
	uint16_t	pid, blp, d;
	int		i;

	if (cap < 12 || n <= 0)
		return (0);
	wr32(out + 4, sender);
	wr32(out + 8, media);
	for (i = 0; i < n; ) {
		pid = seqs[i++];
		blp = 0;
		while (i < n && (d = (uint16_t)(seqs[i] - pid)) >= 1 &&
		    d <= 16) {
			blp |= 1U << (d - 1);
			i++;
		}
		if (cap - len < 4)
			return (0);
		wr16(out + len, pid);
		wr16(out + len + 2, blp);
		len += 4;
	}
	rtcp_head(out, cap, 1, RTCP_RTPFB, len);
	return (len);
}

size_t
rtcp_build_remb(uint8_t *out, size_t cap, uint32_t sender, uint64_t bps,
    const uint32_t *ssrcs, int n)
{
	size_t		len;
	unsigned int	ex = 0;
	int		i;

	if (n < 1 || n > 255)
		return (0);
	len = 20 + (size_t)n * 4;
	if (rtcp_head(out, cap, 15, RTCP_PSFB, len) == 0)
		return (0);
	while ((bps >> ex) > 0x3ffff && ex < 63)
		ex++;
	wr32(out + 4, sender);
	wr32(out + 8, 0);
	memcpy(out + 12, "REMB", 4);
	out[16] = (uint8_t)n;
	out[17] = (uint8_t)((ex << 2) | ((bps >> ex) >> 16 & 3));
	wr16(out + 18, (uint16_t)((bps >> ex) & 0xffff));
	for (i = 0; i < n; i++)
		wr32(out + 20 + i * 4, ssrcs[i]);
	return (len);
}
