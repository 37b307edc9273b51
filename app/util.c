/*
 * Pure helpers: buffers, escaping and validation of untrusted input.
 * Every validator checks lengths before it looks at content.
 */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>
#include <zlib.h>

#include "util.h"

static void
sbuf_grow(struct sbuf *b, size_t need)
{
	size_t	ncap;
	char	*p;

	if (b->len + need + 1 <= b->cap)
		return;
	ncap = b->cap ? b->cap : 256;
	while (ncap < b->len + need + 1)
		ncap *= 2;
	if ((p = realloc(b->data, ncap)) == NULL)
		abort();
	b->data = p;
	b->cap = ncap;
}

void
sbuf_init(struct sbuf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
	sbuf_grow(b, 0);
	b->data[0] = '\0';
}

void
sbuf_free(struct sbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
sbuf_add(struct sbuf *b, const void *p, size_t n)
{
	sbuf_grow(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
sbuf_adds(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void
sbuf_addc(struct sbuf *b, char c)
{
	sbuf_add(b, &c, 1);
}

void
sbuf_addf(struct sbuf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	sbuf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* A JSON string literal; also escapes <, > and & so it is safe inside HTML. */
void
sbuf_json_str(struct sbuf *b, const char *s)
{
	const unsigned char	*p;

	sbuf_addc(b, '"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			sbuf_adds(b, "\\\"");
			break;
		case '\\':
			sbuf_adds(b, "\\\\");
			break;
		case '\n':
			sbuf_adds(b, "\\n");
			break;
		case '\r':
			sbuf_adds(b, "\\r");
			break;
		case '\t':
			sbuf_adds(b, "\\t");
			break;
		case '<':
		case '>':
		case '&':
			sbuf_addf(b, "\\u%04x", *p);
			break;
		default:
			if (*p < 0x20)
				sbuf_addf(b, "\\u%04x", *p);
			else
				sbuf_addc(b, (char)*p);
		}
	}
	sbuf_addc(b, '"');
}

/* One element of a PostgreSQL array literal, always quoted. */
void
sbuf_pg_elem(struct sbuf *b, const char *s)
{
	sbuf_addc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			sbuf_addc(b, '\\');
		sbuf_addc(b, *s);
	}
	sbuf_addc(b, '"');
}

/*
 * Matches path against pattern segment by segment; ":id" takes a decimal id
 * (1-18 digits), a final "*" takes the rest.
 */
int
util_path_match(const char *pat, const char *path, int64_t *ids, int *nids,
    int maxids)
{
	const char	*pe, *se;
	size_t		 plen, slen;

	*nids = 0;
	while (*pat != '\0' && *path != '\0') {
		if (*pat != '/' || *path != '/')
			return (0);
		pat++;
		path++;
		if (strcmp(pat, "*") == 0)
			return (1);
		pe = strchr(pat, '/');
		se = strchr(path, '/');
		plen = pe ? (size_t)(pe - pat) : strlen(pat);
		slen = se ? (size_t)(se - path) : strlen(path);
		if (plen == 3 && strncmp(pat, ":id", 3) == 0) {
			if (slen == 0 || slen > 18 || *nids >= maxids ||
			    strspn(path, "0123456789") < slen)
				return (0);
			ids[(*nids)++] = strtoll(path, NULL, 10);
		} else if (plen != slen || strncmp(pat, path, plen) != 0) {
			return (0);
		}
		pat += plen;
		path += slen;
	}
	return (*pat == '\0' && *path == '\0');
}

int
util_utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n, k;
	uint32_t		 cp;

	for (i = 0; i < len; i += n) {
		if (p[i] == 0)
			return (0);
		if (p[i] < 0x80) {
			n = 1;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 2;
			cp = p[i] & 0x1f;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 3;
			cp = p[i] & 0x0f;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 4;
			cp = p[i] & 0x07;
		} else
			return (0);
		if (i + n > len)
			return (0);
		for (k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return (0);
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
	}
	return (1);
}

size_t
util_utf8_chars(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return (n);
}

int
util_email_valid(const char *s)
{
	const char	*at;
	size_t		 len;

	len = strlen(s);
	if (len < 3 || len > 254)
		return (0);
	if ((at = strchr(s, '@')) == NULL || at == s || at[1] == '\0')
		return (0);
	if (strchr(at + 1, '@') != NULL || strchr(at + 1, '.') == NULL)
		return (0);
	for (; *s != '\0'; s++)
		if (isspace((unsigned char)*s) || (unsigned char)*s < 0x20)
			return (0);
	return (1);
}

/* scheme://host[:port], nothing after. */
int
util_origin_valid(const char *s)
{
	const char	*h;
	size_t		 len, i;

	len = strlen(s);
	if (len < 8 || len > 255)
		return (0);
	if (strncmp(s, "https://", 8) == 0)
		h = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		h = s + 7;
	else
		return (0);
	if (*h == '\0' || *h == ':')
		return (0);
	for (i = 0; h[i] != '\0'; i++) {
		if (!isalnum((unsigned char)h[i]) && h[i] != '.' &&
		    h[i] != '-' && h[i] != ':' && h[i] != '[' && h[i] != ']')
			return (0);
	}
	if (h[i - 1] == ':')
		return (0);
	return (1);
}

int
util_slug_valid(const char *s)
{
	size_t	len, i;

	len = strlen(s);
	if (len < 2 || len > 63)
		return (0);
	if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
		return (0);
	for (i = 0; i < len; i++) {
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    s[i] != '-')
			return (0);
	}
	return (1);
}

int
util_perm_valid(const char *s)
{
	size_t	len, i;

	len = strlen(s);
	if (len < 3 || len > 64)
		return (0);
	for (i = 0; i < len; i++) {
		if (!islower((unsigned char)s[i]) && s[i] != '.' && s[i] != '_')
			return (0);
	}
	return (1);
}

/* YYYY-MM-DD optionally followed by THH:MM[:SS][Z|±HH:MM]. */
int
util_time_valid(const char *s)
{
	static const char	*shape = "dddd-dd-dd";
	size_t			 len, i;

	len = strlen(s);
	if (len < 10 || len > 35)
		return (0);
	for (i = 0; i < 10; i++) {
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != '-')
			return (0);
	}
	if (len == 10)
		return (1);
	if (s[10] != 'T' && s[10] != ' ')
		return (0);
	for (i = 11; i < len; i++) {
		if (!isdigit((unsigned char)s[i]) && strchr(":.+-Z", s[i]) == NULL)
			return (0);
	}
	return (1);
}

/* URL-safe token characters only, at most max. */
int
util_token_valid(const char *s, size_t max)
{
	size_t	len, i;

	len = strlen(s);
	if (len == 0 || len > max)
		return (0);
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return (0);
	}
	return (1);
}

