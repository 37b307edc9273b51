/*
 * modules/media/rtp.c and rtcp.c: header parsing, the rewriting that keeps
 * a receiver's decoder happy across source switches, receiver statistics,
 * and RTCP built and parsed back (SR, RR, PLI, FIR, NACK, REMB).
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "rtcp.h"
#include "rtp.h"

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

static size_t
pkt(uint8_t *p, uint8_t pt, int marker, uint16_t seq, uint32_t ts,
    uint32_t ssrc, size_t paylen)
{
	p[0] = 0x80;
	p[1] = (marker ? 0x80 : 0) | pt;
	p[2] = seq >> 8;
	p[3] = seq & 0xff;
	p[4] = ts >> 24;
	p[5] = (ts >> 16) & 0xff;
	p[6] = (ts >> 8) & 0xff;
	p[7] = ts & 0xff;
	p[8] = ssrc >> 24;
	p[9] = (ssrc >> 16) & 0xff;
	p[10] = (ssrc >> 8) & 0xff;
	p[11] = ssrc & 0xff;
	memset(p + 12, 0xab, paylen);
	return (12 + paylen);
}

static void
test_parse(void)
{
	struct rtp_hdr	h;
	uint8_t		p[256];
	size_t		n;
	int		all = 1;

	n = pkt(p, 96, 1, 4660, 90000, 0xdeadbeef, 100);
	CHECK(rtp_parse(&h, p, n) == 0 && h.pt == 96 && h.marker &&
	    h.seq == 4660 && h.ts == 90000 && h.ssrc == 0xdeadbeef &&
	    h.hdrlen == 12 && h.paylen == 100, "plain header");
	/* Two CSRCs and a one-byte-header extension of 2 words. */
	p[0] = 0x92;
	memcpy(p + 20, "\xbe\xde\x00\x02", 4);
	CHECK(rtp_parse(&h, p, n) == 0 && h.hdrlen == 12 + 8 + 4 + 8 &&
	    h.paylen == n - h.hdrlen, "CSRCs and extension skipped");
	p[22] = 0x40;	/* extension longer than the packet */
	CHECK(rtp_parse(&h, p, n) == -1, "extension past the end refused");
	n = pkt(p, 96, 0, 1, 1, 1, 20);
	p[0] |= 0x20;
	p[n - 1] = 4;
	CHECK(rtp_parse(&h, p, n) == 0 && h.paylen == 16, "padding removed");
	p[n - 1] = 0;
	CHECK(rtp_parse(&h, p, n) == -1, "padding of 0 refused");
	p[n - 1] = 200;
	CHECK(rtp_parse(&h, p, n) == -1, "padding longer than payload refused");
	n = pkt(p, 96, 0, 1, 1, 1, 0);
	p[0] = 0x8f;	/* 15 CSRCs in a 12-byte packet */
	CHECK(rtp_parse(&h, p, n) == -1, "CSRCs past the end refused");
	n = pkt(p, 111, 0, 1, 1, 1, 40);
	for (size_t i = 0; i < 12; i++)
		if (rtp_parse(&h, p, i) == 0)
			all = 0;
	CHECK(all, "shorter than 12 bytes refused");
	p[0] = 0x40;
	CHECK(rtp_parse(&h, p, n) == -1, "version 1 refused");
	CHECK(!rtp_is_rtcp((const uint8_t *)"\x80\x6f", 2) &&
	    !rtp_is_rtcp((const uint8_t *)"\x80\xe0", 2) &&
	    rtp_is_rtcp((const uint8_t *)"\x80\xc8", 2) &&
	    rtp_is_rtcp((const uint8_t *)"\x81\xcd", 2) &&
	    rtp_is_rtcp((const uint8_t *)"\x8f\xce", 2),
	    "RFC 5761 demux: PT 111 and 96+marker are RTP; 200/205/206 RTCP");
}

