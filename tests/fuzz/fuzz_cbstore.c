/*
 * libFuzzer harness for app/cbstore.c: the asset proxy's style sheet
 * rewriting takes any bytes a site serves as text/css; a stored session's
 * buffer takes any page data a customer sends. Besides memory errors it
 * checks that the rewritten sheet is as long as said and NUL-terminated,
 * that every reference it wrote goes through the proxy (or is data:, a
 * #fragment or empty), and that a stored chunk inflates to exactly the
 * lines that went in.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "util.h"
#include "cbstore.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define PREFIX	"/api/cobrowse/proxy?conversation_id=1&url="

static void
check_css(const uint8_t *data, size_t len)
{
	char	*out, *p, *q;
	size_t	 n;

	if ((out = cbcss_rewrite((const char *)data, len, "https://bank.test/css/a.css", PREFIX, &n)) == NULL)
		return;
	if (out[n] != '\0')
		abort();
	/*
	 * Without quotes, slashes or backslashes in the input (so no comment,
	 * string or prefix of its own), every url( the output has at a token
	 * start is ours: url("") or url("<prefix><encoded URL>").
	 */
	if (memchr(data, '"', len) == NULL && memchr(data, '\'', len) == NULL &&
	    memchr(data, '/', len) == NULL && memchr(data, '\\', len) == NULL &&
	    memchr(data, '\0', len) == NULL) {
		for (p = out; (p = strcasestr(p, "url(")) != NULL; p += 4) {
			if (p > out && (isalnum((unsigned char)p[-1]) || p[-1] == '-' || p[-1] == '_' ||
			    (unsigned char)p[-1] >= 0x80))
				continue;
			if (strncmp(p, "url(\"\")", 6) == 0 || strncasecmp(p, "url(\"data:", 10) == 0 ||
			    strncmp(p, "url(\"#", 6) == 0)
				continue;
			if (strncmp(p, "url(\"" PREFIX, 5 + sizeof(PREFIX) - 1) != 0)
				abort();
			q = p + 5 + sizeof(PREFIX) - 1;
			if (strspn(q, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%") !=
			    strcspn(q, "\"") || q[strcspn(q, "\"")] != '"')
				abort();
		}
	}
	free(out);
}

static void
check_store(const uint8_t *data, size_t len)
{
	struct cbstore	*s = cbstore_new(1, 1);
	struct cbdata	 d;
	struct sbuf	 want;
	unsigned char	*z, *back;
	size_t		 zlen, raw, i, part = 0;
	uLongf		 blen;
	char		 head[64];

	sbuf_init(&want);
	memset(&d, 0, sizeof(d));
	d.id = 1;
	d.parts = 4;
	/* Four parts of the input, as a batch. */
	for (i = 0; i < 4; i++) {
		d.part = (int64_t)i;
		d.data = (const char *)data + part;
		d.len = len / 4 + (i == 3 ? len % 4 : 0);
		part += d.len;
		(void)cbstore_add(s, &d, 0);
		(void)snprintf(head, sizeof(head), "1 %zu 4\t", i);
		sbuf_adds(&want, head);
		sbuf_add(&want, d.data, d.len);
		sbuf_addc(&want, '\n');
	}
	if ((z = cbstore_take(s, &zlen, &raw)) == NULL || raw != want.len)
		abort();
	blen = (uLongf)want.len + 1;
	back = malloc(blen);
	if (uncompress(back, &blen, z, zlen) != Z_OK || blen != want.len ||
	    memcmp(back, want.data, want.len) != 0)
		abort();
	free(back);
	sbuf_free(&want);
	cbstore_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	check_css(data, len);
	check_store(data, len);
	return (0);
}
