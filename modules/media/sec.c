/*
 * libsrtp2 glue. The primitives are ours on OpenSSL (srtpossl.c), swapped
 * into libsrtp2's crypto kernel at start. Outbound sessions allow repeated transmission of an
 * index (NACK answers resend the same packet); inbound sessions keep the
 * replay window, so a replayed datagram is dropped by libsrtp.
 */
#include <stdio.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "sec.h"
#include "srtpossl.h"

#define SEC_WINDOW	1024

int
sec_init(void)
{
	const char	*err;

	if (srtp_init() != srtp_err_status_ok) {
		fprintf(stderr, "srtp_init failed\n");
		return (-1);
	}
	if (srtpossl_register(&err) == -1) {
		fprintf(stderr, "srtp on openssl: %s refused\n", err);
		return (-1);
	}
	return (0);
}

size_t
sec_key_len(enum sec_profile p)
{
	return (p == SEC_NONE ? 0 : 16);
}

size_t
sec_salt_len(enum sec_profile p)
{
	switch (p) {
	case SEC_AES128_CM_SHA1_80:
		return (14);
	case SEC_AEAD_AES_128_GCM:
		return (12);
	default:
		return (0);
	}
}

const char *
sec_profile_name(enum sec_profile p)
{
	switch (p) {
	case SEC_AES128_CM_SHA1_80:
		return ("AES_CM_128_HMAC_SHA1_80");
	case SEC_AEAD_AES_128_GCM:
		return ("AEAD_AES_128_GCM");
	default:
		return ("none");
	}
}

static int
sec_session(srtp_t *s, enum sec_profile prof, int inbound, const uint8_t *key,
    const uint8_t *salt)
{
	srtp_policy_t	pol;
	uint8_t		master[SEC_MAX_KEY + SEC_MAX_SALT];

	memset(&pol, 0, sizeof(pol));
	if (prof == SEC_AEAD_AES_128_GCM) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
	} else if (prof == SEC_AES128_CM_SHA1_80) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	} else
		return (-1);
	memcpy(master, key, sec_key_len(prof));
	memcpy(master + sec_key_len(prof), salt, sec_salt_len(prof));
	pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	pol.key = master;
	pol.window_size = SEC_WINDOW;
	pol.allow_repeat_tx = !inbound;
	pol.next = NULL;
	if (srtp_create(s, &pol) != srtp_err_status_ok) {
		*s = NULL;
		return (-1);
	}
	return (0);
}

/* Keys as exported: ours protect what we send, theirs what we receive. */
int
sec_start(struct sec *sc, enum sec_profile prof, const uint8_t *lkey,
    const uint8_t *lsalt, const uint8_t *rkey, const uint8_t *rsalt)
{
	srtp_t		in, out;

	sec_stop(sc);
	if (sec_session(&in, prof, 1, rkey, rsalt) == -1)
		return (-1);
	if (sec_session(&out, prof, 0, lkey, lsalt) == -1) {
		srtp_dealloc(in);
		return (-1);
	}
	sc->in = in;
	sc->out = out;
	sc->profile = prof;
	return (0);
}

void
sec_stop(struct sec *sc)
{
	if (sc->in != NULL)
		srtp_dealloc(sc->in);
	if (sc->out != NULL)
		srtp_dealloc(sc->out);
	sc->in = sc->out = NULL;
	sc->profile = SEC_NONE;
}

int
sec_unprotect_rtp(struct sec *sc, uint8_t *p, size_t *len)
{
	int	n;

	if (sc->in == NULL || *len > 0x7fffffff)
		return (-1);
	n = (int)*len;
	if (srtp_unprotect(sc->in, p, &n) != srtp_err_status_ok)
		return (-1);
	*len = (size_t)n;
	return (0);
}

int
sec_unprotect_rtcp(struct sec *sc, uint8_t *p, size_t *len)
{
	int	n;

	if (sc->in == NULL || *len > 0x7fffffff)
		return (-1);
	n = (int)*len;
	if (srtp_unprotect_rtcp(sc->in, p, &n) != srtp_err_status_ok)
		return (-1);
	*len = (size_t)n;
	return (0);
}

/* The buffer must have SEC_MAX_TRAILER (+4 for RTCP) bytes of room. */
int
sec_protect_rtp(struct sec *sc, uint8_t *p, size_t *len, size_t cap)
{
	int	n;

	if (sc->out == NULL || *len + SEC_MAX_TRAILER > cap)
		return (-1);
	n = (int)*len;
	if (srtp_protect(sc->out, p, &n) != srtp_err_status_ok)
		return (-1);
	*len = (size_t)n;
	return (0);
}

int
sec_protect_rtcp(struct sec *sc, uint8_t *p, size_t *len, size_t cap)
{
	int	n;

	if (sc->out == NULL || *len + SEC_MAX_TRAILER + 4 > cap)
		return (-1);
	n = (int)*len;
	if (srtp_protect_rtcp(sc->out, p, &n) != srtp_err_status_ok)
		return (-1);
	*len = (size_t)n;
	return (0);
}
