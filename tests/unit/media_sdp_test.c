/*
 * modules/media/sdp.c: Chrome 156's real offer (tests/fixtures, captured
 * from headless Chromium with audio and video transceivers) parsed, and
 * the answer written for it; variants of that offer for the other rules
 * (H.264 only, direction, data channel, errors).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sdp.h"

#define FIXTURE	"tests/fixtures/chrome156_offer.sdp"

static char	offer[SDP_MAX_LEN];
static size_t	offer_len;

static int
load(void)
{
	FILE	*fp;

	if ((fp = fopen(FIXTURE, "r")) == NULL)
		return (-1);
	offer_len = fread(offer, 1, sizeof(offer) - 1, fp);
	offer[offer_len] = '\0';
	fclose(fp);
	return (offer_len > 0 ? 0 : -1);
}

/* The offer with every occurrence of `from` replaced by `to`. */
static char *
edit(const char *src, const char *from, const char *to)
{
	static char	bufs[2][SDP_MAX_LEN * 2];
	static int	which;
	char		*out = bufs[which ^= 1];	/* edit(edit(...)) */
	const char	*p = src, *q;
	size_t		 n = 0;

	while ((q = strstr(p, from)) != NULL) {
		memcpy(out + n, p, q - p);
		n += q - p;
		memcpy(out + n, to, strlen(to));
		n += strlen(to);
		p = q + strlen(from);
	}
	memcpy(out + n, p, strlen(p) + 1);
	return (out);
}

static int
answer_for(const char *sdp, char *out, size_t cap, struct sdp_offer *o)
{
	struct sdp_local	l;
	char			err[128];

	if (sdp_parse(o, sdp, strlen(sdp), err, sizeof(err)) == -1)
		return (-1);
	memset(&l, 0, sizeof(l));
	l.ufrag = "Ab3dEf7h";
	l.pwd = "0123456789abcdefghijklmn";
	l.fingerprint = "AA:BB";
	l.addr = "203.0.113.7";
	l.port = 10000;
	l.sess_id = 42;
	l.sess_ver = 1;
	l.cname = "vb-media";
	l.stream = "vb";
	l.ssrc[0] = 1111;
	l.ssrc[1] = 2222;
	l.ssrc[2] = 3333;
	return (sdp_answer(o, &l, out, cap));
}

static int
has(const char *s, const char *needle)
{
	return (strstr(s, needle) != NULL);
}

