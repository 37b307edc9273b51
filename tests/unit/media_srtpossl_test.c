/*
 * modules/media/srtpossl.c: the OpenSSL primitives inside libsrtp2.
 *
 * - Known answers through libsrtp's public cipher API on our types:
 *   RFC 7714 section 16.1 (SRTP, AEAD_AES_128_GCM, encrypted and
 *   authenticated only) and 17.1 (SRTCP), RFC 3711 B.2 (AES-CM keystream)
 *   and B.3 (key derivation with AES-CM, which libsrtp uses for every
 *   profile).
 * - libsrtp's own type self-tests on our four types.
 * - Through the whole protocol (srtp_protect & co., via sec.c): the RFC
 *   3711 B.3 master key gives the packet the RFC's session keys give;
 *   packets protected by Debian's NSS-based types before the swap are
 *   byte-identical to ours after it, both profiles, SRTP and SRTCP, and
 *   NSS's packets open with ours; a tampered packet fails.
 * - Misuse: a GCM packet shorter than its tag, a wrong tag, a run past
 *   the 16-bit AES-CM counter.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "check.h"
#include "sec.h"
#include "srtpossl.h"

static size_t
hex(uint8_t *out, size_t cap, const char *s)
{
	size_t		n = 0;
	unsigned int	v;

	while (s[0] != '\0' && s[1] != '\0' && n < cap) {
		if (s[0] == ' ') {
			s++;
			continue;
		}
		if (sscanf(s, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return (n);
}

/* RFC 7714 16.1.1, 16.1.2 and 17.1: key, salt, packets. */
#define R7714_KEY	"000102030405060708090a0b0c0d0e0f" \
			"517569642070726f2071756f"
#define R7714_RTP	"8040f17b8041f8d35501a0b2" \
	"47616c6c69612065737420" "6f6d6e697320646976697361" \
	"20696e2070617274657320" "74726573"
#define R7714_SRTP	"8040f17b8041f8d35501a0b2" \
	"f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b" \
	"36de3adf8833899d7f27beb16a9152cf765ee4390cce"
#define R7714_RTP_IV	"51753c6580c2726f20718414"
#define R7714_AUTH_TAG	"22493f82d2bce397e9d79e3b19aa4216"
#define R7714_RTCP	"81c8000d4d6172734e5450314e5450325254502000" \
	"00042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"
#define R7714_SRTCP	"81c8000d4d617273" \
	"63e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda" \
	"4ce09b4686303ded0bb9275bc84aa45896cf4d2fc5abf87245d9eade800005d4"
#define R7714_RTCP_IV	"517524055203726f207170bb"

