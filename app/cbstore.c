/*
 * Co-browsing: a stored session's buffer and the asset proxy's style sheet
 * rewriting (cbstore.h). No Kore here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <zlib.h>

#include "util.h"
#include "cbstore.h"

struct cbstore {
	int64_t		session;
	int64_t		conv;
	z_stream	z;
	struct sbuf	out;		/* compressed, this chunk */
	size_t		raw;		/* raw bytes in this chunk */
	int64_t		total;		/* raw bytes of this connection */
	uint64_t	since;		/* ms: the chunk's first line */
	int		ok;
};

struct cbstore *
cbstore_new(int64_t session, int64_t conv)
{
	struct cbstore	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->session = session;
	s->conv = conv;
	sbuf_init(&s->out);
	/* Level 3: most of the gain for little CPU on the hub's worker. */
	if (deflateInit(&s->z, 3) != Z_OK) {
		sbuf_free(&s->out);
		free(s);
		return (NULL);
	}
	s->ok = 1;
	return (s);
}

int64_t
cbstore_session(const struct cbstore *s)
{
	return (s->session);
}

/* Compresses in into out (flush: Z_NO_FLUSH or Z_FINISH). */
static int
cbstore_deflate(struct cbstore *s, const void *in, size_t len, int flush)
{
	unsigned char	buf[16384];
	int		rc;

	s->z.next_in = (Bytef *)(uintptr_t)in;
	s->z.avail_in = (uInt)len;
	do {
		s->z.next_out = buf;
		s->z.avail_out = sizeof(buf);
		rc = deflate(&s->z, flush);
		if (rc == Z_STREAM_ERROR)
			return (0);
		sbuf_add(&s->out, buf, sizeof(buf) - s->z.avail_out);
	} while (s->z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
	return (1);
}

/* A checked part the agents got; 1 when the chunk is due to be taken. */
int
cbstore_add(struct cbstore *s, const struct cbdata *d, uint64_t now_ms)
{
	char	head[80];
	int	n;

	if (!s->ok || s->total + (int64_t)d->len > CBSTORE_MAX || d->len > UINT32_MAX)
		return (s->raw > 0);
	n = snprintf(head, sizeof(head), "%lld %lld %lld\t", (long long)d->id,
	    (long long)d->part, (long long)d->parts);
	if (s->raw == 0) {
		/* The last chunk was taken (or there was none). */
		sbuf_reset(&s->out);
		s->since = now_ms;
	}
	if (!cbstore_deflate(s, head, (size_t)n, Z_NO_FLUSH) ||
	    !cbstore_deflate(s, d->data, d->len, Z_NO_FLUSH) ||
	    !cbstore_deflate(s, "\n", 1, Z_NO_FLUSH)) {
		s->ok = 0;
		return (0);
	}
	s->raw += (size_t)n + d->len + 1;
	s->total += (int64_t)((size_t)n + d->len + 1);
	return (s->raw >= CBSTORE_CHUNK || now_ms - s->since >= CBSTORE_AGE_MS);
}

int
cbstore_pending(const struct cbstore *s)
{
	return (s->ok && s->raw > 0);
}

/*
 * The chunk so far as one zlib stream (*len bytes, *raw before
 * compression), valid until the next call; NULL when there is none.
 */
unsigned char *
cbstore_take(struct cbstore *s, size_t *len, size_t *raw)
{
	if (!cbstore_pending(s))
		return (NULL);
	/* out holds the stream so far; finish it there. */
	if (!cbstore_deflate(s, NULL, 0, Z_FINISH)) {
		s->ok = 0;
		return (NULL);
	}
	*len = s->out.len;
	*raw = s->raw;
	s->raw = 0;
	(void)deflateReset(&s->z);
	return ((unsigned char *)s->out.data);
}

void
cbstore_free(struct cbstore *s)
{
	if (s == NULL)
		return;
	(void)deflateEnd(&s->z);
	sbuf_free(&s->out);
	free(s);
}

/* Style sheets -------------------------------------------------------------- */

static int
cbcss_ident(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_' || (unsigned char)c >= 0x80);
}

static int
cbcss_space(char c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f');
}

/* The end of the string that starts at css[i] (a quote), past its quote. */
static size_t
cbcss_string_end(const char *css, size_t len, size_t i)
{
	char	q = css[i++];

	while (i < len && css[i] != q && css[i] != '\n') {
		if (css[i] == '\\' && i + 1 < len)
			i++;
		i++;
	}
	return (i < len && css[i] == q ? i + 1 : i);
}

/* The string's or url token's value, simple escapes undone; 0 if too odd. */
static int
cbcss_value(const char *s, size_t n, char *out, size_t outlen)
{
	size_t	i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\\') {
			/* Hex escapes would need decoding: such a URL is dropped. */
			if (++i >= n || (s[i] >= '0' && s[i] <= '9') ||
			    (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F') || s[i] == '\n')
				return (0);
		}
		if ((unsigned char)s[i] < 0x20 || o + 1 >= outlen)
			return (0);
		out[o++] = s[i];
	}
	while (o > 0 && cbcss_space(out[o - 1]))
		o--;
	out[o] = '\0';
	return (1);
}

/*
 * A reference as it goes out: "#frag" and data: stay as they are (the
 * viewer's own policy decides on data:), an http(s) URL (resolved against
 * base) goes through the proxy, anything else becomes nothing.
 */
static void
cbcss_ref(struct sbuf *b, const char *val, const char *base, const char *prefix)
{
	CURLU		*u;
	char		*abs = NULL, *enc;
	const char	*p;
	int		 ok = 0;

	sbuf_addc(b, '"');
	if (val[0] == '#' || strncasecmp(val, "data:", 5) == 0) {
		for (p = val; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\' || *p == '\n')
				sbuf_addc(b, '\\');
			sbuf_addc(b, *p);
		}
		sbuf_addc(b, '"');
		return;
	}
	if (val[0] != '\0' && (u = curl_url()) != NULL) {
		if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
		    curl_url_set(u, CURLUPART_URL, val, 0) == CURLUE_OK &&
		    curl_url_get(u, CURLUPART_URL, &abs, 0) == CURLUE_OK &&
		    (strncmp(abs, "http://", 7) == 0 || strncmp(abs, "https://", 8) == 0))
			ok = 1;
		curl_url_cleanup(u);
	}
	if (ok && (enc = curl_easy_escape(NULL, abs, 0)) != NULL) {
		sbuf_adds(b, prefix);
		sbuf_adds(b, enc);
		curl_free(enc);
	}
	curl_free(abs);
	sbuf_addc(b, '"');
}