static void
test_rewrite(void)
{
	struct rtp_rewrite	rw;
	uint8_t			p[64];
	uint64_t		t = 1000000;
	uint16_t		seq, last;
	uint32_t		ts, lastts;
	int			i, ok = 1;

	rtp_rewrite_init(&rw, 90000, 30000, 5000);
	/* Source A: seq 100.., ts 1000 + 3000 per frame (30 fps). */
	for (i = 0; i < 10; i++, t += 33333) {
		pkt(p, 100, i == 9, 100 + i, 1000 + 3000 * i, 0xaaaa, 20);
		rtp_rewrite(&rw, p, 32, 0x5555, 96, t);
		if (rd16(p + 2) != 30000 + i || rd32(p + 4) != (uint32_t)(5000 + 3000 * i) ||
		    rd32(p + 8) != 0x5555 || (p[1] & 0x7f) != 96)
			ok = 0;
	}
	CHECK(ok, "first source: our SSRC and PT, sequence and timestamp from "
	    "our base");
	CHECK((p[1] & 0x80) != 0, "marker bit kept");
	last = rd16(p + 2);
	lastts = rd32(p + 4);
	/* A reordered older packet of the same source: mapped, not dropped. */
	pkt(p, 100, 0, 105, 1000 + 3000 * 5, 0xaaaa, 20);
	CHECK(rtp_rewrite(&rw, p, 32, 0x5555, 96, t) == 0 &&
	    rd16(p + 2) == 30005, "reordered packet keeps its place");
	/* Switch to source B with unrelated numbers, 100 ms later. */
	t += 100000;
	pkt(p, 96, 0, 60000, 777777, 0xbbbb, 20);
	rtp_rewrite(&rw, p, 32, 0x5555, 96, t);
	seq = rd16(p + 2);
	ts = rd32(p + 4);
	CHECK(seq == (uint16_t)(last + 1), "after a switch the sequence goes on");
	CHECK(ts - lastts >= 9000 + 3000 - 10 && ts - lastts <= 9000 + 3000 + 10,
	    "after a switch the timestamp advances by the elapsed time");
	CHECK(rw.switches == 1, "switch counted");
	pkt(p, 96, 0, 60001, 777777 + 3000, 0xbbbb, 20);
	rtp_rewrite(&rw, p, 32, 0x5555, 96, t + 33333);
	CHECK(rd16(p + 2) == (uint16_t)(seq + 1) && rd32(p + 4) == ts + 3000,
	    "the new source's own spacing is kept");
	/* Wrap: B goes 65535 -> 0. */
	rtp_rewrite_init(&rw, 48000, 65534, 0);
	pkt(p, 111, 0, 65535, 0, 0xcccc, 20);
	rtp_rewrite(&rw, p, 32, 1, 111, t);
	pkt(p, 111, 0, 0, 960, 0xcccc, 20);
	rtp_rewrite(&rw, p, 32, 1, 111, t + 20000);
	CHECK(rd16(p + 2) == 65535 && rw.last_seq == 65535,
	    "sequence wraps cleanly");
	pkt(p, 111, 0, 65000, 960, 0xcccc, 20);
	CHECK(rtp_rewrite(&rw, p, 32, 1, 111, t) == -1,
	    "a packet from long before is not sent");
	CHECK(rtp_rewrite(&rw, p, 8, 1, 111, t) == -1, "short packet refused");
}

static void
test_stats(void)
{
	struct rtp_stats	s;
	struct rtp_block	b;
	uint64_t		t = 5000000;
	int			i;

	rtp_stats_init(&s, 90000);
	for (i = 0; i < 100; i++)
		if (i % 10 != 3)	/* lose 10 of 100 */
			rtp_stats_update(&s, (uint16_t)(65500 + i), 3000 * i,
			    t + 33333 * i);
	s.lsr = 0x12345678;
	s.lsr_us = t;
	rtp_stats_block(&s, 0x1111, t + 500000, &b);
	CHECK(b.ssrc == 0x1111 && b.lost == 10, "cumulative loss");
	CHECK(b.fraction == 25, "fraction lost 10% = 25/256");
	CHECK(b.ext_seq == 65536 + (uint16_t)(65500 + 99),
	    "extended sequence counts the wrap");
	CHECK(b.lsr == 0x12345678 && b.dlsr == 32768, "LSR and DLSR (0.5 s)");
	CHECK(b.jitter < 10, "steady arrival: little jitter");
	for (i = 100; i < 150; i++)
		rtp_stats_update(&s, (uint16_t)(65500 + i), 3000 * i,
		    t + 33333 * i);
	rtp_stats_block(&s, 0x1111, t + 6000000, &b);
	CHECK(b.fraction == 0 && b.lost == 10, "no loss in the next interval");
	CHECK(rtp_seq_lost(&s) == 10, "rtp_seq_lost");
}