static void
test_rfc7714_rtp(void)
{
	srtp_cipher_t	*c = NULL;
	uint8_t		 key[28], iv[16], pkt[128], want[128], plain[128];
	unsigned int	 n;
	uint32_t	 tl;
	size_t		 plen, wlen;

	hex(key, sizeof(key), R7714_KEY);
	memset(iv, 0, sizeof(iv));
	hex(iv, 12, R7714_RTP_IV);
	plen = hex(plain, sizeof(plain), R7714_RTP);
	wlen = hex(want, sizeof(want), R7714_SRTP);
	CHECK(srtp_cipher_type_alloc(&srtpossl_aes_gcm_128, &c, 28, 16) ==
	    srtp_err_status_ok && c->algorithm == SRTP_AES_GCM_128 &&
	    srtp_cipher_get_key_length(c) == 28,
	    "RFC 7714: our AES-128-GCM allocated (28-octet key, 16-octet tag)");
	if (c == NULL)
		return;
	memcpy(pkt, plain, plen);
	n = (unsigned int)plen - 12;
	tl = 0;
	CHECK(srtp_cipher_init(c, key) == 0 &&
	    srtp_cipher_set_iv(c, iv, srtp_direction_encrypt) == 0 &&
	    srtp_cipher_set_aad(c, pkt, 12) == 0 &&
	    srtp_cipher_encrypt(c, pkt + 12, &n) == 0 &&
	    srtp_cipher_get_tag(c, pkt + 12 + n, &tl) == 0 && tl == 16 &&
	    12 + n + tl == wlen && memcmp(pkt, want, wlen) == 0,
	    "RFC 7714 16.1.1: SRTP packet encrypted to the RFC's octets");

	n = (unsigned int)wlen - 12;
	CHECK(srtp_cipher_set_iv(c, iv, srtp_direction_decrypt) == 0 &&
	    srtp_cipher_set_aad(c, pkt, 12) == 0 &&
	    srtp_cipher_decrypt(c, pkt + 12, &n) == 0 &&
	    n + 12 == plen && memcmp(pkt, plain, plen) == 0,
	    "RFC 7714 16.1.1: and decrypted back, tag checked");

	memcpy(pkt, want, wlen);
	pkt[20] ^= 0x01;
	n = (unsigned int)wlen - 12;
	CHECK(srtp_cipher_set_iv(c, iv, srtp_direction_decrypt) == 0 &&
	    srtp_cipher_set_aad(c, pkt, 12) == 0 &&
	    srtp_cipher_decrypt(c, pkt + 12, &n) == srtp_err_status_auth_fail,
	    "RFC 7714: one flipped ciphertext bit fails the tag");

	memcpy(pkt, want, wlen);
	pkt[3] ^= 0x01;		/* the header is AAD */
	n = (unsigned int)wlen - 12;
	CHECK(srtp_cipher_set_iv(c, iv, srtp_direction_decrypt) == 0 &&
	    srtp_cipher_set_aad(c, pkt, 12) == 0 &&
	    srtp_cipher_decrypt(c, pkt + 12, &n) == srtp_err_status_auth_fail,
	    "RFC 7714: one flipped header (AAD) bit fails the tag");

	n = 15;
	CHECK(srtp_cipher_set_iv(c, iv, srtp_direction_decrypt) == 0 &&
	    srtp_cipher_decrypt(c, pkt + 12, &n) != srtp_err_status_ok &&
	    n == 15, "a ciphertext shorter than the tag is refused");

	/* 16.1.2: authenticated only, the whole packet is AAD. */
	memcpy(pkt, plain, plen);
	n = 0;
	CHECK(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt) == 0 &&
	    srtp_cipher_set_aad(c, pkt, (uint32_t)plen) == 0 &&
	    srtp_cipher_encrypt(c, pkt + plen, &n) == 0 &&
	    srtp_cipher_get_tag(c, pkt + plen, &tl) == 0 && tl == 16 &&
	    hex(want, sizeof(want), R7714_AUTH_TAG) == 16 &&
	    memcmp(pkt + plen, want, 16) == 0,
	    "RFC 7714 16.1.2: authentication-only tag is the RFC's");
	n = 16;
	CHECK(srtp_cipher_set_iv(c, iv, srtp_direction_decrypt) == 0 &&
	    srtp_cipher_set_aad(c, pkt, (uint32_t)plen) == 0 &&
	    srtp_cipher_decrypt(c, pkt + plen, &n) == 0 && n == 0,
	    "RFC 7714 16.1.2: and verifies (tag only, no ciphertext)");
	CHECK(srtp_cipher_encrypt(c, pkt, &n) == srtp_err_status_bad_param,
	    "encrypting without an IV set for encryption is refused");
	srtp_cipher_dealloc(c);
}

