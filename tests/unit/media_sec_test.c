/*
 * modules/media/sec.c and dtls.c: SRTP and SRTCP protect/unprotect round
 * trips for both profiles (replay, tampering and a wrong key refused), and
 * complete DTLS-SRTP handshakes between dtls.c (server) and an OpenSSL
 * client in memory: profile choice, the fingerprint check, and media keyed
 * from the exporter flowing both ways.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "check.h"
#include "dtls.h"
#include "sec.h"

static size_t
rtp_packet(uint8_t *p, uint16_t seq, size_t paylen)
{
	size_t	i;

	p[0] = 0x80;
	p[1] = 96;
	p[2] = seq >> 8;
	p[3] = seq & 0xff;
	memcpy(p + 4, "\x00\x01\xe2\x40\x11\x22\x33\x44", 8);
	for (i = 0; i < paylen; i++)
		p[12 + i] = (uint8_t)(i * 7);
	return (12 + paylen);
}

static void
test_roundtrip(enum sec_profile prof, const char *name)
{
	struct sec	a, b, c;
	uint8_t		k1[16], s1[14], k2[16], s2[14], pkt[2048], orig[2048];
	uint8_t		copy[2048], rtcp[64];
	size_t		len, olen, n, tag = prof == SEC_AEAD_AES_128_GCM ? 16 : 10;
	char		msg[128];

	RAND_bytes(k1, sizeof(k1));
	RAND_bytes(s1, sizeof(s1));
	RAND_bytes(k2, sizeof(k2));
	RAND_bytes(s2, sizeof(s2));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	/* a and b are the two ends: a's outbound key is b's inbound key. */
	CHECK(sec_start(&a, prof, k1, s1, k2, s2) == 0 &&
	    sec_start(&b, prof, k2, s2, k1, s1) == 0, name);

	olen = rtp_packet(orig, 1000, 1100);
	memcpy(pkt, orig, olen);
	len = olen;
	snprintf(msg, sizeof(msg), "%s: RTP protected, %zu-byte tag", name, tag);
	CHECK(sec_protect_rtp(&a, pkt, &len, sizeof(pkt)) == 0 &&
	    len == olen + tag && memcmp(pkt + 12, orig + 12, 16) != 0, msg);
	memcpy(copy, pkt, len);
	n = len;
	snprintf(msg, sizeof(msg), "%s: RTP unprotected to the original", name);
	CHECK(sec_unprotect_rtp(&b, pkt, &len) == 0 && len == olen &&
	    memcmp(pkt, orig, olen) == 0, msg);
	snprintf(msg, sizeof(msg), "%s: a replayed RTP packet is refused", name);
	CHECK(sec_unprotect_rtp(&b, copy, &n) == -1, msg);

	olen = rtp_packet(orig, 1001, 200);
	memcpy(pkt, orig, olen);
	len = olen;
	sec_protect_rtp(&a, pkt, &len, sizeof(pkt));
	pkt[40] ^= 0x10;
	snprintf(msg, sizeof(msg), "%s: a tampered RTP packet is refused", name);
	CHECK(sec_unprotect_rtp(&b, pkt, &len) == -1, msg);

	/* The receiver's window still accepts the next genuine packet. */
	olen = rtp_packet(orig, 1002, 200);
	memcpy(pkt, orig, olen);
	len = olen;
	sec_protect_rtp(&a, pkt, &len, sizeof(pkt));
	snprintf(msg, sizeof(msg), "%s: the call goes on after a bad packet", name);
	CHECK(sec_unprotect_rtp(&b, pkt, &len) == 0 && len == olen, msg);

	/* A retransmission (NACK answer) of an index already sent. */
	olen = rtp_packet(orig, 1000, 100);
	memcpy(pkt, orig, olen);
	len = olen;
	snprintf(msg, sizeof(msg), "%s: the sender may resend an index", name);
	CHECK(sec_protect_rtp(&a, pkt, &len, sizeof(pkt)) == 0, msg);

	CHECK(sec_start(&c, prof, k2, s2, k2, s2) == 0, "third party keyed");
	olen = rtp_packet(orig, 1003, 200);
	memcpy(pkt, orig, olen);
	len = olen;
	sec_protect_rtp(&a, pkt, &len, sizeof(pkt));
	snprintf(msg, sizeof(msg), "%s: the wrong key is refused", name);
	CHECK(sec_unprotect_rtp(&c, pkt, &len) == -1, msg);

	/* SRTCP: a receiver report with one block. */
	memset(rtcp, 0, sizeof(rtcp));
	memcpy(rtcp, "\x81\xc9\x00\x07\x11\x22\x33\x44\x55\x66\x77\x88", 12);
	memcpy(orig, rtcp, 32);
	len = 32;
	snprintf(msg, sizeof(msg), "%s: SRTCP round trip", name);
	CHECK(sec_protect_rtcp(&a, rtcp, &len, sizeof(rtcp)) == 0 &&
	    len == 32 + tag + 4 && sec_unprotect_rtcp(&b, rtcp, &len) == 0 &&
	    len == 32 && memcmp(rtcp, orig, 32) == 0, msg);
	len = 32;
	snprintf(msg, sizeof(msg), "%s: no room for the tag: refused", name);
	CHECK(sec_protect_rtcp(&a, rtcp, &len, 40) == -1, msg);
	sec_stop(&a);
	sec_stop(&b);
	sec_stop(&c);
}

