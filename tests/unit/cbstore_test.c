/*
 * Unit tests for app/cbstore.c: a stored co-browse session's chunks
 * decompress to the parts as they came, in lines; the asset proxy's style
 * sheet rewriting sends every reference through the proxy and nothing else.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "check.h"
#include "cbstore.h"

static char *
inflate_all(const unsigned char *z, size_t zlen, size_t *outlen)
{
	z_stream	 s;
	char		*out;
	size_t		 cap = 1 << 20;
	int		 rc;

	memset(&s, 0, sizeof(s));
	out = malloc(cap);
	if (inflateInit(&s) != Z_OK)
		return (NULL);
	s.next_in = (Bytef *)(uintptr_t)z;
	s.avail_in = (uInt)zlen;
	s.next_out = (Bytef *)out;
	s.avail_out = (uInt)cap - 1;
	rc = inflate(&s, Z_FINISH);
	*outlen = s.total_out;
	inflateEnd(&s);
	if (rc != Z_STREAM_END) {
		free(out);
		return (NULL);
	}
	out[*outlen] = '\0';
	return (out);
}

static void
test_store(void)
{
	struct cbstore	*s = cbstore_new(7, 3);
	struct cbdata	 d = { "[{\"type\":2}]", 12, 5, 0, 1, 1 };
	unsigned char	*z;
	size_t		 zlen = 0, raw = 0, n;
	char		*text;

	CHECK(s != NULL && cbstore_session(s) == 7, "a store for session 7");
	CHECK(!cbstore_pending(s), "nothing pending at first");
	CHECK(cbstore_take(s, &zlen, &raw) == NULL, "nothing to take at first");
	CHECK(cbstore_add(s, &d, 1000) == 0, "a small part is not due at once");
	d.id = 6;
	d.parts = 2;
	d.data = "[{\"a\":";
	d.len = 6;
	(void)cbstore_add(s, &d, 1500);
	d.part = 1;
	d.data = "1}]";
	d.len = 3;
	CHECK(cbstore_add(s, &d, 1000 + CBSTORE_AGE_MS) == 1, "due when old enough");
	z = cbstore_take(s, &zlen, &raw);
	CHECK(z != NULL && zlen > 0, "a chunk");
	text = z ? inflate_all(z, zlen, &n) : NULL;
	CHECK(text != NULL && strcmp(text, "5 0 1\t[{\"type\":2}]\n6 0 2\t[{\"a\":\n6 1 2\t1}]\n") == 0,
	    "the chunk inflates to the parts, a line each");
	CHECK(text != NULL && raw == n, "raw counts the lines' bytes");
	free(text);
	CHECK(!cbstore_pending(s), "nothing pending after a take");

	/* A second chunk is a stream of its own. */
	d.id = 8;
	d.part = 0;
	d.parts = 1;
	d.data = "[]";
	d.len = 2;
	(void)cbstore_add(s, &d, 9000);
	z = cbstore_take(s, &zlen, &raw);
	text = z ? inflate_all(z, zlen, &n) : NULL;
	CHECK(text != NULL && strcmp(text, "8 0 1\t[]\n") == 0, "the next chunk stands alone");
	free(text);
	cbstore_free(s);
}

static void
test_size(void)
{
	struct cbstore	*s = cbstore_new(1, 1);
	struct cbdata	 d = { NULL, 60000, 1, 0, 1, 0 };
	char		*buf = malloc(60000);
	int		 due = 0, i;

	memset(buf, 'x', 60000);
	d.data = buf;
	for (i = 0; i < 20 && !due; i++)
		due = cbstore_add(s, &d, 1);
	/* Each line: "1 0 1\t", the data and "\n". */
	CHECK(due && i == (CBSTORE_CHUNK + 60006) / 60007, "due after CBSTORE_CHUNK raw bytes");
	cbstore_free(s);
	free(buf);
}

static void
test_css(void)
{
	static const struct {
		const char	*in, *out;
	} rows[] = {
		{ "h1{background:url(/logo.png)}",
		  "h1{background:url(\"/p?u=http%3A%2F%2Fh.test%2Flogo.png\")}" },
		{ "a{b:url( 'img/x.png' )}",
		  "a{b:url(\"/p?u=http%3A%2F%2Fh.test%2Fcss%2Fimg%2Fx.png\")}" },
		{ "a{b:URL(\"https://cdn.test/f.woff2?v=1#x\")}",
		  "a{b:url(\"/p?u=https%3A%2F%2Fcdn.test%2Ff.woff2%3Fv%3D1%23x\")}" },
		{ "@import \"../base.css\" screen;",
		  "@import url(\"/p?u=http%3A%2F%2Fh.test%2Fbase.css\") screen;" },
		{ "@import url(a.css);", "@import url(\"/p?u=http%3A%2F%2Fh.test%2Fcss%2Fa.css\");" },
		{ "a{filter:url(#blur)}", "a{filter:url(\"#blur\")}" },
		{ "a{b:url(data:image/png;base64,AAA=)}", "a{b:url(\"data:image/png;base64,AAA=\")}" },
		{ "a{b:url(javascript:alert(1))}", "a{b:url(\"\")" },
		{ "a{b:url(file:///etc/passwd)}", "a{b:url(\"\")}" },
		{ "a{b:url(\\31 x.png)}", "a{b:url(\"\")}" },
		{ "/* url(a.png) */ p{}", "/* url(a.png) */ p{}" },
		{ "p{content:\"url(a.png)\"}", "p{content:\"url(a.png)\"}" },
		{ "p{x:myurl(a)}", "p{x:myurl(a)}" },
		{ "p{x:url(\"a\" b)}", "p{x:url(\"\")" },
		{ "", "" },
	};
	size_t	 i, n;
	char	*out, name[300];

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		out = cbcss_rewrite(rows[i].in, strlen(rows[i].in), "http://h.test/css/site.css", "/p?u=", &n);
		(void)snprintf(name, sizeof(name), "css: %s", rows[i].in);
		CHECK(out != NULL && strcmp(out, rows[i].out) == 0 && n == strlen(out), name);
		if (out != NULL && strcmp(out, rows[i].out) != 0)
			printf("# got %s\n", out);
		free(out);
	}
}

int
main(void)
{
	test_store();
	test_size();
	test_css();
	return (check_failed != 0);
}