static void
test_rfc7714_rtcp(void)
{
	srtp_cipher_t	*c = NULL;
	uint8_t		 key[28], iv[16], pkt[128], want[128], plain[128];
	uint8_t		 trailer[4] = { 0x80, 0x00, 0x05, 0xd4 };
	unsigned int	 n;
	uint32_t	 tl;
	size_t		 plen, wlen;

	hex(key, sizeof(key), R7714_KEY);
	memset(iv, 0, sizeof(iv));
	hex(iv, 12, R7714_RTCP_IV);
	plen = hex(plain, sizeof(plain), R7714_RTCP);
	wlen = hex(want, sizeof(want), R7714_SRTCP);
	if (srtp_cipher_type_alloc(&srtpossl_aes_gcm_128, &c, 28, 16) != 0)
		return;
	/* As libsrtp does it: the header, then E and the index, as AAD. */
	memcpy(pkt, plain, plen);
	n = (unsigned int)plen - 8;
	CHECK(srtp_cipher_init(c, key) == 0 &&
	    srtp_cipher_set_iv(c, iv, srtp_direction_encrypt) == 0 &&
	    srtp_cipher_set_aad(c, pkt, 8) == 0 &&
	    srtp_cipher_set_aad(c, trailer, 4) == 0 &&
	    srtp_cipher_encrypt(c, pkt + 8, &n) == 0 &&
	    srtp_cipher_get_tag(c, pkt + 8 + n, &tl) == 0 &&
	    (memcpy(pkt + 8 + n + tl, trailer, 4), 8 + n + tl + 4 == wlen) &&
	    memcmp(pkt, want, wlen) == 0,
	    "RFC 7714 17.1: SRTCP packet encrypted to the RFC's octets");
	n = (unsigned int)wlen - 8 - 4;
	CHECK(srtp_cipher_set_iv(c, iv, srtp_direction_decrypt) == 0 &&
	    srtp_cipher_set_aad(c, pkt, 8) == 0 &&
	    srtp_cipher_set_aad(c, trailer, 4) == 0 &&
	    srtp_cipher_decrypt(c, pkt + 8, &n) == 0 && n + 8 == plen &&
	    memcmp(pkt, plain, plen) == 0,
	    "RFC 7714 17.1: and decrypted back");
	trailer[3] ^= 1;	/* another SRTCP index: another AAD */
	memcpy(pkt, want, wlen);
	n = (unsigned int)wlen - 8 - 4;
	CHECK(srtp_cipher_set_iv(c, iv, srtp_direction_decrypt) == 0 &&
	    srtp_cipher_set_aad(c, pkt, 8) == 0 &&
	    srtp_cipher_set_aad(c, trailer, 4) == 0 &&
	    srtp_cipher_decrypt(c, pkt + 8, &n) == srtp_err_status_auth_fail,
	    "RFC 7714 17.1: a changed SRTCP index fails the tag");
	srtp_cipher_dealloc(c);
}

