/*
 * modules/media/stun.c against the RFC 5769 test vectors: the sample
 * request (short-term credentials, FINGERPRINT) and the IPv4 and IPv6
 * sample responses, which the builder must reproduce byte for byte.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <string.h>

#include "check.h"
#include "stun.h"

static const char key[] = "VOkJxbRl1RmTxUk/WvJxBt";

static const uint8_t tid[12] = {
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
};

/* RFC 5769 2.1 */
static const uint8_t req[] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
	0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
	0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
	0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
	0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
	0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
	0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 2.2: 192.0.2.1:32853, SOFTWARE "test vector" */
static const uint8_t resp4[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
	0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
	0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 2.3: [2001:db8:1234:5678:11:2233:4455:6677]:32853 */
static const uint8_t resp6[] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
	0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
	0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
	0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
	0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

static void
test_request(void)
{
	struct stun_msg	m;
	uint8_t		bad[sizeof(req)];
	size_t		n;
	int		all = 1;

	CHECK(stun_is(req, sizeof(req)), "RFC 5769 request: looks like STUN");
	CHECK(stun_parse(&m, req, sizeof(req)) == 0, "RFC 5769 request: parses");
	CHECK(m.type == STUN_BINDING_REQUEST, "RFC 5769 request: binding request");
	CHECK(m.username_len == 9 && memcmp(m.username, "evtj:h6vY", 9) == 0,
	    "RFC 5769 request: USERNAME evtj:h6vY");
	CHECK(m.priority == 0x6e0001ff, "RFC 5769 request: PRIORITY");
	CHECK(!m.controlling && !m.use_candidate,
	    "RFC 5769 request: ICE-CONTROLLED, no USE-CANDIDATE");
	CHECK(stun_check_integrity(&m, key, strlen(key)) == 0,
	    "RFC 5769 request: MESSAGE-INTEGRITY verifies with the password");
	CHECK(stun_check_integrity(&m, "VOkJxbRl1RmTxUk/WvJxBT", 22) == -1,
	    "RFC 5769 request: a wrong password fails");
	CHECK(stun_check_fingerprint(&m) == 0, "RFC 5769 request: FINGERPRINT");

	memcpy(bad, req, sizeof(req));
	bad[70] ^= 1;		/* inside USERNAME */
	CHECK(stun_parse(&m, bad, sizeof(bad)) == 0 &&
	    stun_check_integrity(&m, key, strlen(key)) == -1 &&
	    stun_check_fingerprint(&m) == -1,
	    "one flipped bit: integrity and fingerprint fail");
	for (n = 0; n < sizeof(req); n++)
		if (stun_parse(&m, req, n) == 0)
			all = 0;
	CHECK(all, "every truncation of the request is refused");
	memcpy(bad, req, sizeof(req));
	bad[3] = 0x57;		/* length not a multiple of 4 */
	CHECK(stun_parse(&m, bad, sizeof(bad)) == -1, "odd length refused");
	memcpy(bad, req, sizeof(req));
	bad[4] = 0;		/* magic cookie */
	CHECK(!stun_is(bad, sizeof(bad)) && stun_parse(&m, bad, sizeof(bad)) == -1,
	    "wrong magic cookie refused");
	memcpy(bad, req, sizeof(req));
	bad[0] = 0x80;		/* an RTP first byte */
	CHECK(!stun_is(bad, sizeof(bad)), "RTP first byte is not STUN (RFC 7983)");
	/* Header and one USERNAME attribute of length 0. */
	memcpy(bad, req, 20);
	bad[3] = 4;
	memcpy(bad + 20, "\x00\x06\x00\x00", 4);
	CHECK(stun_parse(&m, bad, 24) == -1, "empty USERNAME refused");
	memcpy(bad, req, sizeof(req));
	bad[63] = 0xff;		/* USERNAME longer than the message */
	CHECK(stun_parse(&m, bad, sizeof(bad)) == -1,
	    "attribute longer than the message refused");
}

static void
test_responses(void)
{
	struct sockaddr_in	 s4;
	struct sockaddr_in6	 s6, m6;
	struct stun_msg		 m;
	uint8_t			 out[256];
	size_t			 n;

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = htons(32853);
	inet_pton(AF_INET, "192.0.2.1", &s4.sin_addr);
	n = stun_binding_success(out, sizeof(out), tid, (struct sockaddr *)&s4,
	    "test vector", key, strlen(key));
	CHECK(n == sizeof(resp4) && memcmp(out, resp4, n) == 0,
	    "RFC 5769 IPv4 response built byte for byte");
	CHECK(stun_parse(&m, resp4, sizeof(resp4)) == 0 && m.has_xor_mapped &&
	    m.xor_mapped.ss_family == AF_INET &&
	    ((struct sockaddr_in *)&m.xor_mapped)->sin_port == htons(32853) &&
	    ((struct sockaddr_in *)&m.xor_mapped)->sin_addr.s_addr ==
	    s4.sin_addr.s_addr, "RFC 5769 IPv4 response: XOR-MAPPED-ADDRESS");
	CHECK(stun_check_integrity(&m, key, strlen(key)) == 0 &&
	    stun_check_fingerprint(&m) == 0,
	    "RFC 5769 IPv4 response: integrity and fingerprint");

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(32853);
	inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677", &s6.sin6_addr);
	n = stun_binding_success(out, sizeof(out), tid, (struct sockaddr *)&s6,
	    "test vector", key, strlen(key));
	CHECK(n == sizeof(resp6) && memcmp(out, resp6, n) == 0,
	    "RFC 5769 IPv6 response built byte for byte");
	CHECK(stun_parse(&m, resp6, sizeof(resp6)) == 0 && m.has_xor_mapped &&
	    m.xor_mapped.ss_family == AF_INET6 &&
	    memcmp(&((struct sockaddr_in6 *)&m.xor_mapped)->sin6_addr,
	    &s6.sin6_addr, 16) == 0, "RFC 5769 IPv6 response: XOR-MAPPED-ADDRESS");
	CHECK(stun_check_integrity(&m, key, strlen(key)) == 0 &&
	    stun_check_fingerprint(&m) == 0,
	    "RFC 5769 IPv6 response: integrity and fingerprint");

	/* A dual-stack socket sees IPv4 peers as ::ffff:a.b.c.d. */
	memset(&m6, 0, sizeof(m6));
	m6.sin6_family = AF_INET6;
	m6.sin6_port = htons(32853);
	inet_pton(AF_INET6, "::ffff:192.0.2.1", &m6.sin6_addr);
	n = stun_binding_success(out, sizeof(out), tid, (struct sockaddr *)&m6,
	    "test vector", key, strlen(key));
	CHECK(n == sizeof(resp4) && memcmp(out, resp4, n) == 0,
	    "IPv4-mapped IPv6 peer answered as IPv4");
	CHECK(stun_binding_success(out, 60, tid, (struct sockaddr *)&s6,
	    "test vector", key, strlen(key)) == 0, "too small a buffer: 0");
}

static void
test_roundtrip(void)
{
	struct stun_msg	m;
	uint8_t		out[512], more[600];
	size_t		n;

	n = stun_binding_request(out, sizeof(out), tid, "abcd:efgh", NULL,
	    0x7e7f00ff, 1, "0123456789012345678901", 22);
	CHECK(n > 0 && stun_parse(&m, out, n) == 0 && m.use_candidate &&
	    m.controlling && m.priority == 0x7e7f00ff &&
	    m.username_len == 9 && memcmp(m.username, "abcd:efgh", 9) == 0,
	    "a built request reads back");
	CHECK(stun_check_integrity(&m, "0123456789012345678901", 22) == 0 &&
	    stun_check_fingerprint(&m) == 0, "a built request verifies");
	/* Attributes after FINGERPRINT are ignored (RFC 5389 15.5). */
	memcpy(more, out, n);
	memcpy(more + n, "\x00\x06\x00\x04wxyz", 8);
	more[3] += 8;
	CHECK(stun_parse(&m, more, n + 8) == 0 &&
	    memcmp(m.username, "abcd:efgh", 9) == 0,
	    "attributes after FINGERPRINT ignored");
}

int
main(void)
{
	test_request();
	test_responses();
	test_roundtrip();
	return (check_failed ? 1 : 0);
}
