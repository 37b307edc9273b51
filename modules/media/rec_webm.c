/*
 * rec_webm: VP8 RTP (RFC 7741) depacketized into frames and muxed into
 * WebM by libavformat, through a custom AVIOContext that hands the bytes
 * to the writer thread (rec_io.c).
 *
 * A frame is the payload of the packets sharing one RTP timestamp, from
 * the packet whose descriptor has S=1 and PID=0 to the packet with the
 * marker bit, without a missing sequence number. Incomplete frames are
 * dropped, and so is everything until the next keyframe: the start of
 * the file, and any frame after a loss (it would refer to what is lost).
 */
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <libavformat/avformat.h>
#include <libavutil/log.h>

#include "rec_priv.h"

#define REC_VP8_SLOTS		128		/* reordering window, packets */
#define REC_VP8_WAIT_US		100000		/* longest wait for a hole */
#define REC_VP8_FRAME_MAX	(4u << 20)
#define REC_VP8_SLACK		(2 * 90000)	/* timestamp vs clock, 90 kHz */
#define REC_AVIO_BUF		65536

struct rec_webm {
	struct rec_jb	 jb;
	struct rec_file	*f;
	AVFormatContext	*oc;
	AVStream	*st;
	AVPacket	*pkt;
	int		 header;
	int		 failed;
	int		 width, height;

	/* The frame being assembled. */
	int		 in_frame;
	int		 frame_ok;
	int		 frame_key;
	uint32_t	 frame_ts;
	uint64_t	 frame_arrival;
	uint8_t		*frame;
	size_t		 frame_len, frame_cap;
	int		 need_key;

	/* Timeline of written frames. */
	int		 ts_started;
	uint32_t	 ssrc;
	uint32_t	 last_ts;
	uint64_t	 last_arrival;
	int64_t		 ts90;		/* extended 90 kHz time of the last frame */
	int64_t		 last_pts;	/* ms */
	uint64_t	 frames;
	uint64_t	 bad;
};

static pthread_once_t	rec_webm_once = PTHREAD_ONCE_INIT;

static void
rec_webm_quiet(void)
{
	av_log_set_level(AV_LOG_ERROR);
}

static int
rec_webm_io_write(void *arg, uint8_t *buf, int size)
{
	struct rec_webm	*w = arg;

	if (size > 0)
		rec_file_write(w->f, buf, (size_t)size);
	return (size);
}

static int64_t
rec_webm_io_seek(void *arg, int64_t off, int whence)
{
	struct rec_webm	*w = arg;
	int64_t		 pos;

	switch (whence & ~AVSEEK_FORCE) {
	case AVSEEK_SIZE:
		return ((int64_t)rec_file_size(w->f));
	case SEEK_SET:
		pos = off;
		break;
	case SEEK_CUR:
		pos = (int64_t)rec_file_pos(w->f) + off;
		break;
	case SEEK_END:
		pos = (int64_t)rec_file_size(w->f) + off;
		break;
	default:
		return (AVERROR(EINVAL));
	}
	if (pos < 0)
		return (AVERROR(EINVAL));
	rec_file_seek(w->f, (uint64_t)pos);
	return (pos);
}

/* Starts the WebM file; the size comes from the first keyframe. */
static int
rec_webm_header(struct rec_webm *w)
{
	AVCodecParameters	*par;
	AVIOContext		*pb;
	uint8_t			*buf;

	if (avformat_alloc_output_context2(&w->oc, NULL, "webm", NULL) < 0 || w->oc == NULL)
		return (-1);
	if ((w->st = avformat_new_stream(w->oc, NULL)) == NULL)
		return (-1);
	w->st->time_base = (AVRational){ 1, 1000 };
	par = w->st->codecpar;
	par->codec_type = AVMEDIA_TYPE_VIDEO;
	par->codec_id = AV_CODEC_ID_VP8;
	par->width = w->width;
	par->height = w->height;
	if ((buf = av_malloc(REC_AVIO_BUF)) == NULL)
		return (-1);
	pb = avio_alloc_context(buf, REC_AVIO_BUF, 1, w, NULL, rec_webm_io_write, rec_webm_io_seek);
	if (pb == NULL) {
		av_free(buf);
		return (-1);
	}
	pb->seekable = AVIO_SEEKABLE_NORMAL;
	w->oc->pb = pb;
	w->oc->flags |= AVFMT_FLAG_CUSTOM_IO;
	if (avformat_write_header(w->oc, NULL) < 0)
		return (-1);
	w->header = 1;
	return (0);
}

