/*
 * libFuzzer harness for RTP handling (modules/media/rtp.c): parse any
 * bytes; when they parse, rewrite them for an outgoing stream (a source
 * switch every few inputs) and feed the receive statistics. Checks that
 * header and payload stay inside the packet and that rewriting touches
 * only the fixed header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtcp.h"
#include "rtp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rtp_rewrite	rw;
	static struct rtp_stats		st;
	static uint64_t			now = 1000000;
	static int			init;
	struct rtp_block		b;
	struct rtp_hdr			h;
	uint8_t				buf[2048];

	if (!init) {
		rtp_rewrite_init(&rw, 90000, 100, 1000);
		rtp_stats_init(&st, 90000);
		init = 1;
	}
	if (size > sizeof(buf))
		return (0);
	(void)rtp_is_rtcp(data, size);
	if (rtp_parse(&h, data, size) == -1)
		return (0);
	if (h.hdrlen < RTP_HDR || h.hdrlen > size || h.paylen > size - h.hdrlen)
		abort();
	memcpy(buf, data, size);
	now += 20000;
	if (rtp_rewrite(&rw, buf, size, 0x12345678, 96, now) == 0) {
		if (memcmp(buf + RTP_HDR, data + RTP_HDR, size - RTP_HDR) != 0 ||
		    (buf[1] & 0x80) != (data[1] & 0x80) || (buf[1] & 0x7f) != 96)
			abort();
	}
	(void)rtp_vp8_keyframe(data + h.hdrlen, h.paylen);
	(void)rtp_h264_keyframe(data + h.hdrlen, h.paylen);
	rtp_stats_update(&st, h.seq, h.ts, now);
	if ((h.seq & 63) == 0)
		rtp_stats_block(&st, h.ssrc, now, &b);
	return (0);
}
