/*
 * Widget customer authorisation, the pure part: see wauth.h. Every input
 * here is untrusted: lengths are checked before anything is decoded, and
 * decoding is libsodium's strict base64 (canonical, no stray characters).
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wauth.h"

static const char	wa_b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Bytes that n base64 characters (no padding) decode to, at most. */
static size_t
wa_b64_room(size_t n)
{
	return (n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0));
}

/*
 * Strict base64url without padding into out (outmax bytes). The length is
 * checked before decoding; a length of 1 mod 4 cannot be canonical.
 */
int
wa_b64url(const char *in, size_t inlen, unsigned char *out, size_t outmax,
    size_t *outlen)
{
	const char	*end;

	if (inlen == 0 || inlen % 4 == 1 || wa_b64_room(inlen) > outmax)
		return (0);
	if (strspn(in, wa_b64url_chars) < inlen)
		return (0);
	if (sodium_base642bin(out, outmax, in, inlen, NULL, outlen, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || end != in + inlen)
		return (0);
	return (1);
}

/* Strict standard base64 with padding (ALTCHA payloads, public keys). */
int
wa_b64(const char *in, size_t inlen, unsigned char *out, size_t outmax,
    size_t *outlen)
{
	const char	*end;

	if (inlen == 0 || inlen % 4 != 0 || inlen / 4 * 3 > outmax + 2)
		return (0);
	if (sodium_base642bin(out, outmax, in, inlen, NULL, outlen, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != in + inlen)
		return (0);
	return (1);
}

/*
 * A compact JWS: exactly three non-empty base64url parts. Header and payload
 * are decoded into NUL-ended buffers for the caller's JSON parser; a NUL
 * inside either is refused (it would hide bytes from that parser).
 */
int
wa_jws_parse(const char *tok, size_t len, struct wa_jws *j)
{
	const char	*d1, *d2;
	size_t		 n;

	memset(j, 0, sizeof(*j));
	if (len < 5 || len > WA_JWS_MAX || strlen(tok) != len)
		return (WA_MALFORMED);
	if ((d1 = memchr(tok, '.', len)) == NULL)
		return (WA_MALFORMED);
	if ((d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok))) == NULL)
		return (WA_MALFORMED);
	if (memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)) != NULL)
		return (WA_MALFORMED);
	if (!wa_b64url(tok, (size_t)(d1 - tok), (unsigned char *)j->header,
	    WA_JWS_HDR_MAX, &j->hlen))
		return (WA_MALFORMED);
	if (!wa_b64url(d1 + 1, (size_t)(d2 - d1 - 1), (unsigned char *)j->payload,
	    WA_JWS_PAY_MAX, &j->plen))
		return (WA_MALFORMED);
	n = len - (size_t)(d2 + 1 - tok);
	if (!wa_b64url(d2 + 1, n, j->sig, sizeof(j->sig), &j->slen))
		return (WA_MALFORMED);
	j->header[j->hlen] = '\0';
	j->payload[j->plen] = '\0';
	if (strlen(j->header) != j->hlen || strlen(j->payload) != j->plen)
		return (WA_MALFORMED);
	j->signed_len = (size_t)(d2 - tok);
	return (WA_OK);
}

/*
 * The signature over "header.payload" as given (not re-encoded). The
 * algorithm is the site's, never the token's: the caller has already
 * refused a header naming another.
 */
int
wa_jws_verify(const char *tok, const struct wa_jws *j, int alg,
    const unsigned char *key, size_t keylen)
{
	crypto_auth_hmacsha256_state	st;
	unsigned char			mac[crypto_auth_hmacsha256_BYTES];
	int				ok;

	switch (alg) {
	case WA_ALG_EDDSA:
		if (keylen != crypto_sign_PUBLICKEYBYTES || j->slen != crypto_sign_BYTES)
			return (WA_SIGNATURE);
		return (crypto_sign_verify_detached(j->sig, (const unsigned char *)tok,
		    j->signed_len, key) == 0 ? WA_OK : WA_SIGNATURE);
	case WA_ALG_HS256:
		if (keylen < 32 || j->slen != sizeof(mac))
			return (WA_SIGNATURE);
		crypto_auth_hmacsha256_init(&st, key, keylen);
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)tok, j->signed_len);
		crypto_auth_hmacsha256_final(&st, mac);
		ok = sodium_memcmp(mac, j->sig, sizeof(mac)) == 0;
		sodium_memzero(&st, sizeof(st));
		return (ok ? WA_OK : WA_SIGNATURE);
	}
	return (WA_SIGNATURE);
}