static void
rec_webm_write(struct rec_webm *w)
{
	int64_t		d, wall, pts;

	if (!w->ts_started) {
		w->ts_started = 1;
		w->ts90 = 0;
	} else {
		wall = 0;
		if (w->frame_arrival > w->last_arrival)
			wall = (int64_t)((w->frame_arrival - w->last_arrival) / 1000 * 90);
		d = rec_tsdiff(w->frame_ts, w->last_ts);
		if (w->ssrc != w->jb.ssrc || d < -REC_VP8_SLACK) {
			d = wall;		/* another stream or clock: by arrival */
		} else if (d <= 0) {
			w->bad++;		/* not after the last frame */
			return;
		} else if (d > wall + REC_VP8_SLACK) {
			d = wall;
		}
		w->ts90 += d;
	}
	w->ssrc = w->jb.ssrc;
	w->last_ts = w->frame_ts;
	w->last_arrival = w->frame_arrival;
	pts = w->ts90 / 90;
	if (w->frames > 0 && pts <= w->last_pts)
		pts = w->last_pts + 1;

	if (!w->header && rec_webm_header(w) == -1) {
		w->failed = 1;
		return;
	}
	av_packet_unref(w->pkt);
	w->pkt->data = w->frame;
	w->pkt->size = (int)w->frame_len;
	w->pkt->stream_index = 0;
	w->pkt->pts = w->pkt->dts = av_rescale_q(pts, (AVRational){ 1, 1000 }, w->st->time_base);
	w->pkt->flags = w->frame_key ? AV_PKT_FLAG_KEY : 0;
	if (av_write_frame(w->oc, w->pkt) < 0)
		w->failed = 1;
	w->pkt->data = NULL;
	w->pkt->size = 0;
	w->frames++;
	w->last_pts = pts;
}

static void
rec_webm_frame_end(struct rec_webm *w)
{
	w->in_frame = 0;
	if (!w->frame_ok) {
		w->need_key = 1;
		return;
	}
	if (w->frame_key)
		w->need_key = 0;
	if (w->need_key || w->failed)
		return;
	rec_webm_write(w);
}

/* RFC 7741 4.2: the payload descriptor's length; start = S && PID == 0. */
static int
rec_vp8_desc(const uint8_t *p, size_t len, size_t *hdr, int *start)
{
	size_t		i = 1;
	uint8_t		x;

	if (len < 1)
		return (-1);
	*start = (p[0] & 0x10) && (p[0] & 0x07) == 0;
	if (p[0] & 0x80) {
		if (len < 2)
			return (-1);
		x = p[1];
		i = 2;
		if (x & 0x80) {
			if (i >= len)
				return (-1);
			i += (p[i] & 0x80) ? 2 : 1;
		}
		if (x & 0x40)
			i++;
		if (x & 0x30)
			i++;
	}
	if (i >= len)
		return (-1);
	*hdr = i;
	return (0);
}

/* RFC 6386 9.1: frame tag, and for keyframes start code and size. */
static void
rec_webm_frame_start(struct rec_webm *w, const struct rec_pkt *p, const uint8_t *v, size_t n)
{
	int	width, height;

	w->in_frame = 1;
	w->frame_ok = 1;
	w->frame_len = 0;
	w->frame_ts = p->ts;
	w->frame_arrival = p->arrival_us;
	w->frame_key = !(v[0] & 0x01);
	if (!w->frame_key)
		return;
	if (n < 10 || v[3] != 0x9d || v[4] != 0x01 || v[5] != 0x2a) {
		w->frame_ok = 0;
		return;
	}
	width = (v[6] | v[7] << 8) & 0x3fff;
	height = (v[8] | v[9] << 8) & 0x3fff;
	if (width == 0 || height == 0) {
		w->frame_ok = 0;
		return;
	}
	if (!w->header) {
		w->width = width;
		w->height = height;
	}
}