int
util_digits(const char *s, size_t n)
{
	size_t	i;

	if (strlen(s) != n)
		return (0);
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return (0);
	return (1);
}

void
util_hex(const unsigned char *p, size_t n, char *out)
{
	sodium_bin2hex(out, n * 2 + 1, p, n);
}

/* n random bytes as base64url without padding; out holds 4n/3+2 bytes. */
void
util_random_token(char *out, size_t n)
{
	unsigned char	buf[64];

	if (n > sizeof(buf))
		abort();
	randombytes_buf(buf, n);
	sodium_bin2base64(out, sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), buf, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(buf, sizeof(buf));
}

void
util_sha256_hex(const char *s, size_t n, char *out)
{
	unsigned char	h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)s, n);
	util_hex(h, sizeof(h), out);
}

/* Readable one-time password: 4 groups of 4 from an unambiguous alphabet. */
void
util_temp_password(char *out, size_t outlen)
{
	static const char	abc[] = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679";
	size_t			i, o = 0;

	if (outlen < 20)
		abort();
	for (i = 0; i < 16; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = '-';
		out[o++] = abc[randombytes_uniform(sizeof(abc) - 1)];
	}
	out[o] = '\0';
}

int
util_ct_equal(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b);

	if (la != lb || la == 0)
		return (0);
	return (sodium_memcmp(a, b, la) == 0);
}