/* After "url(" at css[i]: the end of the token and its value; 0 when none. */
static size_t
cbcss_url_token(const char *css, size_t len, size_t i, char *val, size_t vlen)
{
	size_t	s, e;

	while (i < len && cbcss_space(css[i]))
		i++;
	if (i < len && (css[i] == '"' || css[i] == '\'')) {
		s = i;
		e = cbcss_string_end(css, len, i);
		if (e - s < 2 || css[e - 1] != css[s] ||
		    !cbcss_value(css + s + 1, e - s - 2, val, vlen))
			val[0] = '\0';
		i = e;
		while (i < len && cbcss_space(css[i]))
			i++;
		return (i < len && css[i] == ')' ? i + 1 : 0);
	}
	s = i;
	while (i < len && css[i] != ')' && css[i] != '"' && css[i] != '\'' && css[i] != '(') {
		if (css[i] == '\\' && i + 1 < len)
			i++;
		i++;
	}
	if (i >= len || css[i] != ')')
		return (0);
	if (!cbcss_value(css + s, i - s, val, vlen))
		val[0] = '\0';
	return (i + 1);
}

/*
 * css (len bytes, fetched from base) with every url(...) and @import
 * "..." reference rewritten as url("<prefix><absolute URL, encoded>");
 * malloc'd, *outlen bytes, NUL-terminated; NULL when larger than CBCSS_MAX.
 */
char *
cbcss_rewrite(const char *css, size_t len, const char *base, const char *prefix, size_t *outlen)
{
	struct sbuf	 b;
	char		 val[4096];
	size_t		 i = 0, e, run;
	int		 import = 0;

	sbuf_init(&b);
	while (i < len) {
		if (b.len > CBCSS_MAX) {
			sbuf_free(&b);
			return (NULL);
		}
		if (css[i] == '/' && i + 1 < len && css[i + 1] == '*') {
			e = i + 2;
			while (e + 1 < len && !(css[e] == '*' && css[e + 1] == '/'))
				e++;
			e = e + 1 < len ? e + 2 : len;
			sbuf_add(&b, css + i, e - i);
			i = e;
		} else if (css[i] == '"' || css[i] == '\'') {
			e = cbcss_string_end(css, len, i);
			if (import && e - i >= 2 && css[e - 1] == css[i]) {
				if (!cbcss_value(css + i + 1, e - i - 2, val, sizeof(val)))
					val[0] = '\0';
				sbuf_adds(&b, "url(");
				cbcss_ref(&b, val, base, prefix);
				sbuf_addc(&b, ')');
			} else {
				sbuf_add(&b, css + i, e - i);
			}
			import = 0;
			i = e;
		} else if (len - i >= 4 && strncasecmp(css + i, "url(", 4) == 0 &&
		    (i == 0 || !cbcss_ident(css[i - 1]))) {
			if ((e = cbcss_url_token(css, len, i + 4, val, sizeof(val))) == 0) {
				/* Not a well-formed url token: nothing of it is kept. */
				sbuf_adds(&b, "url(\"\")");
				i = len;
				break;
			}
			sbuf_adds(&b, "url(");
			cbcss_ref(&b, val, base, prefix);
			sbuf_addc(&b, ')');
			import = 0;
			i = e;
		} else if (len - i >= 7 && strncasecmp(css + i, "@import", 7) == 0) {
			sbuf_add(&b, css + i, 7);
			import = 1;
			i += 7;
		} else if (cbcss_space(css[i])) {
			sbuf_addc(&b, css[i++]);
		} else {
			import = 0;
			for (run = i + 1; run < len && css[run] != '/' && css[run] != '"' &&
			    css[run] != '\'' && css[run] != '@' && css[run] != 'u' && css[run] != 'U' &&
			    !cbcss_space(css[run]); run++)
				;
			sbuf_add(&b, css + i, run - i);
			i = run;
		}
	}
	*outlen = b.len;
	sbuf_addc(&b, '\0');
	return (b.data);
}