/* An OpenSSL DTLS client like a browser: own self-signed ECDSA cert. */
static SSL *
client_new(const char *profiles, uint8_t fp[32])
{
	SSL_CTX		*ctx;
	SSL		*ssl;
	EVP_PKEY	*key = EVP_EC_gen("P-256");
	X509		*x = X509_new();
	unsigned int	 n;
	BIO		*rb, *wb;

	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"browser", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	X509_sign(x, key, EVP_sha256());
	X509_digest(x, EVP_sha256(), fp, &n);
	ctx = SSL_CTX_new(DTLS_client_method());
	SSL_CTX_use_certificate(ctx, x);
	SSL_CTX_use_PrivateKey(ctx, key);
	SSL_CTX_set_tlsext_use_srtp(ctx, profiles);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	ssl = SSL_new(ctx);
	rb = BIO_new(BIO_s_mem());
	wb = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(rb, -1);
	SSL_set_bio(ssl, rb, wb);
	SSL_set_connect_state(ssl);
	SSL_CTX_free(ctx);
	X509_free(x);
	EVP_PKEY_free(key);
	return (ssl);
}

/* Moves datagrams both ways until the server says done or failed. */
static int
handshake(SSL *cl, struct dtls *srv)
{
	uint8_t	buf[4096];
	char	*data;
	long	 n;
	size_t	 m;
	int	 r = 0, i;

	for (i = 0; i < 20 && r == 0; i++) {
		SSL_do_handshake(cl);
		while ((n = BIO_get_mem_data(SSL_get_wbio(cl), &data)) > 0) {
			memcpy(buf, data, (size_t)n);
			(void)BIO_reset(SSL_get_wbio(cl));
			if ((r = dtls_input(srv, buf, (size_t)n)) != 0)
				break;
		}
		while ((m = dtls_output(srv, buf, sizeof(buf))) > 0) {
			if (m > 1200)
				return (-2);	/* over our MTU */
			BIO_write(SSL_get_rbio(cl), buf, (int)m);
		}
	}
	SSL_do_handshake(cl);
	return (r);
}