int
pwd_init(void)
{
	return (sodium_init() >= 0);
}

/*
 * argon2id with OWASP's suggested floor (m=19 MiB, t=2): strong enough for
 * stored staff passwords while keeping a login at a few tens of ms.
 */
#define PWD_OPS		2
#define PWD_MEM		(19 * 1024 * 1024)

int
pwd_hash(const char *pw, char *out, size_t outlen)
{
	if (outlen < crypto_pwhash_STRBYTES)
		return (0);
	return (crypto_pwhash_str_alg(out, pw, strlen(pw), PWD_OPS, PWD_MEM,
	    crypto_pwhash_ALG_ARGON2ID13) == 0);
}

int
pwd_verify(const char *hash, const char *pw)
{
	if (strncmp(hash, "$argon2id$", 10) != 0)
		return (0);
	return (crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0);
}

/*
 * The widget loader as served: each line without its indentation, lines
 * that are only a // comment dropped. Newlines stay, so automatic semicolon
 * insertion sees the same program; the loader has no template literals or
 * multi-line strings (static/widget/README.md), which this would change.
 */
void
util_js_squeeze(struct sbuf *b, const char *src, size_t len)
{
	const char	*p = src, *end = src + len, *nl, *s;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		for (s = p; s < nl && (*s == '\t' || *s == ' '); s++)
			;
		if (s < nl && !(nl - s >= 2 && s[0] == '/' && s[1] == '/')) {
			sbuf_add(b, s, (size_t)(nl - s));
			sbuf_addc(b, '\n');
		}
		p = nl + 1;
	}
}

/* gzip (RFC 1952) of in, best compression; 0 on failure. */
int
util_gzip(struct sbuf *b, const void *in, size_t len)
{
	z_stream	 z;
	int		 rc;

	memset(&z, 0, sizeof(z));
	if (len > UINT_MAX || deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return (0);
	sbuf_grow(b, deflateBound(&z, (uLong)len));
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)b->data + b->len;
	z.avail_out = (uInt)(b->cap - b->len - 1);
	rc = deflate(&z, Z_FINISH);
	if (rc == Z_STREAM_END)
		b->len += z.total_out;
	b->data[b->len] = '\0';
	deflateEnd(&z);
	return (rc == Z_STREAM_END);
}

/* The parameters of one Accept-Encoding entry: is its weight above 0? */
static int
util_weight(const char *p, const char *e)
{
	const char	*q;

	if ((q = memchr(p, ';', (size_t)(e - p))) == NULL)
		return (1);
	q++;
	q += strspn(q, " \t");
	if (e - q < 2 || strncasecmp(q, "q=", 2) != 0)
		return (1);
	for (q += 2; q < e && (*q == '0' || *q == '.'); q++)
		;
	return (q < e && *q >= '1' && *q <= '9');
}

/*
 * Accept-Encoding (RFC 9110 12.5.3) allows gzip: a "gzip" entry with a
 * weight above zero, or else such a "*" entry.
 */
int
util_accepts_gzip(const char *h)
{
	const char	*p = h, *e;
	size_t		 n;
	int		 gzip = -1, star = 0;

	while (*p != '\0') {
		p += strspn(p, " \t,");
		n = strcspn(p, " \t;,");
		e = p + strcspn(p, ",");
		if (n == 4 && strncasecmp(p, "gzip", 4) == 0)
			gzip = util_weight(p + n, e);
		else if (n == 1 && *p == '*')
			star = util_weight(p + n, e);
		p = e;
	}
	return (gzip >= 0 ? gzip : star);
}