/* ALTCHA ------------------------------------------------------------------- */

void
wa_hmac_hex(const unsigned char *key, const char *data, size_t len, char *hex)
{
	unsigned char	mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, WA_KEY_LEN);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)data, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, 65, mac, sizeof(mac));
}

static void
wa_sha256_hex(const char *a, const char *b, char *hex)
{
	crypto_hash_sha256_state	st;
	unsigned char			h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)a, strlen(a));
	crypto_hash_sha256_update(&st, (const unsigned char *)b, strlen(b));
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, 65, h, sizeof(h));
}

/*
 * A challenge with a given salt prefix and answer (test vectors), bound to
 * a site and an expiry through the salt's parameters, which the signed
 * challenge hash covers.
 */
int
wa_altcha_make_with(const unsigned char *key, const char *prefix, uint64_t number,
    int64_t expires, int64_t site, struct wa_challenge *c)
{
	char	num[24];
	int	n;

	memset(c, 0, sizeof(*c));
	n = snprintf(c->salt, sizeof(c->salt), "%s?expires=%lld&site=%lld&", prefix,
	    (long long)expires, (long long)site);
	if (n < 0 || (size_t)n >= sizeof(c->salt))
		return (0);
	(void)snprintf(num, sizeof(num), "%llu", (unsigned long long)number);
	c->number = number;
	wa_sha256_hex(c->salt, num, c->challenge);
	wa_hmac_hex(key, c->challenge, 64, c->signature);
	return (1);
}

/* A fresh challenge: random salt, answer uniform in 0..maxnumber. */
int
wa_altcha_make(const unsigned char *key, uint64_t maxnumber, int64_t expires,
    int64_t site, struct wa_challenge *c)
{
	unsigned char	rnd[12];
	char		prefix[25];

	if (maxnumber < 1 || maxnumber >= UINT32_MAX)
		return (0);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(prefix, sizeof(prefix), rnd, sizeof(rnd));
	return (wa_altcha_make_with(key, prefix,
	    randombytes_uniform((uint32_t)maxnumber + 1), expires, site, c));
}

static int
wa_hex64(const char *s)
{
	return (s != NULL && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64);
}

/* The decimal value of "name=" among the salt's "?a=1&b=2&" parameters. */
static int
wa_salt_param(const char *salt, const char *name, int64_t *out)
{
	const char	*p;
	size_t		 nlen = strlen(name), dl;

	if ((p = strchr(salt, '?')) == NULL)
		return (0);
	for (p++; *p != '\0'; ) {
		if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			p += nlen + 1;
			dl = strspn(p, "0123456789");
			if (dl == 0 || dl > 15 || (p[dl] != '&' && p[dl] != '\0'))
				return (0);
			*out = strtoll(p, NULL, 10);
			return (1);
		}
		if ((p = strchr(p, '&')) == NULL)
			return (0);
		p++;
	}
	return (0);
}

/*
 * Order matters for the answer a client gets: a challenge we did not sign
 * is forged whatever else is wrong; a signed one may have expired or be for
 * another site; only then is the work itself checked.
 */
int
wa_altcha_check(const unsigned char *key, const char *alg, const char *challenge,
    const char *salt, int64_t number, const char *signature, int64_t site, int64_t now)
{
	char		 want[65], num[24];
	int64_t		 expires, bound;

	if (alg == NULL || strcmp(alg, "SHA-256") != 0 || !wa_hex64(challenge) ||
	    !wa_hex64(signature) || salt == NULL || strlen(salt) >= WA_SALT_MAX ||
	    number < 0 || number > UINT32_MAX)
		return (WA_MALFORMED);
	wa_hmac_hex(key, challenge, 64, want);
	if (sodium_memcmp(want, signature, 64) != 0)
		return (WA_FORGED);
	if (!wa_salt_param(salt, "expires", &expires) || !wa_salt_param(salt, "site", &bound))
		return (WA_FORGED);
	if (bound != site)
		return (WA_FORGED);
	if (expires < now)
		return (WA_EXPIRED);
	(void)snprintf(num, sizeof(num), "%lld", (long long)number);
	wa_sha256_hex(salt, num, want);
	if (sodium_memcmp(want, challenge, 64) != 0)
		return (WA_WRONG);
	return (WA_OK);
}

