/*
 * libFuzzer harness for SRTP/SRTCP through libsrtp2 with our OpenSSL
 * primitives (modules/media/sec.c, srtpossl.c). The first octet picks the
 * profile and what to do with the rest:
 *   raw:       the rest is a datagram from the network, unprotected as
 *              SRTP and as SRTCP (any length, any content: no crash);
 *   roundtrip: the rest is an RTP payload or an RTCP body, protected by
 *              one end and unprotected by the other: the same packet back;
 *   tamper:    as roundtrip, then one bit the input picks is flipped in
 *              the protected packet: unprotect must refuse it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sec.h"

#define FUZZ_MAX	1400

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const uint8_t	fuzz_k1[16] = "0123456789abcdef";
static const uint8_t	fuzz_k2[16] = "fedcba9876543210";
static const uint8_t	fuzz_s1[14] = "saltsaltsalt1";
static const uint8_t	fuzz_s2[14] = "saltsaltsalt2";

static size_t
fuzz_packet(uint8_t *p, int rtcp, const uint8_t *data, size_t size)
{
	if (rtcp) {
		/* A receiver report header, then the input as its body. */
		size &= ~(size_t)3;
		p[0] = 0x80;
		p[1] = 201;
		p[2] = (uint8_t)(((size + 8) / 4 - 1) >> 8);
		p[3] = (uint8_t)((size + 8) / 4 - 1);
		memcpy(p + 4, "\xca\xfe\xf0\x0d", 4);
		memcpy(p + 8, data, size);
		return (size + 8);
	}
	p[0] = 0x80;
	p[1] = 96;
	p[2] = size > 0 ? data[0] : 0;	/* sequence number from the input */
	p[3] = size > 1 ? data[1] : 0;
	memcpy(p + 4, "\x00\x01\xe2\x40\xca\xfe\xf0\x0d", 8);
	memcpy(p + 12, data, size);
	return (size + 12);
}

static void
fuzz_roundtrip(enum sec_profile prof, int rtcp, int tamper,
    const uint8_t *data, size_t size)
{
	struct sec	a, b;
	uint8_t		orig[FUZZ_MAX + 64], p[FUZZ_MAX + 64];
	size_t		olen, len, bit;
	int		rc;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (sec_start(&a, prof, fuzz_k1, fuzz_s1, fuzz_k2, fuzz_s2) == -1 ||
	    sec_start(&b, prof, fuzz_k2, fuzz_s2, fuzz_k1, fuzz_s1) == -1)
		abort();
	bit = size >= 2 ? (size_t)data[size - 2] << 8 | data[size - 1] : 0;
	olen = fuzz_packet(orig, rtcp, data, size);
	memcpy(p, orig, olen);
	len = olen;
	rc = rtcp ? sec_protect_rtcp(&a, p, &len, sizeof(p)) :
	    sec_protect_rtp(&a, p, &len, sizeof(p));
	if (rc == -1)
		abort();
	if (tamper) {
		bit %= len * 8;
		p[bit / 8] ^= (uint8_t)(1 << (bit % 8));
	}
	rc = rtcp ? sec_unprotect_rtcp(&b, p, &len) :
	    sec_unprotect_rtp(&b, p, &len);
	if (tamper && rc != -1)
		abort();	/* a flipped bit got through */
	if (!tamper && (rc == -1 || len != olen || memcmp(p, orig, olen) != 0))
		abort();	/* the round trip lost the packet */
	sec_stop(&a);
	sec_stop(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sec	rx[2];
	static int		ready;
	enum sec_profile	prof;
	uint8_t			p[FUZZ_MAX + 64];
	size_t			len;
	int			op;

	if (!ready) {
		if (sec_init() == -1 ||
		    sec_start(&rx[0], SEC_AEAD_AES_128_GCM, fuzz_k1, fuzz_s1,
		    fuzz_k2, fuzz_s2) == -1 ||
		    sec_start(&rx[1], SEC_AES128_CM_SHA1_80, fuzz_k1, fuzz_s1,
		    fuzz_k2, fuzz_s2) == -1)
			abort();
		ready = 1;
	}
	if (size < 1 || size - 1 > FUZZ_MAX)
		return (0);
	prof = data[0] & 1 ? SEC_AEAD_AES_128_GCM : SEC_AES128_CM_SHA1_80;
	op = (data[0] >> 1) % 5;
	data++;
	size--;
	switch (op) {
	case 0:
		memcpy(p, data, size);
		len = size;
		(void)sec_unprotect_rtp(&rx[prof == SEC_AEAD_AES_128_GCM ?
		    0 : 1], p, &len);
		memcpy(p, data, size);
		len = size;
		(void)sec_unprotect_rtcp(&rx[prof == SEC_AEAD_AES_128_GCM ?
		    0 : 1], p, &len);
		break;
	case 1:
	case 2:
		fuzz_roundtrip(prof, op == 2, 0, data, size);
		break;
	default:
		fuzz_roundtrip(prof, op == 4, 1, data, size);
		break;
	}
	return (0);
}
