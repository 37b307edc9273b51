/*
 * rec: call recording for the media relay (S5).
 *
 * Who owns what
 * -------------
 * The relay (modules/media, the daemon) owns the sockets, SRTP and the
 * decision to record. It calls this library with PLAINTEXT RTP packets
 * (after srtp_unprotect, RTP header included, RTCP never) of ONE stream
 * per struct rec: the participant's Opus stream or VP8 stream as it came
 * from the browser, before any SSRC/sequence/timestamp rewriting. RTX,
 * FEC and padding-only packets may be passed; they are ignored when a
 * payload type was set with rec_set_payload_type().
 *
 * This library owns everything under the paths it is given: it writes
 * NAME.part and renames it to NAME in rec_close() / rec_mix_close(), so a
 * crash never leaves a file that looks complete. The caller owns the
 * directory (creates it, picks unique names) and the metadata in
 * PostgreSQL (rec_info gives duration, size, counts and the SHA-256).
 *
 * Real time
 * ---------
 * rec_rtp() and rec_mix_rtp() never touch the disk: file data is queued
 * to one writer thread per process (started by the first rec_open), so a
 * slow disk never stalls the relay's loop. They copy the packet; the
 * caller's buffer is free again when they return. rec_open() creates a
 * file and rec_close() waits for the queue, fsyncs and hashes the file:
 * both block for disk time and belong where that is acceptable (control
 * socket handling), not in the per-packet path. If the disk falls behind
 * by more than REC_BACKLOG_MAX bytes in total, further data of the
 * recordings concerned is dropped and their rec_close() fails.
 *
 * Timing
 * ------
 * arrival_us is the caller's monotonic clock (CLOCK_MONOTONIC in us) at
 * packet reception. Media time comes from RTP timestamps (48 kHz Opus,
 * 90 kHz VP8); arrival time only bounds absurd timestamp jumps, decides
 * how long a missing packet is waited for (reordering) and, in the mix,
 * aligns the two channels.
 *
 * Threads
 * -------
 * The library starts, on first use, one writer thread (first rec_open or
 * rec_mix_open) and one mixer thread per CPU up to 8 (first
 * rec_mix_open); they live as long as the process. Do not fork() after
 * that. Not thread-safe per object: one struct rec / rec_mix is used by
 * one thread at a time; different objects may be used from different
 * threads.
 *
 * Linking: modules/media/rec*.c with
 *   pkg-config --cflags --libs opus ogg libavformat libavcodec libavutil libcrypto
 * and -lpthread (REC_SRC, REC_CFLAGS, REC_LIBS in the Makefile).
 */
#ifndef REC_H
#define REC_H

#include <stddef.h>
#include <stdint.h>

enum rec_kind { REC_OPUS_OGG, REC_VP8_WEBM };

struct rec_info {
	uint64_t	duration_ms;	/* media duration of the file */
	uint64_t	bytes;		/* size of the final file */
	uint64_t	packets;	/* RTP packets used */
	uint64_t	lost;		/* sequence numbers never received */
	char		sha256[65];	/* lower-case hex of the final file */
	uint64_t	dropped;	/* bad, duplicate, late or ignored packets */
};

#define REC_BACKLOG_MAX	(256u << 20)	/* bytes queued for the disk, all files */
#define REC_PKT_MAX	2048		/* longest RTP packet accepted */

struct rec;
struct rec_mix;

/* Creates path.part (fails if path or path.part exists). NULL + err on error. */
struct rec	*rec_open(const char *path, enum rec_kind kind, char *err, size_t errlen);

/* Only packets of this payload type are recorded (default: any). */
void		 rec_set_payload_type(struct rec *r, int pt);

/* 0 used or buffered, -1 bad packet (ignored, counted in info.dropped). */
int		 rec_rtp(struct rec *r, const uint8_t *pkt, size_t len, uint64_t arrival_us);

/*
 * VP8 only: 1 while the recorder drops frames because it waits for a
 * keyframe (start, or after a lost packet). The relay may send a PLI.
 */
int		 rec_want_keyframe(const struct rec *r);

/*
 * Flushes, fsyncs, renames path.part to path, fills info, frees r (always,
 * also on error). 0 ok, -1 the file could not be completed (path.part is
 * removed; info still carries the counts). A VP8 recording that never saw
 * a keyframe leaves no file: 0 with info.bytes == 0 (a WebM without
 * frames does not play).
 */
int		 rec_close(struct rec *r, struct rec_info *info);

/*
 * Stereo Ogg Opus of two mono-decoded participants (re-encoded). Decoding
 * and encoding run on mixer threads (one per CPU): rec_mix_rtp() copies
 * the packet into the mix's queue (128 KiB, about 10 s of audio) and returns.
 */
struct rec_mix	*rec_mix_open(const char *path, char *err, size_t errlen);
void		 rec_mix_set_payload_type(struct rec_mix *m, int pt);
/*
 * channel 0 = agent = left, 1 = customer = right. 0 queued, -1 refused
 * (not RTP, unknown channel, or the mixer thread is behind). Duplicates
 * and late packets are counted in info.dropped later.
 */
int		 rec_mix_rtp(struct rec_mix *m, int channel, const uint8_t *pkt,
		     size_t len, uint64_t arrival_us);
/* As rec_close; info.packets and info.lost are summed over both channels. */
int		 rec_mix_close(struct rec_mix *m, struct rec_info *info);

#endif
