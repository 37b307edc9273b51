/* Internal interfaces of the recording library (rec_*.c only). */
#ifndef REC_PRIV_H
#define REC_PRIV_H

#include <stdint.h>
#include <stddef.h>

#include <ogg/ogg.h>

#include "rec.h"

/* rec_io.c: a file written by the writer thread, NAME.part -> NAME. */
struct rec_file;

struct rec_file	*rec_file_open(const char *path, char *err, size_t errlen);
void		 rec_file_write(struct rec_file *, const void *, size_t);
void		 rec_file_seek(struct rec_file *, uint64_t);
uint64_t	 rec_file_pos(const struct rec_file *);
uint64_t	 rec_file_size(const struct rec_file *);
int		 rec_file_failed(const struct rec_file *);
/* Completes (keep != 0) or removes the file; frees f. 0 ok, -1 error. */
int		 rec_file_close(struct rec_file *, int keep, struct rec_info *);
void		 rec_errf(char *, size_t, const char *, ...)
		     __attribute__((format(printf, 3, 4)));

/* rec_rtp.c: RTP parsing and the reordering buffer. */
struct rec_pkt {
	uint64_t	seq;		/* extended sequence number */
	uint64_t	arrival_us;
	uint32_t	ts;
	uint32_t	ssrc;
	uint8_t		pt;
	uint8_t		marker;
	uint8_t		present;
	size_t		off;		/* payload offset in buf */
	size_t		len;		/* payload length (padding removed) */
	uint8_t		buf[REC_PKT_MAX];
};

/* Called in sequence order; lost = sequence numbers skipped just before. */
typedef void	rec_emit_fn(void *arg, const struct rec_pkt *, uint64_t lost);

struct rec_jb {
	struct rec_pkt	*slots;
	unsigned	 nslots;	/* power of two */
	unsigned	 held;
	uint64_t	 wait_us;	/* longest wait for a missing packet */
	int		 started;
	uint64_t	 next;		/* next extended sequence to emit */
	uint64_t	 max;		/* highest extended sequence seen */
	uint64_t	 skipped;	/* holes given up, not yet reported */
	unsigned	 old_run;	/* packets in a row from before next */
	uint32_t	 ssrc;
	int		 pt;		/* -1: any */
	uint64_t	 packets, lost, dropped;
	rec_emit_fn	*emit;
	void		*arg;
};

int	rec_jb_init(struct rec_jb *, unsigned nslots, uint64_t wait_us,
	    rec_emit_fn *, void *);
void	rec_jb_free(struct rec_jb *);
int	rec_jb_put(struct rec_jb *, const uint8_t *, size_t, uint64_t arrival_us);
void	rec_jb_drain(struct rec_jb *);

/* rec_ogg.c: an Ogg Opus stream (RFC 7845) written to a rec_file. */
struct rec_ogg {
	ogg_stream_state	 os;
	struct rec_file		*f;
	unsigned		 preskip;
	int			 have_pending;
	int64_t			 pending_granule;
	size_t			 pending_len;
	uint8_t			 pending[REC_PKT_MAX];
	int64_t			 granule;	/* end of the last packet */
	int64_t			 packetno;
};

void	rec_ogg_init(struct rec_ogg *, struct rec_file *, int channels, unsigned preskip,
	    int family);
void	rec_ogg_packet(struct rec_ogg *, const uint8_t *, size_t, int64_t granule);
/* Fills a gap of n samples: plc of them concealed as lost, the rest silent. */
void	rec_ogg_gap(struct rec_ogg *, int64_t n, int64_t plc, uint8_t toc);
void	rec_ogg_finish(struct rec_ogg *, int64_t final_granule);

/* Opus per participant (rec.c) and VP8 (rec_webm.c) recorders. */
struct rec_webm;
struct rec_webm	*rec_webm_open(struct rec_file *, char *, size_t);
int		 rec_webm_rtp(struct rec_webm *, const uint8_t *, size_t, uint64_t);
void		 rec_webm_set_pt(struct rec_webm *, int);
int		 rec_webm_want_keyframe(const struct rec_webm *);
/* Writes the trailer; fills duration and counts; frees w. keep = 0: no frames. */
int		 rec_webm_close(struct rec_webm *, struct rec_info *, int *keep);

/* Signed distance between 32-bit RTP timestamps. */
static inline int64_t
rec_tsdiff(uint32_t a, uint32_t b)
{
	return ((int64_t)(int32_t)(a - b));
}

#endif
