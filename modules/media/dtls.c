/*
 * The relay is always the DTLS server (a=setup:passive): Chrome offers
 * actpass and connects. DTLS 1.2 only (OpenSSL 3.0). The peer certificate
 * is self-signed; it is trusted only if its digest equals the
 * a=fingerprint of the offer the app gave us.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "dtls.h"

#define DTLS_MTU	1200
#define DTLS_LABEL	"EXTRACTOR-dtls_srtp"

static SSL_CTX	*dtls_ctx;
static char	 dtls_fp[3 * EVP_MAX_MD_SIZE];

/* Accept any chain here; the fingerprint is compared after the handshake. */
static int
dtls_verify(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return (1);
}

static X509 *
dtls_cert(EVP_PKEY *key)
{
	X509		*x;
	X509_NAME	*name;
	uint8_t		 serial[8];
	BIGNUM		*bn;

	if ((x = X509_new()) == NULL)
		return (NULL);
	if (RAND_bytes(serial, sizeof(serial)) != 1 ||
	    (bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL)
		goto err;
	BN_clear_bit(bn, 63);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_set_version(x, 2);
	/* Valid from a day ago for a month: clocks disagree a little. */
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"vb-media", -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (X509_set_pubkey(x, key) != 1 ||
	    X509_sign(x, key, EVP_sha256()) == 0)
		goto err;
	return (x);
err:
	X509_free(x);
	return (NULL);
}

/* A fresh ECDSA P-256 key and certificate for this process. */
int
dtls_init(void)
{
	EVP_PKEY	*key;
	X509		*x;
	uint8_t		 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen, i;

	if ((key = EVP_EC_gen("P-256")) == NULL)
		return (-1);
	if ((x = dtls_cert(key)) == NULL) {
		EVP_PKEY_free(key);
		return (-1);
	}
	if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1)
		goto err;
	for (i = 0; i < mdlen; i++)
		snprintf(dtls_fp + 3 * i, 4, "%02X%s", md[i],
		    i + 1 < mdlen ? ":" : "");
	if ((dtls_ctx = SSL_CTX_new(DTLS_server_method())) == NULL)
		goto err;
	SSL_CTX_set_min_proto_version(dtls_ctx, DTLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(dtls_ctx, DTLS1_2_VERSION);
	SSL_CTX_set_verify(dtls_ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, dtls_verify);
	SSL_CTX_set_options(dtls_ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
	SSL_CTX_set_read_ahead(dtls_ctx, 1);
	if (SSL_CTX_use_certificate(dtls_ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(dtls_ctx, key) != 1 ||
	    SSL_CTX_set1_groups_list(dtls_ctx, "P-256:X25519") != 1 ||
	    SSL_CTX_set_cipher_list(dtls_ctx,
	    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
	    "ECDHE-ECDSA-CHACHA20-POLY1305") != 1 ||
	    /* Our preference: GCM is 4-5 times cheaper in Debian's libsrtp. */
	    SSL_CTX_set_tlsext_use_srtp(dtls_ctx,
	    "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") != 0)
		goto err;
	X509_free(x);
	EVP_PKEY_free(key);
	return (0);
err:
	X509_free(x);
	EVP_PKEY_free(key);
	return (-1);
}

const char *
dtls_fingerprint(void)
{
	return (dtls_fp);
}

int
dtls_new(struct dtls *d, const char *alg, const uint8_t *fp, size_t fplen)
{
	SSL	*ssl;
	BIO	*rb, *wb;

	dtls_free(d);
	memset(d, 0, sizeof(*d));
	if (fplen > sizeof(d->fp) || strlen(alg) >= sizeof(d->fp_alg))
		return (-1);
	if ((ssl = SSL_new(dtls_ctx)) == NULL)
		return (-1);
	rb = BIO_new(BIO_s_mem());
	wb = BIO_new(BIO_s_mem());
	if (rb == NULL || wb == NULL) {
		BIO_free(rb);
		BIO_free(wb);
		SSL_free(ssl);
		return (-1);
	}
	/* An empty read BIO means "try again", not end of file. */
	BIO_set_mem_eof_return(rb, -1);
	BIO_set_mem_eof_return(wb, -1);
	SSL_set_bio(ssl, rb, wb);
	SSL_set_mtu(ssl, DTLS_MTU);
	DTLS_set_link_mtu(ssl, DTLS_MTU + 28);
	SSL_set_accept_state(ssl);
	d->ssl = ssl;
	d->state = DTLS_HANDSHAKE;
	memcpy(d->fp, fp, fplen);
	d->fplen = fplen;
	snprintf(d->fp_alg, sizeof(d->fp_alg), "%s", alg);
	return (0);
}

void
dtls_free(struct dtls *d)
{
	if (d->ssl != NULL)
		SSL_free(d->ssl);
	d->ssl = NULL;
	d->state = DTLS_NONE;
}

static int
dtls_fail(struct dtls *d, const char *why)
{
	unsigned long	e = ERR_get_error();

	snprintf(d->err, sizeof(d->err), "%s%s%s", why, e ? ": " : "",
	    e ? ERR_reason_error_string(e) : "");
	ERR_clear_error();
	d->state = DTLS_FAILED;
	return (-1);
}

static int
dtls_check_peer(struct dtls *d)
{
	X509		*x;
	const EVP_MD	*md;
	uint8_t		 buf[EVP_MAX_MD_SIZE];
	unsigned int	 len = 0;
	int		 ok;

	if ((x = SSL_get1_peer_certificate(d->ssl)) == NULL)
		return (dtls_fail(d, "no peer certificate"));
	if ((md = EVP_get_digestbyname(d->fp_alg)) == NULL) {
		X509_free(x);
		return (dtls_fail(d, "unknown fingerprint algorithm"));
	}
	ok = X509_digest(x, md, buf, &len) == 1 && len == d->fplen &&
	    CRYPTO_memcmp(buf, d->fp, len) == 0;
	X509_free(x);
	return (ok ? 0 : dtls_fail(d, "peer fingerprint mismatch"));
}

static int
dtls_finish(struct dtls *d)
{
	SRTP_PROTECTION_PROFILE	*sp;
	size_t			 klen, slen;

	if (dtls_check_peer(d) == -1)
		return (-1);
	if ((sp = SSL_get_selected_srtp_profile(d->ssl)) == NULL)
		return (dtls_fail(d, "no SRTP profile negotiated"));
	switch (sp->id) {
	case SRTP_AEAD_AES_128_GCM:
		d->profile = SEC_AEAD_AES_128_GCM;
		break;
	case SRTP_AES128_CM_SHA1_80:
		d->profile = SEC_AES128_CM_SHA1_80;
		break;
	default:
		return (dtls_fail(d, "unexpected SRTP profile"));
	}
	klen = sec_key_len(d->profile);
	slen = sec_salt_len(d->profile);
	if (SSL_export_keying_material(d->ssl, d->keys, 2 * (klen + slen),
	    DTLS_LABEL, strlen(DTLS_LABEL), NULL, 0, 0) != 1)
		return (dtls_fail(d, "keying material export"));
	d->state = DTLS_DONE;
	return (1);
}

/*
 * Feeds one datagram. Returns 1 when the handshake has just completed
 * (keys ready), 0 to continue, -1 on failure or close (state says which).
 */
int
dtls_input(struct dtls *d, const uint8_t *p, size_t len)
{
	uint8_t		buf[2048];
	int		r, e;

	if (d->ssl == NULL || len > 0x7fffffff)
		return (-1);
	if (d->state == DTLS_FAILED || d->state == DTLS_CLOSED)
		return (-1);
	if (BIO_write(SSL_get_rbio(d->ssl), p, (int)len) != (int)len)
		return (dtls_fail(d, "BIO_write"));
	if (d->state == DTLS_HANDSHAKE) {
		r = SSL_do_handshake(d->ssl);
		if (r == 1)
			return (dtls_finish(d));
		e = SSL_get_error(d->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			return (0);
		}
		return (dtls_fail(d, "handshake"));
	}
	/* After the handshake only alerts (close_notify) are expected. */
	r = SSL_read(d->ssl, buf, sizeof(buf));
	if (r > 0)
		return (0);
	e = SSL_get_error(d->ssl, r);
	if (e == SSL_ERROR_ZERO_RETURN) {
		d->state = DTLS_CLOSED;
		return (-1);
	}
	if (e == SSL_ERROR_WANT_READ) {
		ERR_clear_error();
		return (0);
	}
	return (dtls_fail(d, "read"));
}

/*
 * Takes the next datagram to send. The memory BIO concatenates records,
 * so datagrams are cut at DTLS record boundaries to stay under the MTU.
 */
size_t
dtls_output(struct dtls *d, uint8_t *out, size_t cap)
{
	BIO		*wb;
	char		*data;
	long		 avail;
	size_t		 take = 0, rl;

	if (d->ssl == NULL)
		return (0);
	wb = SSL_get_wbio(d->ssl);
	if ((avail = BIO_get_mem_data(wb, &data)) <= 0)
		return (0);
	while ((size_t)avail - take >= 13) {
		rl = 13 + (((size_t)(uint8_t)data[take + 11] << 8) |
		    (uint8_t)data[take + 12]);
		if (rl > (size_t)avail - take)
			break;
		if (take + rl > cap || (take > 0 && take + rl > DTLS_MTU))
			break;
		take += rl;
	}
	if (take == 0) {
		/* Malformed or oversized: drop it rather than loop. */
		(void)BIO_reset(wb);
		return (0);
	}
	if (BIO_read(wb, out, (int)take) != (int)take)
		return (0);
	return (take);
}

/* Retransmits a lost flight when its timer expired. -1: give up. */
int
dtls_timer(struct dtls *d)
{
	if (d->ssl == NULL || d->state != DTLS_HANDSHAKE)
		return (0);
	if (DTLSv1_handle_timeout(d->ssl) < 0)
		return (dtls_fail(d, "handshake timeout"));
	return (0);
}

int
dtls_sec_start(struct dtls *d, struct sec *sc)
{
	size_t		kl = sec_key_len(d->profile), sl = sec_salt_len(d->profile);
	const uint8_t	*ck = d->keys, *sk = d->keys + kl;
	const uint8_t	*cs = d->keys + 2 * kl, *ss = d->keys + 2 * kl + sl;

	if (d->state != DTLS_DONE)
		return (-1);
	/* We are the server: server key protects, client key unprotects. */
	return (sec_start(sc, d->profile, sk, ss, ck, cs));
}
