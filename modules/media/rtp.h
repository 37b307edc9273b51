/*
 * RTP (RFC 3550) header parsing, the SSRC/sequence/timestamp rewriting that
 * lets a relay switch the source of an outgoing stream without confusing
 * the receiver's decoder, and receiver statistics for reports. Pure.
 */
#ifndef RTP_H
#define RTP_H

#include <stddef.h>
#include <stdint.h>

#define RTP_HDR		12

struct rtp_hdr {
	uint8_t		pt;
	int		marker;
	uint16_t	seq;
	uint32_t	ts;
	uint32_t	ssrc;
	size_t		hdrlen;		/* fixed + CSRCs + extension */
	size_t		paylen;		/* without padding */
};

/*
 * Per outgoing stream. out = src + offset (mod 2^16 / 2^32). When the
 * source (SSRC) changes, the offsets are recomputed so the outgoing
 * sequence continues at last+1 and the timestamp advances by the wall time
 * elapsed since the last packet sent.
 */
struct rtp_rewrite {
	int		started;
	uint32_t	src_ssrc;
	uint16_t	seq_off;
	uint32_t	ts_off;
	uint16_t	last_seq;	/* highest outgoing sequence */
	uint32_t	last_ts;	/* timestamp of that packet */
	uint64_t	last_us;	/* when it was sent */
	uint32_t	clock;		/* Hz */
	uint32_t	switches;
};

/* RFC 3550 A.1 / A.3 / A.8 receive statistics for one incoming SSRC. */
struct rtp_stats {
	int		init;
	uint16_t	max_seq;
	uint32_t	cycles;
	uint32_t	base_seq;
	uint32_t	bad_seq;
	uint32_t	received;
	uint32_t	expected_prior;
	uint32_t	received_prior;
	uint32_t	transit;
	uint32_t	jitter;		/* RFC 3550 scaled by 16 */
	uint32_t	clock;
	uint32_t	lsr;		/* middle 32 bits of the last SR NTP */
	uint64_t	lsr_us;		/* when it arrived */
	uint8_t		fraction;	/* last computed, 1/256 units */
	int32_t		lost;		/* cumulative */
};

struct rtp_block {			/* one RR report block */
	uint32_t	ssrc;
	uint8_t		fraction;
	int32_t		lost;
	uint32_t	ext_seq;
	uint32_t	jitter;
	uint32_t	lsr;
	uint32_t	dlsr;
};

int	rtp_is_rtcp(const uint8_t *, size_t);
int	rtp_parse(struct rtp_hdr *, const uint8_t *, size_t);
void	rtp_rewrite_init(struct rtp_rewrite *, uint32_t, uint16_t, uint32_t);
int	rtp_rewrite(struct rtp_rewrite *, uint8_t *, size_t, uint32_t,
	    uint8_t, uint64_t);
uint32_t rtp_rewrite_ts_now(const struct rtp_rewrite *, uint64_t);
void	rtp_stats_init(struct rtp_stats *, uint32_t);
void	rtp_stats_update(struct rtp_stats *, uint16_t, uint32_t, uint64_t);
void	rtp_stats_block(struct rtp_stats *, uint32_t, uint64_t,
	    struct rtp_block *);
uint32_t rtp_seq_lost(const struct rtp_stats *);
int	rtp_vp8_keyframe(const uint8_t *, size_t);
int	rtp_h264_keyframe(const uint8_t *, size_t);

#endif