static void
test_rtcp(void)
{
	struct rtcp_info	ri;
	struct rtp_block	blk[2];
	uint8_t			buf[512];
	uint16_t		seqs[] = { 100, 101, 105, 116, 117, 300 };
	uint32_t		ssrcs[] = { 0xaaaa, 0xbbbb };
	size_t			off = 0, n;
	int			i, ok;

	memset(blk, 0, sizeof(blk));
	blk[0].ssrc = 0x1234;
	blk[0].fraction = 12;
	blk[0].lost = -3;
	blk[0].ext_seq = 70000;
	blk[0].jitter = 55;
	blk[0].lsr = 0xabcd;
	blk[0].dlsr = 0x10000;
	blk[1].ssrc = 0x5678;
	off += rtcp_build_sr(buf + off, sizeof(buf) - off, 0x9999,
	    0x0102030405060708ULL, 12345, 10, 1000);
	off += rtcp_build_rr(buf + off, sizeof(buf) - off, 0x8888, blk, 2);
	off += rtcp_build_pli(buf + off, sizeof(buf) - off, 0x8888, 0x4444);
	off += rtcp_build_nack(buf + off, sizeof(buf) - off, 0x8888, 0x3333,
	    seqs, 6);
	off += rtcp_build_remb(buf + off, sizeof(buf) - off, 0x8888, 2500000,
	    ssrcs, 2);
	CHECK(rtcp_parse(&ri, buf, off) == 0, "compound parses");
	CHECK(ri.has_sr && ri.sr_ssrc == 0x9999 &&
	    ri.sr_ntp == 0x0102030405060708ULL && ri.sr_rtp == 12345,
	    "SR read back");
	CHECK(ri.nblocks == 2 && ri.blocks[0].ssrc == 0x1234 &&
	    ri.blocks[0].fraction == 12 && ri.blocks[0].lost == -3 &&
	    ri.blocks[0].ext_seq == 70000 && ri.blocks[0].jitter == 55 &&
	    ri.blocks[0].lsr == 0xabcd && ri.blocks[0].dlsr == 0x10000 &&
	    ri.blocks[1].ssrc == 0x5678, "report blocks read back (negative loss)");
	CHECK(ri.npli == 1 && ri.pli[0] == 0x4444, "PLI read back");
	ok = ri.nnack == 6;
	for (i = 0; ok && i < 6; i++)
		ok = ri.nack[i].seq == seqs[i] && ri.nack[i].media == 0x3333;
	CHECK(ok, "NACK packed and expanded back to the same sequence numbers");
	CHECK(ri.has_remb && ri.remb_bps == 2500000, "REMB 2.5 Mbit/s exact");
	/* FIR (RFC 5104) counts as a key frame request. */
	memcpy(buf, "\x84\xce\x00\x04\x00\x00\x00\x01\x00\x00\x00\x00"
	    "\x00\x00\x77\x77\x05\x00\x00\x00", 20);
	CHECK(rtcp_parse(&ri, buf, 20) == 0 && ri.npli == 1 &&
	    ri.pli[0] == 0x7777, "FIR read as a key frame request");
	/* A length field pointing past the end stops the walk. */
	n = rtcp_build_pli(buf, sizeof(buf), 1, 2);
	buf[3] = 40;
	CHECK(rtcp_parse(&ri, buf, n) == -1, "length past the end refused");
	CHECK(rtcp_parse(&ri, buf, 3) == -1, "3 bytes refused");
	CHECK(rtcp_build_rr(buf, 20, 1, blk, 2) == 0, "no room: nothing built");
}

static void
test_keyframes(void)
{
	static const struct {
		const char	*p;
		size_t		 len;
		int		 h264, key;
		const char	*name;
	} rows[] = {
		{ "\x10\x50\x00", 3, 0, 1, "VP8: start of partition 0, P=0" },
		{ "\x10\x51\x00", 3, 0, 0, "VP8: inter frame" },
		{ "\x00\x50\x00", 3, 0, 0, "VP8: not the start of a frame" },
		{ "\x11\x50\x00", 3, 0, 0, "VP8: partition 1" },
		{ "\x90\x80\x81\x23\x50", 5, 0, 1, "VP8: 15-bit picture id" },
		{ "\x90\xe0\x12\x05\x00\x50", 6, 0, 1,
		    "VP8: picture id, TL0PICIDX, TID" },
		{ "\x90\xe0\x12\x05\x00", 5, 0, 0, "VP8: descriptor only" },
		{ "\x90\x80", 2, 0, 0, "VP8: truncated descriptor" },
		{ "", 0, 0, 0, "VP8: empty" },
		{ "\x65\x88", 2, 1, 1, "H.264: IDR slice" },
		{ "\x67\x42", 2, 1, 1, "H.264: SPS" },
		{ "\x41\x9a", 2, 1, 0, "H.264: non-IDR slice" },
		{ "\x78\x00\x02\x67\x42\x00\x02\x68\xce", 9, 1, 1,
		    "H.264: STAP-A with SPS" },
		{ "\x78\x00\x02\x41\x42\x00\x02\x41\xce", 9, 1, 0,
		    "H.264: STAP-A without one" },
		{ "\x78\x00\x09\x67", 4, 1, 0, "H.264: STAP-A length past the end" },
		{ "\x7c\x85", 2, 1, 1, "H.264: FU-A start of an IDR" },
		{ "\x7c\x05", 2, 1, 0, "H.264: FU-A middle of an IDR" },
		{ "\x7c", 1, 1, 0, "H.264: FU-A truncated" },
	};
	size_t	i;
	int	k;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		k = rows[i].h264 ?
		    rtp_h264_keyframe((const uint8_t *)rows[i].p, rows[i].len) :
		    rtp_vp8_keyframe((const uint8_t *)rows[i].p, rows[i].len);
		CHECK(k == rows[i].key, rows[i].name);
	}
}

int
main(void)
{
	test_parse();
	test_keyframes();
	test_rewrite();
	test_stats();
	test_rtcp();
	return (check_failed ? 1 : 0);
}
