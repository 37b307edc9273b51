/*
 * rec: per-participant recordings. Opus RTP is written to Ogg as it came
 * (no re-encoding); VP8 goes to WebM through rec_webm.c.
 *
 * Opus timing: the granule position follows the RTP timestamps, so a gap
 * (lost packets, DTX, a muted sender) becomes frames that decode as lost
 * and the file lasts as long as the call did. A timestamp that jumps much
 * further than the wall clock moved is bounded by the arrival times.
 */
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>

#include "rec_priv.h"

#define REC_OPUS_SLOTS		16		/* reordering window, packets */
#define REC_OPUS_WAIT_US	60000		/* longest wait for a hole */
#define REC_TS_SLACK		(2 * 48000)	/* timestamp vs clock, samples */

struct rec_opus {
	struct rec_jb	jb;
	struct rec_ogg	ogg;
	int		started;
	uint32_t	ssrc;
	uint32_t	next_ts;	/* RTP timestamp expected next */
	uint64_t	last_arrival;
	uint8_t		last_toc;
	int64_t		last_n;		/* samples in the last packet */
	uint64_t	dropped;
};

struct rec {
	enum rec_kind	 kind;
	struct rec_file	*f;
	struct rec_opus	*opus;
	struct rec_webm	*webm;
};

static void	rec_opus_emit(void *, const struct rec_pkt *, uint64_t);

/* Samples the wall clock moved between two arrivals (0 if backwards). */
static int64_t
rec_arrival_samples(uint64_t now, uint64_t then)
{
	if (now <= then)
		return (0);
	return ((int64_t)((now - then) / 1000 * 48));
}

static void
rec_opus_emit(void *arg, const struct rec_pkt *p, uint64_t lost)
{
	struct rec_opus		*o = arg;
	const uint8_t		*d = p->buf + p->off;
	const unsigned char	*frames[48];
	opus_int16		 sizes[48];
	unsigned char		 toc;
	int64_t			 n, gap, wall;

	if (p->len == 0)
		return;			/* padding only */
	if (opus_packet_parse(d, (opus_int32)p->len, &toc, frames, sizes, NULL) <= 0 ||
	    (n = opus_packet_get_nb_samples(d, (opus_int32)p->len, 48000)) <= 0 ||
	    n > 5760) {
		o->dropped++;
		return;
	}
	if (!o->started) {
		o->started = 1;
		rec_ogg_init(&o->ogg, o->ogg.f, (d[0] & 0x04) ? 2 : 1, 0, 0);
	} else {
		wall = rec_arrival_samples(p->arrival_us, o->last_arrival);
		gap = rec_tsdiff(p->ts, o->next_ts);
		if (p->ssrc != o->ssrc || gap < -REC_TS_SLACK) {
			/* Another stream or a restarted clock: by arrival. */
			gap = wall - o->last_n;
		} else if (gap < 0) {
			o->dropped++;		/* overlaps what is written */
			return;
		} else if (gap > wall + REC_TS_SLACK) {
			gap = wall;
		}
		if (gap > 0)
			rec_ogg_gap(&o->ogg, gap, (int64_t)lost * o->last_n, o->last_toc);
	}
	rec_ogg_packet(&o->ogg, d, p->len, o->ogg.granule + n);
	o->ssrc = p->ssrc;
	o->next_ts = p->ts + (uint32_t)n;
	o->last_arrival = p->arrival_us;
	o->last_toc = d[0];
	o->last_n = n;
}

struct rec *
rec_open(const char *path, enum rec_kind kind, char *err, size_t errlen)
{
	struct rec	*r;

	if (kind != REC_OPUS_OGG && kind != REC_VP8_WEBM) {
		rec_errf(err, errlen, "unknown recording kind");
		return (NULL);
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		rec_errf(err, errlen, "out of memory");
		return (NULL);
	}
	r->kind = kind;
	if ((r->f = rec_file_open(path, err, errlen)) == NULL) {
		free(r);
		return (NULL);
	}
	if (kind == REC_VP8_WEBM) {
		if ((r->webm = rec_webm_open(r->f, err, errlen)) == NULL)
			goto fail;
		return (r);
	}
	if ((r->opus = calloc(1, sizeof(*r->opus))) == NULL ||
	    rec_jb_init(&r->opus->jb, REC_OPUS_SLOTS, REC_OPUS_WAIT_US,
	    rec_opus_emit, r->opus) == -1) {
		rec_errf(err, errlen, "out of memory");
		goto fail;
	}
	r->opus->ogg.f = r->f;
	return (r);
fail:
	if (r->opus != NULL)
		rec_jb_free(&r->opus->jb);
	free(r->opus);
	rec_file_close(r->f, 0, NULL);
	free(r);
	return (NULL);
}

void
rec_set_payload_type(struct rec *r, int pt)
{
	if (r->kind == REC_VP8_WEBM)
		rec_webm_set_pt(r->webm, pt);
	else
		r->opus->jb.pt = pt;
}

int
rec_rtp(struct rec *r, const uint8_t *pkt, size_t len, uint64_t arrival_us)
{
	if (r->kind == REC_VP8_WEBM)
		return (rec_webm_rtp(r->webm, pkt, len, arrival_us));
	return (rec_jb_put(&r->opus->jb, pkt, len, arrival_us));
}

int
rec_want_keyframe(const struct rec *r)
{
	return (r->kind == REC_VP8_WEBM && rec_webm_want_keyframe(r->webm));
}

int
rec_close(struct rec *r, struct rec_info *info)
{
	struct rec_info	 tmp;
	struct rec_opus	*o = r->opus;
	int		 rc = 0, keep = 1;

	if (info == NULL)
		info = &tmp;
	memset(info, 0, sizeof(*info));
	if (r->kind == REC_VP8_WEBM) {
		rc = rec_webm_close(r->webm, info, &keep);
	} else {
		rec_jb_drain(&o->jb);
		if (!o->started)
			rec_ogg_init(&o->ogg, r->f, 1, 0, 0);
		info->duration_ms = (uint64_t)(o->ogg.granule - o->ogg.preskip) / 48;
		rec_ogg_finish(&o->ogg, o->ogg.granule);
		info->packets = o->jb.packets - o->dropped;
		info->lost = o->jb.lost;
		info->dropped = o->jb.dropped + o->dropped;
		rec_jb_free(&o->jb);
		free(o);
	}
	if (rec_file_close(r->f, rc == 0 && keep, info) == -1)
		rc = -1;
	free(r);
	return (rc);
}
