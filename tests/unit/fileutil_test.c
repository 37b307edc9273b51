/* Unit tests for app/fileutil.c: upload names, type matching, site settings, encoders. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "fileutil.h"

static int
clean(const char *in, const char *want)
{
	char	out[1024];

	if (!fileutil_name_clean(in, strlen(in), out, sizeof(out)))
		return (want == NULL);
	return (want != NULL && strcmp(out, want) == 0);
}

static void
test_names(void)
{
	char	long_name[260];

	CHECK(clean("statement.pdf", "statement.pdf"), "name: plain name kept");
	CHECK(clean("  Übersicht März.pdf  ", "Übersicht März.pdf"), "name: UTF-8 kept, spaces trimmed");
	CHECK(clean("../etc/passwd", NULL), "name: slash refused");
	CHECK(clean("a\\b.txt", NULL), "name: backslash refused");
	CHECK(clean("a\x01" "b.txt", NULL), "name: control character refused");
	CHECK(clean("a\x7f" "b.txt", NULL), "name: DEL refused");
	CHECK(clean("a\xc2\x85" "b.txt", NULL), "name: C1 control refused");
	CHECK(clean("invoice\xe2\x80\xae" "fdp.exe", NULL), "name: right-to-left override refused");
	CHECK(clean("\xc3\x28.txt", NULL), "name: invalid UTF-8 refused");
	CHECK(clean("..", NULL) && clean(".", NULL) && clean("   ", NULL) && clean("", NULL),
	    "name: dots-only and empty refused");
	CHECK(!fileutil_name_clean("a\0b", 3, long_name, sizeof(long_name)), "name: NUL refused");
	memset(long_name, 'x', 200);
	long_name[200] = '\0';
	CHECK(clean(long_name, long_name), "name: 200 characters accepted");
	long_name[200] = 'x';
	long_name[201] = '\0';
	CHECK(clean(long_name, NULL), "name: 201 characters refused");
}

static int
match(const char *sniffed, const char *name, int want, const char *want_name,
    const char *want_type)
{
	char			 out[1024];
	const struct file_type	*t;
	int			 rc;

	rc = fileutil_match(sniffed, name, out, sizeof(out), &t);
	if (rc != want)
		return (0);
	if (rc != FILE_OK)
		return (t == NULL);
	return (strcmp(out, want_name) == 0 && strcmp(t->mime, want_type) == 0);
}

static void
test_match(void)
{
	CHECK(match("application/pdf", "a.pdf", FILE_OK, "a.pdf", "application/pdf"), "match: pdf");
	CHECK(match("image/jpeg", "a.JPEG", FILE_OK, "a.JPEG", "image/jpeg"), "match: extension case-blind");
	CHECK(match("text/html", "invoice.pdf", FILE_UNKNOWN_TYPE, NULL, NULL), "match: html refused");
	CHECK(match("image/svg+xml", "logo.png", FILE_UNKNOWN_TYPE, NULL, NULL), "match: svg refused");
	CHECK(match("application/x-dosexec", "photo.png", FILE_UNKNOWN_TYPE, NULL, NULL),
	    "match: exe refused");
	CHECK(match(NULL, "a.txt", FILE_UNKNOWN_TYPE, NULL, NULL), "match: no sniff result refused");
	CHECK(match("text/plain", "statement.pdf", FILE_MISMATCH, NULL, NULL),
	    "match: text named .pdf is a disguise");
	CHECK(match("image/png", "photo.jpg", FILE_MISMATCH, NULL, NULL), "match: png named .jpg");
	CHECK(match("image/png", "scan", FILE_OK, "scan.png", "image/png"), "match: missing extension added");
	CHECK(match("image/png", "photo.exe", FILE_OK, "photo.exe.png", "image/png"),
	    "match: unknown extension gets the real one appended");
	CHECK(match("text/plain", "rates.csv", FILE_OK, "rates.csv", "text/csv"), "match: text named .csv is CSV");
	CHECK(match("text/csv", "notes.txt", FILE_OK, "notes.txt", "text/plain"), "match: csv named .txt is text");
}

static void
test_settings(void)
{
	const char	*ok[] = { "application/pdf", "image/png" };
	const char	*bad[] = { "text/html" };
	const char	*dup[] = { "image/png", "image/png" };
	const char	*err = NULL;
	struct sbuf	 b;

	sbuf_init(&b);
	CHECK(fileutil_settings(1, 1024, ok, 2, &b, &err), "settings: valid accepted");
	sbuf_addc(&b, '\0');
	CHECK(strcmp(b.data, "{\"enabled\":true,\"max_bytes\":1024,\"types\":[\"application/pdf\","
	    "\"image/png\"]}") == 0, "settings: canonical JSON");
	sbuf_reset(&b);
	CHECK(!fileutil_settings(1, 0, ok, 2, &b, &err) && err != NULL, "settings: zero bytes refused");
	CHECK(!fileutil_settings(1, FILE_BYTES_MAX + 1, ok, 2, &b, &err), "settings: above 50 MiB refused");
	CHECK(fileutil_settings(0, FILE_BYTES_MAX, ok, 0, &b, &err), "settings: 50 MiB, no types, off");
	CHECK(!fileutil_settings(1, 10, bad, 1, &b, &err), "settings: unknown type refused");
	CHECK(!fileutil_settings(1, 10, dup, 2, &b, &err), "settings: duplicate type refused");
	sbuf_free(&b);
}

static void
test_encoders(void)
{
	struct sbuf	b;

	sbuf_init(&b);
	fileutil_disposition(&b, 0, "Übersicht \"Q3\" 100%.pdf");
	sbuf_addc(&b, '\0');
	CHECK(strcmp(b.data, "attachment; filename=\"_bersicht _Q3_ 100_.pdf\"; "
	    "filename*=UTF-8''%C3%9Cbersicht%20%22Q3%22%20100%25.pdf") == 0,
	    "disposition: ASCII fallback and RFC 5987 form");
	sbuf_reset(&b);
	fileutil_disposition(&b, 1, "a.png");
	sbuf_addc(&b, '\0');
	CHECK(strncmp(b.data, "inline; ", 8) == 0, "disposition: inline");
	sbuf_reset(&b);
	fileutil_html(&b, "<script>\"'&");
	sbuf_addc(&b, '\0');
	CHECK(strcmp(b.data, "&lt;script&gt;&quot;&#39;&amp;") == 0, "html: escaped");
	sbuf_reset(&b);
	fileutil_zip_name(&b, 7, "a:b?.pdf");
	sbuf_addc(&b, '\0');
	CHECK(strcmp(b.data, "files/7-a_b_.pdf") == 0, "zip name: id prefix, unsafe characters replaced");
	sbuf_reset(&b);
	fileutil_url_path(&b, "files/7-a b\"<.pdf");
	sbuf_addc(&b, '\0');
	CHECK(strcmp(b.data, "files/7-a%20b%22%3C.pdf") == 0, "url path: encoded");
	sbuf_free(&b);
}

int
main(void)
{
	test_names();
	test_match();
	test_settings();
	test_encoders();
	return (check_failed != 0);
}