/* Appearance ----------------------------------------------------------------- */

static double
wa_channel(int v)
{
	double	c = v / 255.0;

	return (c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4));
}

/*
 * WCAG 2 contrast ratio of white text on #rrggbb; -1 for anything that is
 * not exactly that form.
 */
double
wa_contrast_white(const char *hex)
{
	unsigned long	v;
	double		l;

	if (hex == NULL || strlen(hex) != 7 || hex[0] != '#' ||
	    strspn(hex + 1, "0123456789abcdefABCDEF") != 6)
		return (-1);
	v = strtoul(hex + 1, NULL, 16);
	l = 0.2126 * wa_channel((int)(v >> 16) & 255) +
	    0.7152 * wa_channel((int)(v >> 8) & 255) + 0.0722 * wa_channel((int)v & 255);
	return (1.05 / (l + 0.05));
}

/* Context --------------------------------------------------------------------- */

static const struct {
	const char	*token;		/* in the User-Agent, followed by a version */
	const char	*name;
} wa_browsers[] = {
	{ "Edg/", "Edge" }, { "EdgA/", "Edge" }, { "OPR/", "Opera" },
	{ "SamsungBrowser/", "Samsung Internet" }, { "Firefox/", "Firefox" },
	{ "FxiOS/", "Firefox" }, { "CriOS/", "Chrome" }, { "Chrome/", "Chrome" },
	{ "Version/", "Safari" },
};

static const struct {
	const char	*token;
	const char	*name;
} wa_systems[] = {
	{ "Windows", "Windows" }, { "iPhone", "iOS" }, { "iPad", "iPadOS" }, { "iPod", "iOS" },
	{ "Android", "Android" }, { "CrOS", "ChromeOS" }, { "Mac OS X", "macOS" },
	{ "Linux", "Linux" },
};

/*
 * Browser ("Chrome 120"), operating system and device class from a
 * User-Agent, for the agent's screen pop. First match in table order wins:
 * Chromium-based browsers also claim Chrome and Safari.
 */
void
wa_ua(const char *ua, char *browser, size_t blen, const char **os, const char **device)
{
	const char	*p;
	size_t		 i, n;

	browser[0] = '\0';
	*os = NULL;
	*device = "desktop";
	if (ua == NULL || strlen(ua) > 1024)
		return;
	for (i = 0; i < sizeof(wa_browsers) / sizeof(wa_browsers[0]); i++) {
		if ((p = strstr(ua, wa_browsers[i].token)) == NULL)
			continue;
		if (strcmp(wa_browsers[i].token, "Version/") == 0 && strstr(ua, "Safari/") == NULL)
			continue;
		p += strlen(wa_browsers[i].token);
		n = strspn(p, "0123456789");
		(void)snprintf(browser, blen, "%s%s%.*s", wa_browsers[i].name, n ? " " : "",
		    (int)(n > 6 ? 6 : n), p);
		break;
	}
	for (i = 0; i < sizeof(wa_systems) / sizeof(wa_systems[0]); i++) {
		if (strstr(ua, wa_systems[i].token) != NULL) {
			*os = wa_systems[i].name;
			break;
		}
	}
	if (strstr(ua, "iPad") != NULL || strstr(ua, "Tablet") != NULL ||
	    (strstr(ua, "Android") != NULL && strstr(ua, "Mobile") == NULL))
		*device = "tablet";
	else if (strstr(ua, "Mobi") != NULL || strstr(ua, "iPhone") != NULL)
		*device = "mobile";
}

/* Keys ------------------------------------------------------------------------ */

/*
 * One purpose, one key: HMAC-SHA256(master, "vb-key:" + purpose), so that
 * operators' tools can derive the same key with any HMAC implementation.
 */
int
wa_subkey(const unsigned char *master, const char *purpose, unsigned char *out)
{
	crypto_auth_hmacsha256_state	st;

	if (purpose == NULL || *purpose == '\0')
		return (0);
	crypto_auth_hmacsha256_init(&st, master, WA_KEY_LEN);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"vb-key:", 7);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)purpose, strlen(purpose));
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
	return (1);
}
