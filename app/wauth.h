/*
 * Customer authorisation for the widget, the pure part (no Kore): strict
 * compact-JWS splitting and signature checks (EdDSA, HS256), ALTCHA
 * proof-of-work challenges and their verification, colour contrast for
 * site appearance, and subkeys of the server secret. JSON is parsed by the
 * caller (app/widget.c, with Kore's parser); unit tests and the fuzzer link
 * this file alone.
 */
#ifndef VB_WAUTH_H
#define VB_WAUTH_H

#include <stddef.h>
#include <stdint.h>

#define WA_OK		0
#define WA_MALFORMED	1
#define WA_SIGNATURE	2
#define WA_EXPIRED	3
#define WA_FORGED	4
#define WA_WRONG	5

#define WA_ALG_EDDSA	1
#define WA_ALG_HS256	2

#define WA_KEY_LEN	32
#define WA_JWS_MAX	4096		/* whole compact token, bytes */
#define WA_JWS_HDR_MAX	256		/* decoded header */
#define WA_JWS_PAY_MAX	2048		/* decoded payload */

struct wa_jws {
	char		header[WA_JWS_HDR_MAX + 1];	/* decoded, NUL-ended */
	size_t		hlen;
	char		payload[WA_JWS_PAY_MAX + 1];
	size_t		plen;
	unsigned char	sig[64];
	size_t		slen;
	size_t		signed_len;	/* bytes of "header.payload" */
};

int	wa_b64url(const char *, size_t, unsigned char *, size_t, size_t *);
int	wa_b64(const char *, size_t, unsigned char *, size_t, size_t *);
int	wa_jws_parse(const char *, size_t, struct wa_jws *);
int	wa_jws_verify(const char *, const struct wa_jws *, int,
	    const unsigned char *, size_t);

#define WA_SALT_MAX	128
struct wa_challenge {
	char		salt[WA_SALT_MAX];
	char		challenge[65];
	char		signature[65];
	uint64_t	number;			/* the answer (kept secret) */
};

int	wa_altcha_make(const unsigned char *, uint64_t, int64_t, int64_t,
	    struct wa_challenge *);
int	wa_altcha_make_with(const unsigned char *, const char *, uint64_t,
	    int64_t, int64_t, struct wa_challenge *);
int	wa_altcha_check(const unsigned char *, const char *, const char *,
	    const char *, int64_t, const char *, int64_t, int64_t);

double	wa_contrast_white(const char *);
void	wa_ua(const char *, char *, size_t, const char **, const char **);
int	wa_subkey(const unsigned char *, const char *, unsigned char *);
void	wa_hmac_hex(const unsigned char *, const char *, size_t, char *);

#endif
