/*
 * RTP header handling for the relay. Rewriting happens in place on the
 * plaintext packet (after SRTP unprotect, before protect for the receiver).
 */
#include <string.h>

#include "rtp.h"

#define RTP_SEQ_MOD	(1U << 16)
#define RTP_MAX_DROPOUT	3000
#define RTP_MAX_MISORDER 100

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

/*
 * RFC 5761 4: with rtcp-mux, RTCP packet types 192..223 (SR 200, RR 201,
 * SDES, BYE, APP, RTPFB 205, PSFB 206, XR 207) occupy the byte where RTP
 * has marker + payload type; RTP payload types 64..95 are never used.
 */
int
rtp_is_rtcp(const uint8_t *p, size_t len)
{
	if (len < 2 || (p[0] & 0xc0) != 0x80)
		return (0);
	return (p[1] >= 192 && p[1] <= 223);
}

int
rtp_parse(struct rtp_hdr *h, const uint8_t *p, size_t len)
{
	size_t		off, cc, xlen, pad;

	memset(h, 0, sizeof(*h));
	if (len < RTP_HDR || (p[0] & 0xc0) != 0x80)
		return (-1);
	cc = p[0] & 0x0f;
	h->marker = (p[1] & 0x80) != 0;
	h->pt = p[1] & 0x7f;
	h->seq = rd16(p + 2);
	h->ts = rd32(p + 4);
	h->ssrc = rd32(p + 8);
	off = RTP_HDR + cc * 4;
	if (off > len)
		return (-1);
	if (p[0] & 0x10) {
		if (len - off < 4)
			return (-1);
		xlen = (size_t)rd16(p + off + 2) * 4;
		off += 4;
		if (xlen > len - off)
			return (-1);
		off += xlen;
	}
	pad = 0;
	if (p[0] & 0x20) {
		pad = p[len - 1];
		if (pad == 0 || pad > len - off)
			return (-1);
	}
	h->hdrlen = off;
	h->paylen = len - off - pad;
	return (0);
}

void
rtp_rewrite_init(struct rtp_rewrite *rw, uint32_t clock, uint16_t seq0,
    uint32_t ts0)
{
	memset(rw, 0, sizeof(*rw));
	rw->clock = clock;
	rw->last_seq = seq0;
	rw->last_ts = ts0;
}

/* The outgoing timestamp "now": last sent plus the elapsed wall time. */
uint32_t
rtp_rewrite_ts_now(const struct rtp_rewrite *rw, uint64_t now_us)
{
	uint64_t	el;

	if (!rw->started || now_us <= rw->last_us)
		return (rw->last_ts);
	el = now_us - rw->last_us;
	if (el > 3600ULL * 1000000)
		el = 3600ULL * 1000000;
	return (rw->last_ts + (uint32_t)(el * rw->clock / 1000000));
}

/*
 * Rewrites SSRC, payload type, sequence and timestamp of a parsed-valid
 * plaintext RTP packet for one outgoing stream. Returns 0, or -1 when the
 * packet is too old to send (it predates a source switch).
 */
int
rtp_rewrite(struct rtp_rewrite *rw, uint8_t *p, size_t len, uint32_t out_ssrc,
    uint8_t out_pt, uint64_t now_us)
{
	uint16_t	seq, oseq;
	uint32_t	ts, ssrc, ots, adv;
	int16_t		d;

	if (len < RTP_HDR)
		return (-1);
	seq = rd16(p + 2);
	ts = rd32(p + 4);
	ssrc = rd32(p + 8);
	if (!rw->started || ssrc != rw->src_ssrc) {
		/* New source: continue our sequence; advance our clock. */
		adv = rw->started ? rtp_rewrite_ts_now(rw, now_us) - rw->last_ts :
		    0;
		if (rw->started && adv == 0)
			adv = 1;
		rw->seq_off = (uint16_t)(rw->last_seq + (rw->started ? 1 : 0) -
		    seq);
		rw->ts_off = rw->last_ts + adv - ts;
		if (rw->started)
			rw->switches++;
		rw->src_ssrc = ssrc;
		rw->started = 1;
		rw->last_seq = (uint16_t)(seq + rw->seq_off - 1);
	}
	oseq = (uint16_t)(seq + rw->seq_off);
	ots = ts + rw->ts_off;
	d = (int16_t)(oseq - rw->last_seq);
	if (d > 0) {
		rw->last_seq = oseq;
		rw->last_ts = ots;
		rw->last_us = now_us;
	} else if (d < -RTP_MAX_MISORDER)
		return (-1);
	p[1] = (p[1] & 0x80) | (out_pt & 0x7f);
	wr16(p + 2, oseq);
	wr32(p + 4, ots);
	wr32(p + 8, out_ssrc);
	return (0);
}

void
rtp_stats_init(struct rtp_stats *s, uint32_t clock)
{
	memset(s, 0, sizeof(*s));
	s->clock = clock;
}

