/*
 * rec_rtp: RTP header parsing (RFC 3550) and a small reordering buffer
 * that hands packets to a recorder in sequence order, drops duplicates
 * and late packets, extends 16-bit sequence numbers across wrap-around
 * and counts what never arrived.
 */
#include <stdlib.h>
#include <string.h>

#include "rec_priv.h"

/* This many packets in a row from before the window: the sender restarted. */
#define REC_SEQ_RESYNC	64

struct rec_hdr {
	uint16_t	seq;
	uint32_t	ts;
	uint32_t	ssrc;
	uint8_t		pt;
	uint8_t		marker;
	size_t		off;
	size_t		len;
};

static int
rec_rtp_parse(const uint8_t *p, size_t len, struct rec_hdr *h)
{
	size_t		hdr, ext, pad = 0;

	if (len < 12 || (p[0] >> 6) != 2)
		return (-1);
	h->marker = p[1] >> 7;
	h->pt = p[1] & 0x7f;
	if (h->pt >= 64 && h->pt <= 95)		/* RTCP (RFC 5761) */
		return (-1);
	h->seq = (uint16_t)(p[2] << 8 | p[3]);
	h->ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	h->ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
	hdr = 12 + 4 * (size_t)(p[0] & 0x0f);
	if (hdr > len)
		return (-1);
	if (p[0] & 0x10) {
		if (len - hdr < 4)
			return (-1);
		ext = 4 * (size_t)(p[hdr + 2] << 8 | p[hdr + 3]);
		if (len - hdr - 4 < ext)
			return (-1);
		hdr += 4 + ext;
	}
	if (p[0] & 0x20) {
		if (len == hdr)
			return (-1);
		pad = p[len - 1];
		if (pad == 0 || pad > len - hdr)
			return (-1);
	}
	h->off = hdr;
	h->len = len - hdr - pad;
	return (0);
}

int
rec_jb_init(struct rec_jb *jb, unsigned nslots, uint64_t wait_us, rec_emit_fn *emit, void *arg)
{
	memset(jb, 0, sizeof(*jb));
	if ((jb->slots = calloc(nslots, sizeof(*jb->slots))) == NULL)
		return (-1);
	jb->nslots = nslots;
	jb->wait_us = wait_us;
	jb->pt = -1;
	jb->emit = emit;
	jb->arg = arg;
	return (0);
}

void
rec_jb_free(struct rec_jb *jb)
{
	free(jb->slots);
	jb->slots = NULL;
}

static struct rec_pkt *
rec_jb_slot(struct rec_jb *jb, uint64_t seq)
{
	return (&jb->slots[seq & (jb->nslots - 1)]);
}

/* Emits everything in order from next; skips holes only if force. */
static void
rec_jb_release(struct rec_jb *jb, int force)
{
	struct rec_pkt	*s;
	uint64_t	 lost;

	while (jb->held > 0) {
		s = rec_jb_slot(jb, jb->next);
		if (!s->present || s->seq != jb->next) {
			if (!force)
				break;
			jb->skipped++;
			jb->next++;
			continue;
		}
		s->present = 0;
		jb->held--;
		jb->next++;
		jb->packets++;
		lost = jb->skipped;
		jb->lost += lost;
		jb->skipped = 0;
		jb->emit(jb->arg, s, lost);
		if (force == 1)		/* skip one run of holes only */
			force = 0;
	}
}

void
rec_jb_drain(struct rec_jb *jb)
{
	rec_jb_release(jb, 2);
}

static uint64_t	rec_jb_hole_since(struct rec_jb *, uint64_t);

int
rec_jb_put(struct rec_jb *jb, const uint8_t *p, size_t len, uint64_t arrival_us)
{
	struct rec_hdr	 h;
	struct rec_pkt	*s;
	uint64_t	 ext;

	if (len > REC_PKT_MAX || rec_rtp_parse(p, len, &h) == -1 ||
	    (jb->pt >= 0 && h.pt != jb->pt)) {
		jb->dropped++;
		return (-1);
	}
	if (!jb->started || h.ssrc != jb->ssrc) {
		rec_jb_drain(jb);
		jb->skipped = 0;
		jb->started = 1;
		jb->ssrc = h.ssrc;
		jb->next = jb->max = 65536 + (uint64_t)h.seq;
	}
	ext = jb->max + (uint64_t)(int64_t)(int16_t)(h.seq - (uint16_t)jb->max);
	if (ext < jb->next) {
		if (++jb->old_run < REC_SEQ_RESYNC) {
			jb->dropped++;	/* duplicate or too late */
			return (-1);
		}
		rec_jb_drain(jb);
		jb->skipped = 0;
		jb->next = jb->max = ext;
	}
	jb->old_run = 0;
	while (ext >= jb->next + jb->nslots) {
		/* Out of room: give up waiting for the oldest hole. */
		rec_jb_release(jb, 1);
		if (jb->held == 0 && ext >= jb->next + jb->nslots) {
			jb->skipped += ext - jb->next;
			jb->next = ext;
		}
	}
	s = rec_jb_slot(jb, ext);
	if (s->present) {
		jb->dropped++;		/* duplicate */
		return (-1);
	}
	s->present = 1;
	s->seq = ext;
	s->ts = h.ts;
	s->ssrc = h.ssrc;
	s->pt = h.pt;
	s->marker = h.marker;
	s->arrival_us = arrival_us;
	s->off = h.off;
	s->len = h.len;
	memcpy(s->buf, p, len);
	jb->held++;
	if (ext > jb->max)
		jb->max = ext;

	rec_jb_release(jb, 0);
	if (jb->held > 0 && arrival_us - rec_jb_hole_since(jb, arrival_us) >= jb->wait_us)
		rec_jb_release(jb, 1);
	return (0);
}

/* Arrival time of the oldest packet waiting behind the hole at next. */
static uint64_t
rec_jb_hole_since(struct rec_jb *jb, uint64_t now)
{
	struct rec_pkt	*s;
	uint64_t	 seq, oldest = now;

	for (seq = jb->next; seq <= jb->max; seq++) {
		s = rec_jb_slot(jb, seq);
		if (s->present && s->seq == seq && s->arrival_us < oldest)
			oldest = s->arrival_us;
	}
	return (oldest);
}