static void
test_dtls(const char *profiles, enum sec_profile want, const char *name)
{
	struct dtls	 srv;
	struct sec	 ssec, csec;
	SSL		*cl;
	uint8_t		 fp[32], keys[60], pkt[2048], orig[2048];
	size_t		 kl, sl, len, olen;
	char		 msg[128];

	memset(&srv, 0, sizeof(srv));
	memset(&ssec, 0, sizeof(ssec));
	memset(&csec, 0, sizeof(csec));
	cl = client_new(profiles, fp);
	CHECK(dtls_new(&srv, "sha-256", fp, sizeof(fp)) == 0, "server session");
	snprintf(msg, sizeof(msg), "%s: handshake completes", name);
	CHECK(handshake(cl, &srv) == 1 && srv.state == DTLS_DONE &&
	    SSL_is_init_finished(cl), msg);
	snprintf(msg, sizeof(msg), "%s: profile %s chosen", name,
	    sec_profile_name(want));
	CHECK(srv.profile == want, msg);
	CHECK(SSL_version(cl) == DTLS1_2_VERSION, "DTLS 1.2");
	kl = sec_key_len(want);
	sl = sec_salt_len(want);
	SSL_export_keying_material(cl, keys, 2 * (kl + sl),
	    "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0);
	/* The client protects with the client key, like a browser. */
	CHECK(dtls_sec_start(&srv, &ssec) == 0 && sec_start(&csec, want, keys,
	    keys + 2 * kl, keys + kl, keys + 2 * kl + sl) == 0, "keys installed");
	olen = rtp_packet(orig, 7, 300);
	memcpy(pkt, orig, olen);
	len = olen;
	snprintf(msg, sizeof(msg), "%s: browser to relay media decrypts", name);
	CHECK(sec_protect_rtp(&csec, pkt, &len, sizeof(pkt)) == 0 &&
	    sec_unprotect_rtp(&ssec, pkt, &len) == 0 && len == olen &&
	    memcmp(pkt, orig, olen) == 0, msg);
	memcpy(pkt, orig, olen);
	len = olen;
	snprintf(msg, sizeof(msg), "%s: relay to browser media decrypts", name);
	CHECK(sec_protect_rtp(&ssec, pkt, &len, sizeof(pkt)) == 0 &&
	    sec_unprotect_rtp(&csec, pkt, &len) == 0 && len == olen, msg);

	/* close_notify from the browser ends the association. */
	SSL_shutdown(cl);
	{
		char	*data;
		long	 n = BIO_get_mem_data(SSL_get_wbio(cl), &data);

		CHECK(n > 0 && dtls_input(&srv, (uint8_t *)data, (size_t)n) == -1 &&
		    srv.state == DTLS_CLOSED, "close_notify closes");
	}
	sec_stop(&ssec);
	sec_stop(&csec);
	dtls_free(&srv);
	SSL_free(cl);
}

static void
test_dtls_wrong_fingerprint(void)
{
	struct dtls	 srv;
	SSL		*cl;
	uint8_t		 fp[32];

	memset(&srv, 0, sizeof(srv));
	cl = client_new("SRTP_AEAD_AES_128_GCM", fp);
	fp[5] ^= 1;
	dtls_new(&srv, "sha-256", fp, sizeof(fp));
	CHECK(handshake(cl, &srv) == -1 && srv.state == DTLS_FAILED &&
	    strstr(srv.err, "fingerprint") != NULL,
	    "a certificate that is not the offer's is refused");
	dtls_free(&srv);
	SSL_free(cl);

	memset(&srv, 0, sizeof(srv));
	cl = client_new("SRTP_AEAD_AES_256_GCM", fp);
	dtls_new(&srv, "sha-256", fp, sizeof(fp));
	CHECK(handshake(cl, &srv) != 1 && srv.state != DTLS_DONE,
	    "no common SRTP profile: no keys");
	dtls_free(&srv);
	SSL_free(cl);

	memset(&srv, 0, sizeof(srv));
	dtls_new(&srv, "sha-256", fp, sizeof(fp));
	CHECK(dtls_input(&srv, (const uint8_t *)"\x16\xfe\xfd garbage", 11) <= 0,
	    "garbage in a handshake does not crash");
	dtls_free(&srv);
}

int
main(void)
{
	CHECK(sec_init() == 0, "libsrtp initialised");
	test_roundtrip(SEC_AEAD_AES_128_GCM, "AEAD_AES_128_GCM");
	test_roundtrip(SEC_AES128_CM_SHA1_80, "AES_CM_128_HMAC_SHA1_80");
	CHECK(dtls_init() == 0 && strlen(dtls_fingerprint()) == 95,
	    "certificate made, SHA-256 fingerprint");
	test_dtls("SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_256_GCM:"
	    "SRTP_AEAD_AES_128_GCM", SEC_AEAD_AES_128_GCM,
	    "Chrome's profile list");
	test_dtls("SRTP_AES128_CM_SHA1_80", SEC_AES128_CM_SHA1_80,
	    "AES-CM only");
	test_dtls_wrong_fingerprint();
	return (check_failed ? 1 : 0);
}