static void
test_chrome(void)
{
	struct sdp_offer	o;
	char			err[128], ans[16384];
	static const uint8_t	fp5[] = { 0x5B, 0x1A, 0x8A, 0xDB, 0x24 };
	int			n;

	CHECK(sdp_parse(&o, offer, offer_len, err, sizeof(err)) == 0,
	    "Chrome 156 offer parses");
	CHECK(o.nmedia == 2 && o.bundle, "two m-lines, BUNDLE");
	CHECK(strcmp(o.ufrag, "hRPa") == 0 &&
	    strcmp(o.pwd, "wzaqUXd2eTn+fAsFHPvV1x6M") == 0, "ICE credentials");
	CHECK(strcmp(o.fp_alg, "sha-256") == 0 && o.fplen == 32 &&
	    memcmp(o.fp, fp5, sizeof(fp5)) == 0, "DTLS fingerprint");
	CHECK(strcmp(o.setup, "actpass") == 0, "a=setup:actpass");
	CHECK(o.m[0].kind == SDP_AUDIO && strcmp(o.m[0].mid, "0") == 0 &&
	    o.m[0].codec == SDP_CODEC_OPUS && o.m[0].pt == 111 &&
	    o.m[0].clock == 48000 && strcmp(o.m[0].fmtp,
	    "minptime=10;useinbandfec=1") == 0, "audio: Opus 111 kept");
	CHECK(o.m[1].kind == SDP_VIDEO && strcmp(o.m[1].mid, "1") == 0 &&
	    o.m[1].codec == SDP_CODEC_VP8 && o.m[1].pt == 96 &&
	    o.m[1].clock == 90000, "video: VP8 96 kept");
	CHECK(o.m[0].rtcp_mux && o.m[0].rtcp_rsize && o.m[1].rtcp_mux,
	    "rtcp-mux and rtcp-rsize");
	CHECK(o.m[0].nssrc == 1 && o.m[0].ssrc[0] == 141044632,
	    "audio SSRC");
	CHECK(o.m[1].nssrc == 2 && o.m[1].ssrc[0] == 1502998124 &&
	    o.m[1].ssrc[1] == 2470876573U, "video SSRC and its rtx SSRC");
	CHECK(o.m[0].dir == SDP_SENDRECV && o.m[1].dir == SDP_SENDRECV,
	    "sendrecv");
	CHECK(o.m[1].h264_pt == 108, "best H.264 would be 108 (42e01f, mode 1)");

	n = answer_for(offer, ans, sizeof(ans), &o);
	CHECK(n > 0 && (size_t)n == strlen(ans), "answer written");
	CHECK(strncmp(ans, "v=0\r\no=- 42 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
	    41) == 0, "session lines");
	CHECK(has(ans, "\r\na=ice-lite\r\n") &&
	    has(ans, "\r\na=group:BUNDLE 0 1\r\n"), "ice-lite, BUNDLE 0 1");
	CHECK(has(ans, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n") &&
	    has(ans, "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"),
	    "only Opus and VP8 in the m-lines");
	CHECK(has(ans, "a=setup:passive") && has(ans,
	    "a=fingerprint:sha-256 AA:BB\r\n") && has(ans, "a=ice-ufrag:Ab3dEf7h")
	    && has(ans, "a=ice-pwd:0123456789abcdefghijklmn"),
	    "passive, our fingerprint and credentials");
	CHECK(has(ans, "a=candidate:1 1 udp 2130706431 203.0.113.7 10000 typ "
	    "host generation 0\r\n") && has(ans, "c=IN IP4 203.0.113.7"),
	    "one host candidate with the advertised address");
	CHECK(has(ans, "a=ssrc:1111 cname:vb-media\r\n") &&
	    has(ans, "a=ssrc:2222 msid:vb vb-1\r\n"), "our SSRCs declared");
	CHECK(has(ans, "a=rtcp-fb:96 goog-remb\r\n") &&
	    has(ans, "a=rtcp-fb:96 nack pli\r\n") &&
	    has(ans, "a=rtcp-fb:96 ccm fir\r\n"), "REMB, NACK, PLI, FIR");
	CHECK(!has(ans, "transport-cc") && !has(ans, "rtx") &&
	    !has(ans, "H264") && !has(ans, "extmap") && !has(ans, "red/"),
	    "no transport-cc, rtx, H.264, header extensions or RED");
	CHECK(has(ans, "a=fmtp:111 minptime=10;useinbandfec=1\r\n"),
	    "Opus parameters kept");
	CHECK(answer_for(offer, ans, 400, &o) == -1, "too small a buffer: -1");
}

static void
test_variants(void)
{
	struct sdp_offer	o;
	char			err[128], ans[16384], *s;

	/* No VP8: H.264 packetization-mode 1 constrained baseline. */
	s = edit(offer, "VP8/90000", "XYZ/90000");
	CHECK(answer_for(s, ans, sizeof(ans), &o) > 0 &&
	    o.m[1].codec == SDP_CODEC_H264 && has(ans,
	    "m=video 9 UDP/TLS/RTP/SAVPF 108\r\n") && has(ans,
	    "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;"
	    "profile-level-id=42e01f\r\n"), "H.264 when VP8 is not offered");
	/* Neither: the video m-line is rejected, out of BUNDLE. */
	s = edit(edit(offer, "VP8/90000", "XYZ/90000"), "H264/", "HHHH/");
	CHECK(answer_for(s, ans, sizeof(ans), &o) > 0 && has(ans,
	    "m=video 0 UDP/TLS/RTP/SAVPF 96\r\n") &&
	    has(ans, "a=group:BUNDLE 0\r\n"), "no usable video codec: rejected");
	/* They only send: we only receive, and declare no SSRC there. */
	s = edit(offer, "a=mid:1\r\n", "a=mid:1\r\na=sendonly\r\n");
	s = edit(s, "a=sendrecv\r\na=msid:ff70c8ad-d689-4d03-8a94-d164e6e19840 "
	    "001eeca6", "a=msid:ff70c8ad-d689-4d03-8a94-d164e6e19840 001eeca6");
	CHECK(answer_for(s, ans, sizeof(ans), &o) > 0 &&
	    o.m[1].dir == SDP_SENDONLY && has(ans, "a=recvonly") &&
	    !has(ans, "a=ssrc:2222"), "sendonly answered recvonly");
	/* A data channel m-line is rejected. */
	s = edit(offer, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 2");
	{
		static char	more[SDP_MAX_LEN];

		snprintf(more, sizeof(more), "%sm=application 9 UDP/DTLS/SCTP "
		    "webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\n"
		    "a=sctp-port:5000\r\n", s);
		CHECK(answer_for(more, ans, sizeof(ans), &o) > 0 &&
		    o.nmedia == 3 && has(ans, "m=application 0 UDP/DTLS/SCTP "
		    "webrtc-datachannel\r\n") && has(ans, "a=mid:2\r\n") &&
		    has(ans, "a=group:BUNDLE 0 1\r\n"),
		    "data channel rejected, kept out of BUNDLE");
	}
	/* LF-only line endings are read as well. */
	s = edit(offer, "\r\n", "\n");
	CHECK(sdp_parse(&o, s, strlen(s), err, sizeof(err)) == 0 &&
	    o.nmedia == 2 && o.m[1].pt == 96, "LF line endings");
}

static void
test_errors(void)
{
	static const struct {
		const char	*from, *to, *name;
	} rows[] = {
		{ "a=fingerprint:", "a=fingerprintx:", "no fingerprint" },
		{ "a=ice-ufrag:hRPa", "a=ice-ufragx:hRPa", "no ufrag" },
		{ "a=ice-pwd:", "a=ice-pwdx:", "no password" },
		{ "a=ice-ufrag:hRPa", "a=ice-ufrag:h\"Pa", "ufrag with a quote" },
		{ "a=ice-pwd:wzaqUXd2eTn+fAsFHPvV1x6M", "a=ice-pwd:short",
		    "password too short" },
		{ "a=setup:actpass", "a=setup:passive", "setup passive" },
		{ "a=mid:1", "a=mid:0", "duplicate mid" },
		{ "5B:1A:8A", "5B:1A:8Z", "fingerprint not hex" },
		{ "a=rtpmap:111 opus", "a=rtpmap:999 opus", "payload type 999" },
		{ "a=ssrc:141044632 cname", "a=ssrc:99999999999 cname",
		    "SSRC over 32 bits" },
		{ "m=audio 54021", "m=audio 99999", "port over 65535" },
		{ "v=0", "x=0", "not SDP" },
		{ "a=group:BUNDLE 0 1", "a=group:LS 0 1", "two m-lines without BUNDLE" },
	};
	struct sdp_offer	o;
	char			err[128], *s, big[SDP_MAX_LEN + 10];
	char			line[2000];
	size_t			i;
	static char		many[SDP_MAX_LEN];
	size_t			n;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		s = edit(offer, rows[i].from, rows[i].to);
		err[0] = '\0';
		CHECK(sdp_parse(&o, s, strlen(s), err, sizeof(err)) == -1 &&
		    err[0] != '\0', rows[i].name);
	}
	memset(line, 'a', sizeof(line));
	memcpy(line, "a=x:", 4);
	line[sizeof(line) - 1] = '\0';
	memcpy(big, offer, offer_len);
	memcpy(big + offer_len, line, strlen(line));
	memcpy(big + offer_len + strlen(line), "\r\n", 3);
	CHECK(sdp_parse(&o, big, strlen(big), err, sizeof(err)) == -1,
	    "a 2000-byte line refused");
	memset(big, 'a', sizeof(big));
	memcpy(big, "v=0\r\n", 5);
	CHECK(sdp_parse(&o, big, sizeof(big), err, sizeof(err)) == -1,
	    "over 64 KiB refused");
	memcpy(big, offer, offer_len);
	big[100] = '\0';
	CHECK(sdp_parse(&o, big, offer_len, err, sizeof(err)) == -1,
	    "NUL inside refused");
	n = snprintf(many, sizeof(many), "%s", offer);
	for (i = 0; i < 8; i++)
		n += snprintf(many + n, sizeof(many) - n,
		    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:x%zu\r\n", i);
	CHECK(sdp_parse(&o, many, n, err, sizeof(err)) == -1,
	    "more than 8 m-lines refused");
}

int
main(void)
{
	CHECK(load() == 0, "fixture " FIXTURE " read");
	test_chrome();
	test_variants();
	test_errors();
	return (check_failed ? 1 : 0);
}