/* RFC 3550 A.1 sequence tracking and A.8 interarrival jitter. */
void
rtp_stats_update(struct rtp_stats *s, uint16_t seq, uint32_t ts,
    uint64_t now_us)
{
	uint16_t	udelta;
	uint32_t	arrival, transit;
	int32_t		d;

	if (!s->init) {
		s->init = 1;
		s->max_seq = seq;
		s->base_seq = seq;
		s->bad_seq = RTP_SEQ_MOD + 1;
		s->cycles = 0;
		s->received = 0;
		s->expected_prior = 0;
		s->received_prior = 0;
	}
	udelta = seq - s->max_seq;
	if (udelta < RTP_MAX_DROPOUT) {
		if (seq < s->max_seq)
			s->cycles += RTP_SEQ_MOD;
		s->max_seq = seq;
	} else if (udelta <= RTP_SEQ_MOD - RTP_MAX_MISORDER) {
		if (seq == s->bad_seq) {
			/* Two sequential packets: the sender restarted. */
			s->max_seq = seq;
			s->base_seq = seq;
			s->cycles = 0;
			s->received = 0;
			s->expected_prior = 0;
			s->received_prior = 0;
		} else {
			s->bad_seq = (seq + 1) & (RTP_SEQ_MOD - 1);
			return;
		}
	}
	s->received++;
	if (s->clock == 0)
		return;
	arrival = (uint32_t)(now_us * s->clock / 1000000);
	transit = arrival - ts;
	if (s->transit != 0) {
		d = (int32_t)(transit - s->transit);
		if (d < 0)
			d = -d;
		s->jitter += (uint32_t)d - ((s->jitter + 8) >> 4);
	}
	s->transit = transit;
}

uint32_t
rtp_seq_lost(const struct rtp_stats *s)
{
	uint32_t	expected;

	if (!s->init)
		return (0);
	expected = s->cycles + s->max_seq - s->base_seq + 1;
	return (expected > s->received ? expected - s->received : 0);
}

/* RFC 3550 A.3: fills one report block and starts a new interval. */
void
rtp_stats_block(struct rtp_stats *s, uint32_t ssrc, uint64_t now_us,
    struct rtp_block *b)
{
	uint32_t	expected, exp_int, rec_int;
	int32_t		lost_int;
	uint64_t	dl;

	memset(b, 0, sizeof(*b));
	b->ssrc = ssrc;
	if (!s->init)
		return;
	expected = s->cycles + s->max_seq - s->base_seq + 1;
	s->lost = (int32_t)(expected - s->received);
	if (s->lost > 0x7fffff)
		s->lost = 0x7fffff;
	else if (s->lost < -0x800000)
		s->lost = -0x800000;
	exp_int = expected - s->expected_prior;
	s->expected_prior = expected;
	rec_int = s->received - s->received_prior;
	s->received_prior = s->received;
	lost_int = (int32_t)(exp_int - rec_int);
	if (exp_int == 0 || lost_int <= 0)
		s->fraction = 0;
	else
		s->fraction = (uint8_t)(((uint32_t)lost_int << 8) / exp_int);
	b->fraction = s->fraction;
	b->lost = s->lost;
	b->ext_seq = s->cycles + s->max_seq;
	b->jitter = s->jitter >> 4;
	b->lsr = s->lsr;
	if (s->lsr != 0 && now_us > s->lsr_us) {
		dl = (now_us - s->lsr_us) * 65536 / 1000000;
		b->dlsr = dl > 0xffffffffULL ? 0xffffffffU : (uint32_t)dl;
	}
}

/*
 * Does this VP8 payload (RFC 7741) start a key frame? The descriptor's S
 * bit and partition 0 mark the start of a frame; the frame header's P
 * bit is 0 on a key frame.
 */
int
rtp_vp8_keyframe(const uint8_t *p, size_t len)
{
	size_t	off = 1;

	if (len < 1 || (p[0] & 0x10) == 0 || (p[0] & 0x07) != 0)
		return (0);
	if (p[0] & 0x80) {			/* X: extension byte */
		if (len < 2)
			return (0);
		off = 2;
		if (p[1] & 0x80) {		/* I: picture id, 7 or 15 bits */
			if (len <= off)
				return (0);
			off += (p[off] & 0x80) ? 2 : 1;
		}
		if (p[1] & 0x40)		/* L: TL0PICIDX */
			off++;
		if (p[1] & 0x30)		/* T or K: TID/KEYIDX */
			off++;
	}
	if (off >= len)
		return (0);
	return ((p[off] & 0x01) == 0);
}

/*
 * Does this H.264 payload (RFC 6184) start a key frame: an IDR slice or
 * the SPS that precedes it, alone, in a STAP-A, or as the first fragment
 * of an FU-A?
 */
int
rtp_h264_keyframe(const uint8_t *p, size_t len)
{
	size_t		off, n;
	uint8_t		t;

	if (len < 1)
		return (0);
	t = p[0] & 0x1f;
	if (t == 5 || t == 7)
		return (1);
	if (t == 24) {				/* STAP-A */
		for (off = 1; off + 2 < len; off += 2 + n) {
			n = ((size_t)p[off] << 8) | p[off + 1];
			if (n == 0 || n > len - off - 2)
				return (0);
			t = p[off + 2] & 0x1f;
			if (t == 5 || t == 7)
				return (1);
		}
		return (0);
	}
	if (t == 28 && len >= 2)		/* FU-A: start bit, IDR */
		return ((p[1] & 0x80) != 0 && (p[1] & 0x1f) == 5);
	return (0);
}
