/*
 * TURN REST credentials (draft-uberti-behave-turn-rest, as coturn's
 * use-auth-secret implements it): the username is "<expiry unix time>:<id>"
 * and the password base64(HMAC-SHA1(shared secret, username)). coturn
 * recomputes the HMAC with its static-auth-secret and refuses usernames
 * whose time has passed, so nothing is stored per call.
 *
 * HTTP byte ranges (RFC 9110, section 14) for recording playback: one range
 * of the forms "bytes=a-b", "bytes=a-" and "bytes=-n". Anything else (other
 * units, several ranges, garbage) is ignored and the whole file is sent, as
 * the RFC allows; a syntactically good range wholly past the end is 416.
 */

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "callutil.h"

/*
 * Username and credential for id, valid until expiry. id is our own
 * opaque label (letters, digits, '-' and '_'); 0 when it is not, or when a
 * buffer is too small.
 */
int
callutil_turn_credential(const unsigned char *secret, size_t secretlen, int64_t expiry,
    const char *id, char *user, size_t userlen, char *cred, size_t credlen)
{
	unsigned char	mac[EVP_MAX_MD_SIZE];
	unsigned int	maclen = 0;
	size_t		i;
	int		n;

	if (secretlen == 0 || expiry <= 0 || id == NULL || *id == '\0' || strlen(id) > 64)
		return (0);
	for (i = 0; id[i] != '\0'; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '-' && id[i] != '_')
			return (0);
	n = snprintf(user, userlen, "%lld:%s", (long long)expiry, id);
	if (n < 0 || (size_t)n >= userlen)
		return (0);
	if (HMAC(EVP_sha1(), secret, (int)secretlen, (const unsigned char *)user, (size_t)n,
	    mac, &maclen) == NULL || maclen != 20)
		return (0);
	if (credlen < sodium_base64_ENCODED_LEN(20, sodium_base64_VARIANT_ORIGINAL))
		return (0);
	sodium_bin2base64(cred, credlen, mac, maclen, sodium_base64_VARIANT_ORIGINAL);
	return (1);
}

/* A decimal number of at most 18 digits at *p; advances p. */
static int
callutil_num(const char **p, int64_t *out)
{
	const char	*s = *p;
	int64_t		 v = 0;
	int		 n = 0;

	while (isdigit((unsigned char)*s)) {
		if (++n > 18)
			return (0);
		v = v * 10 + (*s - '0');
		s++;
	}
	if (n == 0)
		return (0);
	*p = s;
	*out = v;
	return (1);
}

/*
 * The range asked by the Range header hdr (or NULL) of a file of size
 * bytes: CALL_RANGE_OK with [*start, *end] inclusive, CALL_RANGE_NONE, or
 * CALL_RANGE_UNSAT.
 */
int
callutil_range(const char *hdr, int64_t size, int64_t *start, int64_t *end)
{
	const char	*p;
	int64_t		 a, b;

	*start = 0;
	*end = size - 1;
	if (hdr == NULL || strncasecmp(hdr, "bytes=", 6) != 0)
		return (CALL_RANGE_NONE);
	p = hdr + 6;
	while (*p == ' ')
		p++;
	if (*p == '-') {
		p++;
		if (!callutil_num(&p, &b))
			return (CALL_RANGE_NONE);
		while (*p == ' ')
			p++;
		if (*p != '\0')
			return (CALL_RANGE_NONE);
		if (b == 0 || size == 0)
			return (CALL_RANGE_UNSAT);
		*start = b >= size ? 0 : size - b;
		return (CALL_RANGE_OK);
	}
	if (!callutil_num(&p, &a) || *p++ != '-')
		return (CALL_RANGE_NONE);
	b = -1;
	if (isdigit((unsigned char)*p) && !callutil_num(&p, &b))
		return (CALL_RANGE_NONE);
	while (*p == ' ')
		p++;
	if (*p != '\0' || (b != -1 && b < a))
		return (CALL_RANGE_NONE);
	if (a >= size)
		return (CALL_RANGE_UNSAT);
	*start = a;
	*end = (b == -1 || b >= size) ? size - 1 : b;
	return (CALL_RANGE_OK);
}

/*
 * A recording's stored path, relative to $VB_VAR/recordings: the tenant's
 * number, then segments of [A-Za-z0-9_][A-Za-z0-9._-]* (no "..", no empty
 * or hidden segment), at most 300 bytes. The database checks the same.
 */
int
callutil_rec_path_valid(const char *path)
{
	const char	*p = path;
	size_t		 seg;
	int		 nseg = 0;

	if (path == NULL || strlen(path) > 300 || !isdigit((unsigned char)*p))
		return (0);
	while (isdigit((unsigned char)*p))
		p++;
	while (*p == '/') {
		p++;
		if (!isalnum((unsigned char)*p) && *p != '_')
			return (0);
		seg = 0;
		while (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-') {
			p++;
			seg++;
		}
		if (seg == 0)
			return (0);
		nseg++;
	}
	return (*p == '\0' && nseg > 0);
}