/* RFC 3711 B.2 keystream and B.3 key derivation, on our AES-ICM. */
static void
test_rfc3711(void)
{
	srtp_cipher_t	*c = NULL;
	uint8_t		 key[30], iv[16], buf[64], want[64];
	unsigned int	 n;

	hex(key, sizeof(key), "2b7e151628aed2a6abf7158809cf4f3c"
	    "f0f1f2f3f4f5f6f7f8f9fafbfcfd");
	hex(want, sizeof(want), "e03ead0935c95e80e166b16dd92b4eb4"
	    "d23513162b02d0f72a43a2fe4a5f97ab41e95b3bb0a2e8dd477901e4fca894c0");
	CHECK(srtp_cipher_type_alloc(&srtpossl_aes_icm_128, &c, 30, 0) == 0 &&
	    c->algorithm == SRTP_AES_ICM_128, "our AES-128-ICM allocated");
	if (c == NULL)
		return;
	memset(iv, 0, sizeof(iv));
	memset(buf, 0, sizeof(buf));
	n = 48;
	CHECK(srtp_cipher_init(c, key) == 0 &&
	    srtp_cipher_set_iv(c, iv, srtp_direction_encrypt) == 0 &&
	    srtp_cipher_encrypt(c, buf, &n) == 0 && n == 48 &&
	    memcmp(buf, want, 48) == 0,
	    "RFC 3711 B.2: AES-CM keystream segment");
	/* In two runs after one IV: the keystream continues. */
	memset(buf, 0, sizeof(buf));
	n = 5;
	CHECK(srtp_cipher_set_iv(c, iv, srtp_direction_decrypt) == 0 &&
	    srtp_cipher_encrypt(c, buf, &n) == 0 &&
	    (n = 43, srtp_cipher_encrypt(c, buf + 5, &n)) == 0 &&
	    memcmp(buf, want, 48) == 0,
	    "RFC 3711 B.2: the same keystream in two runs");

	/* B.3: labels 0, 2 and 1 under the master key and salt. */
	hex(key, sizeof(key), "e1f97a0d3e018be0d64fa32c06de4139"
	    "0ec675ad498afeebb6960b3aabe6");
	CHECK(srtp_cipher_init(c, key) == 0, "RFC 3711 B.3: master key set");
	memset(iv, 0, sizeof(iv));
	memset(buf, 0, sizeof(buf));
	n = 16;
	hex(want, sizeof(want), "c61e7a93744f39ee10734afe3ff7a087");
	CHECK(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt) == 0 &&
	    srtp_cipher_encrypt(c, buf, &n) == 0 &&
	    memcmp(buf, want, 16) == 0, "RFC 3711 B.3: cipher key derived");
	iv[7] = 0x02;
	memset(buf, 0, sizeof(buf));
	n = 14;
	hex(want, sizeof(want), "30cbbc08863d8c85d49db34a9ae1");
	CHECK(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt) == 0 &&
	    srtp_cipher_encrypt(c, buf, &n) == 0 &&
	    memcmp(buf, want, 14) == 0, "RFC 3711 B.3: cipher salt derived");
	iv[7] = 0x01;
	memset(buf, 0, sizeof(buf));
	n = 20;
	hex(want, sizeof(want), "cebe321f6ff7716b6fd4ab49af256a156d38baa4");
	CHECK(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt) == 0 &&
	    srtp_cipher_encrypt(c, buf, &n) == 0 &&
	    memcmp(buf, want, 20) == 0, "RFC 3711 B.3: auth key derived");

	/* SRTP counts in 16 bits: a run past 0xffff blocks is refused. */
	memset(iv, 0, sizeof(iv));
	iv[14] = iv[15] = 0xff;
	n = 16;
	CHECK(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt) == 0 &&
	    srtp_cipher_encrypt(c, buf, &n) == 0,
	    "AES-CM: the last counter block is usable");
	n = 1;
	CHECK(srtp_cipher_encrypt(c, buf, &n) == srtp_err_status_terminus,
	    "AES-CM: a run past the 16-bit block counter is refused");
	srtp_cipher_dealloc(c);

	CHECK(srtp_cipher_type_alloc(&srtpossl_aes_icm_128, &c, 46, 0) ==
	    srtp_err_status_bad_param && c == NULL,
	    "our AES-128-ICM refuses a 256-bit key length");
	CHECK(srtp_cipher_type_alloc(&srtpossl_aes_gcm_128, &c, 28, 12) ==
	    srtp_err_status_bad_param, "our AES-GCM refuses a 12-octet tag");
}

static void
test_self_tests(void)
{
	CHECK(srtp_cipher_type_self_test(&srtpossl_aes_gcm_128) == 0,
	    "libsrtp self-test: our AES-128-GCM");
	CHECK(srtp_cipher_type_self_test(&srtpossl_aes_gcm_256) == 0,
	    "libsrtp self-test: our AES-256-GCM");
	CHECK(srtp_cipher_type_self_test(&srtpossl_aes_icm_128) == 0,
	    "libsrtp self-test: our AES-128-ICM");
	CHECK(srtp_auth_type_self_test(&srtpossl_hmac_sha1) == 0,
	    "libsrtp self-test: our HMAC-SHA1");
}