static void
rec_webm_append(struct rec_webm *w, const uint8_t *v, size_t n)
{
	uint8_t		*nf;
	size_t		 cap;

	if (!w->frame_ok)
		return;
	if (w->frame_len + n > REC_VP8_FRAME_MAX) {
		w->frame_ok = 0;
		return;
	}
	if (w->frame_len + n > w->frame_cap) {
		cap = w->frame_cap * 2;
		while (cap < w->frame_len + n)
			cap *= 2;
		if ((nf = realloc(w->frame, cap)) == NULL) {
			w->frame_ok = 0;
			return;
		}
		w->frame = nf;
		w->frame_cap = cap;
	}
	memcpy(w->frame + w->frame_len, v, n);
	w->frame_len += n;
}

static void
rec_webm_emit(void *arg, const struct rec_pkt *p, uint64_t lost)
{
	struct rec_webm	*w = arg;
	const uint8_t	*d = p->buf + p->off;
	size_t		 hdr;
	int		 start;

	if (lost > 0 || (w->ts_started && p->ssrc != w->ssrc && !w->in_frame)) {
		/* Whole frames may be gone: what follows needs a keyframe. */
		w->need_key = 1;
		if (w->in_frame)
			w->frame_ok = 0;
	}
	if (w->in_frame && p->ts != w->frame_ts) {
		w->frame_ok = 0;		/* no marker: its end is lost */
		rec_webm_frame_end(w);
	}
	if (p->len == 0)
		return;				/* padding only */
	if (rec_vp8_desc(d, p->len, &hdr, &start) == -1) {
		w->bad++;
		if (w->in_frame)
			w->frame_ok = 0;
		return;
	}
	if (start) {
		if (w->in_frame) {
			w->frame_ok = 0;	/* a second start: drop the first */
			rec_webm_frame_end(w);
		}
		rec_webm_frame_start(w, p, d + hdr, p->len - hdr);
	} else if (!w->in_frame) {
		w->in_frame = 1;		/* its start is lost */
		w->frame_ok = 0;
		w->frame_ts = p->ts;
	}
	rec_webm_append(w, d + hdr, p->len - hdr);
	if (p->marker)
		rec_webm_frame_end(w);
}

struct rec_webm *
rec_webm_open(struct rec_file *f, char *err, size_t errlen)
{
	struct rec_webm	*w;

	pthread_once(&rec_webm_once, rec_webm_quiet);
	if ((w = calloc(1, sizeof(*w))) == NULL)
		goto nomem;
	w->f = f;
	w->need_key = 1;
	w->frame_cap = 65536;
	if ((w->frame = malloc(w->frame_cap)) == NULL || (w->pkt = av_packet_alloc()) == NULL ||
	    rec_jb_init(&w->jb, REC_VP8_SLOTS, REC_VP8_WAIT_US, rec_webm_emit, w) == -1)
		goto nomem;
	return (w);
nomem:
	rec_errf(err, errlen, "out of memory");
	if (w != NULL) {
		free(w->frame);
		av_packet_free(&w->pkt);
		free(w);
	}
	return (NULL);
}

void
rec_webm_set_pt(struct rec_webm *w, int pt)
{
	w->jb.pt = pt;
}

int
rec_webm_rtp(struct rec_webm *w, const uint8_t *pkt, size_t len, uint64_t arrival_us)
{
	return (rec_jb_put(&w->jb, pkt, len, arrival_us));
}

int
rec_webm_want_keyframe(const struct rec_webm *w)
{
	return (w->need_key);
}

int
rec_webm_close(struct rec_webm *w, struct rec_info *info, int *keep)
{
	int	rc = 0;

	rec_jb_drain(&w->jb);
	if (w->in_frame) {
		w->frame_ok = 0;
		rec_webm_frame_end(w);
	}
	/* No keyframe came: no file (a WebM without frames does not play). */
	*keep = w->header;
	if (w->header && av_write_trailer(w->oc) < 0)
		w->failed = 1;
	if (w->oc != NULL && w->oc->pb != NULL) {
		avio_flush(w->oc->pb);
		av_freep(&w->oc->pb->buffer);
		avio_context_free(&w->oc->pb);
	}
	avformat_free_context(w->oc);
	if (w->failed)
		rc = -1;
	info->duration_ms = w->frames > 0 ? (uint64_t)w->last_pts : 0;
	info->packets = w->jb.packets;
	info->lost = w->jb.lost;
	info->dropped = w->jb.dropped + w->bad;
	rec_jb_free(&w->jb);
	av_packet_free(&w->pkt);
	free(w->frame);
	free(w);
	return (rc);
}
