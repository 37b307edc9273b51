/*
 * RTCP (RFC 3550, RFC 4585, RFC 5104, draft-alvestrand-rmcat-remb):
 * compound packet parsing into a flat summary, and builders for what the
 * relay sends: SR, RR, PLI, NACK, REMB. Pure.
 */
#ifndef RTCP_H
#define RTCP_H

#include <stddef.h>
#include <stdint.h>

#include "rtp.h"

#define RTCP_SR		200
#define RTCP_RR		201
#define RTCP_SDES	202
#define RTCP_BYE	203
#define RTCP_RTPFB	205
#define RTCP_PSFB	206

#define RTCP_MAX_ITEMS	16
#define RTCP_MAX_NACK	64

struct rtcp_nack {
	uint32_t	media;
	uint16_t	seq;
};

struct rtcp_info {
	int		has_sr;
	uint32_t	sr_ssrc;
	uint64_t	sr_ntp;
	uint32_t	sr_rtp;
	int		nblocks;
	struct rtp_block blocks[RTCP_MAX_ITEMS];
	int		npli;			/* PLI and FIR both land here */
	uint32_t	pli[RTCP_MAX_ITEMS];
	int		nnack;
	struct rtcp_nack nack[RTCP_MAX_NACK];	/* expanded: one per seq */
	int		has_remb;
	uint64_t	remb_bps;
	int		nbye;
};

int	rtcp_parse(struct rtcp_info *, const uint8_t *, size_t);
size_t	rtcp_build_sr(uint8_t *, size_t, uint32_t, uint64_t, uint32_t,
	    uint32_t, uint32_t);
size_t	rtcp_build_rr(uint8_t *, size_t, uint32_t, const struct rtp_block *,
	    int);
size_t	rtcp_build_pli(uint8_t *, size_t, uint32_t, uint32_t);
size_t	rtcp_build_nack(uint8_t *, size_t, uint32_t, uint32_t,
	    const uint16_t *, int);
size_t	rtcp_build_remb(uint8_t *, size_t, uint32_t, uint64_t,
	    const uint32_t *, int);

#endif