/* A deterministic session: ssrc_any_outbound or _inbound, fixed keys. */
static srtp_t
session(enum sec_profile prof, int inbound, const uint8_t *master)
{
	srtp_policy_t	pol;
	srtp_t		s;

	memset(&pol, 0, sizeof(pol));
	if (prof == SEC_AEAD_AES_128_GCM) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
	} else {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	}
	pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	pol.key = (uint8_t *)master;
	pol.window_size = 1024;
	pol.next = NULL;
	if (srtp_create(&s, &pol) != srtp_err_status_ok)
		return (NULL);
	return (s);
}

#define XPKTS	4
struct xref {
	uint8_t	rtp[XPKTS][1200];
	int	rtp_len[XPKTS];
	uint8_t	rtcp[XPKTS][128];
	int	rtcp_len[XPKTS];
};

static int
make_rtp(uint8_t *p, int i)
{
	int	k;

	p[0] = 0x80;
	p[1] = 96;
	p[2] = 0xff;		/* across a sequence wrap: ROC 0 then 1 */
	p[3] = (uint8_t)(0xfe + i);
	memcpy(p + 4, "\x00\x01\xe2\x40\xca\xfe\xf0\x0d", 8);
	for (k = 0; k < 1100; k++)
		p[12 + k] = (uint8_t)(k * 13 + i);
	return (1112);
}

static int
make_rtcp(uint8_t *p, int i)
{
	/* A receiver report with one block. */
	memcpy(p, "\x81\xc9\x00\x07\xca\xfe\xf0\x0d", 8);
	memset(p + 8, 0x40 + i, 24);
	return (32);
}

/* Protect XPKTS RTP and RTCP packets with whatever types are registered. */
static int
protect_all(enum sec_profile prof, const uint8_t *master, struct xref *x)
{
	srtp_t	s;
	int	i;

	if ((s = session(prof, 0, master)) == NULL)
		return (-1);
	for (i = 0; i < XPKTS; i++) {
		x->rtp_len[i] = make_rtp(x->rtp[i], i);
		x->rtcp_len[i] = make_rtcp(x->rtcp[i], i);
		if (srtp_protect(s, x->rtp[i], &x->rtp_len[i]) != 0 ||
		    srtp_protect_rtcp(s, x->rtcp[i], &x->rtcp_len[i]) != 0) {
			srtp_dealloc(s);
			return (-1);
		}
	}
	srtp_dealloc(s);
	return (0);
}

static int
unprotect_all(enum sec_profile prof, const uint8_t *master,
    const struct xref *x)
{
	srtp_t	s;
	uint8_t	p[1200], want[1200];
	int	i, n, ok = 0;

	if ((s = session(prof, 1, master)) == NULL)
		return (-1);
	for (i = 0; i < XPKTS; i++) {
		memcpy(p, x->rtp[i], (size_t)x->rtp_len[i]);
		n = x->rtp_len[i];
		if (srtp_unprotect(s, p, &n) != 0 || n != make_rtp(want, i) ||
		    memcmp(p, want, (size_t)n) != 0)
			ok = -1;
		memcpy(p, x->rtcp[i], (size_t)x->rtcp_len[i]);
		n = x->rtcp_len[i];
		if (srtp_unprotect_rtcp(s, p, &n) != 0 ||
		    n != make_rtcp(want, i) || memcmp(p, want, (size_t)n) != 0)
			ok = -1;
	}
	/* A tampered packet after the genuine ones. */
	memcpy(p, x->rtp[0], (size_t)x->rtp_len[0]);
	p[3] ^= 0x10;		/* a fresh sequence number, not a replay */
	p[100] ^= 0x04;
	n = x->rtp_len[0];
	if (srtp_unprotect(s, p, &n) != srtp_err_status_auth_fail)
		ok = -1;
	srtp_dealloc(s);
	return (ok);
}

static int
same(const struct xref *a, const struct xref *b)
{
	int	i;

	for (i = 0; i < XPKTS; i++)
		if (a->rtp_len[i] != b->rtp_len[i] ||
		    memcmp(a->rtp[i], b->rtp[i], (size_t)a->rtp_len[i]) != 0 ||
		    a->rtcp_len[i] != b->rtcp_len[i] ||
		    memcmp(a->rtcp[i], b->rtcp[i], (size_t)a->rtcp_len[i]) != 0)
			return (0);
	return (1);
}

/* RFC 3711 B.3's master key, through srtp_protect: the RFC's session keys. */
static void
test_rfc3711_protect(void)
{
	uint8_t	master[30], p[128], want[128];
	srtp_t	s;
	int	k, n;
	size_t	wlen;

	hex(master, sizeof(master), "e1f97a0d3e018be0d64fa32c06de4139"
	    "0ec675ad498afeebb6960b3aabe6");
	/* Computed from B.3's session keys (cipher key, salt, auth key). */
	wlen = hex(want, sizeof(want), "806012340001e24011223344"
	    "6c992c141c95a27e6e3cdac122976b9854ab320c2cf1cb88b5c6564fc3c72cda"
	    "cd13e783344a4206fe4b24496ef7a497da6bfc6548c65de0cb36c2f4afc97be9"
	    "9389a6705cae6612102a");
	memcpy(p, "\x80\x60\x12\x34\x00\x01\xe2\x40\x11\x22\x33\x44", 12);
	for (k = 0; k < 64; k++)
		p[12 + k] = (uint8_t)(k * 7);
	n = 76;
	s = session(SEC_AES128_CM_SHA1_80, 0, master);
	CHECK(s != NULL && srtp_protect(s, p, &n) == 0 && (size_t)n == wlen &&
	    memcmp(p, want, wlen) == 0,
	    "RFC 3711 B.3 master key: srtp_protect gives the packet of the "
	    "RFC's session keys (AES-CM + HMAC-SHA1-80)");
	if (s != NULL)
		srtp_dealloc(s);
}

int
main(void)
{
	static struct xref	nss_gcm, nss_cm, our_gcm, our_cm;
	uint8_t			master[30];
	const char		*err;
	int			i;

	for (i = 0; i < 30; i++)
		master[i] = (uint8_t)(0x31 * i + 5);
	CHECK(srtp_init() == srtp_err_status_ok, "libsrtp initialised (NSS)");
	CHECK(protect_all(SEC_AEAD_AES_128_GCM, master, &nss_gcm) == 0 &&
	    protect_all(SEC_AES128_CM_SHA1_80, master, &nss_cm) == 0,
	    "reference packets protected by Debian's NSS types");

	CHECK(srtpossl_register(&err) == 0,
	    "our OpenSSL types replace NSS's in libsrtp");
	CHECK(srtpossl_register(&err) == 0, "registering twice is harmless");
	test_self_tests();
	test_rfc7714_rtp();
	test_rfc7714_rtcp();
	test_rfc3711();
	test_rfc3711_protect();

	CHECK(protect_all(SEC_AEAD_AES_128_GCM, master, &our_gcm) == 0 &&
	    same(&nss_gcm, &our_gcm),
	    "AEAD_AES_128_GCM: SRTP and SRTCP byte-identical to NSS's "
	    "(across a ROC change)");
	CHECK(protect_all(SEC_AES128_CM_SHA1_80, master, &our_cm) == 0 &&
	    same(&nss_cm, &our_cm),
	    "AES_CM_128_HMAC_SHA1_80: SRTP and SRTCP byte-identical to NSS's");
	CHECK(unprotect_all(SEC_AEAD_AES_128_GCM, master, &nss_gcm) == 0,
	    "AEAD_AES_128_GCM: NSS's packets open with ours; tampering fails");
	CHECK(unprotect_all(SEC_AES128_CM_SHA1_80, master, &nss_cm) == 0,
	    "AES_CM_128_HMAC_SHA1_80: NSS's packets open with ours; "
	    "tampering fails");
	return (check_failed ? 1 : 0);
}
