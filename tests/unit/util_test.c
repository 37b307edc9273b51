/* Unit tests for app/util.c: validators of untrusted input, escaping, tokens, passwords. */
#include <stdint.h>
#include <string.h>

#include <zlib.h>

#include "check.h"
#include "util.h"

static void
test_utf8(void)
{
	CHECK(util_utf8_valid("héllo ☃ 😀", strlen("héllo ☃ 😀")), "utf8: valid multibyte accepted");
	CHECK(!util_utf8_valid("\xc0\xaf", 2), "utf8: overlong encoding refused");
	CHECK(!util_utf8_valid("\xed\xa0\x80", 3), "utf8: surrogate refused");
	CHECK(!util_utf8_valid("\xe2\x98", 2), "utf8: truncated sequence refused");
	CHECK(!util_utf8_valid("a\0b", 3), "utf8: embedded NUL refused");
	CHECK(!util_utf8_valid("\xf4\x90\x80\x80", 4), "utf8: above U+10FFFF refused");
	CHECK(util_utf8_chars("☃☃x") == 3, "utf8: counts characters, not bytes");
}

static void
test_validators(void)
{
	CHECK(util_email_valid("a.b@example.com"), "email: plain address");
	CHECK(!util_email_valid("a@b"), "email: domain needs a dot");
	CHECK(!util_email_valid("a b@example.com"), "email: no spaces");
	CHECK(!util_email_valid("a@b@example.com"), "email: one @");
	CHECK(util_origin_valid("https://bank.example"), "origin: https host");
	CHECK(util_origin_valid("http://localhost:3000"), "origin: host and port");
	CHECK(!util_origin_valid("https://bank.example/"), "origin: no path");
	CHECK(!util_origin_valid("javascript:alert(1)"), "origin: no other schemes");
	CHECK(!util_origin_valid("https://a.example:"), "origin: empty port refused");
	CHECK(util_slug_valid("demo-bank"), "slug: lower-case and hyphen");
	CHECK(!util_slug_valid("Demo"), "slug: upper case refused");
	CHECK(!util_slug_valid("-x"), "slug: must start alphanumeric");
	CHECK(util_perm_valid("users.read") && !util_perm_valid("users read"), "perm: code shape");
	CHECK(util_time_valid("2026-11-21") && util_time_valid("2026-11-21T10:00:00Z") &&
	    util_time_valid("2026-11-21T10:00:00.5+01:00"), "time: ISO forms accepted");
	CHECK(!util_time_valid("21/11/2026") && !util_time_valid("2026-11-21; DROP"), "time: others refused");
	CHECK(util_token_valid("abc-_XYZ09", 40) && !util_token_valid("a b", 40) &&
	    !util_token_valid("", 40), "token: url-safe characters only");
	CHECK(util_digits("123456", 6) && !util_digits("12345a", 6) && !util_digits("1234567", 6),
	    "digits: exact length of digits");
}

static void
test_path(void)
{
	int64_t	ids[4];
	int	n;

	CHECK(util_path_match("/api/users", "/api/users", ids, &n, 4) && n == 0, "path: literal");
	CHECK(util_path_match("/api/users/:id", "/api/users/42", ids, &n, 4) && n == 1 && ids[0] == 42,
	    "path: id captured");
	CHECK(!util_path_match("/api/users/:id", "/api/users/4x", ids, &n, 4), "path: id must be digits");
	CHECK(!util_path_match("/api/users/:id", "/api/users/1234567890123456789", ids, &n, 4),
	    "path: id longer than 18 digits refused");
	CHECK(!util_path_match("/api/users/:id", "/api/users/", ids, &n, 4), "path: empty id refused");
	CHECK(!util_path_match("/api/users", "/api/users/", ids, &n, 4), "path: trailing slash differs");
	CHECK(util_path_match("/static/*", "/static/admin/app.js", ids, &n, 4), "path: wildcard tail");
	CHECK(!util_path_match("/api/users/:id/disable", "/api/users/1/enable", ids, &n, 4),
	    "path: later segment must match");
}

static void
test_escaping(void)
{
	struct sbuf	b;

	sbuf_init(&b);
	sbuf_json_str(&b, "a\"b\\c\n<script>&\x01");
	CHECK(strcmp(b.data, "\"a\\\"b\\\\c\\n\\u003cscript\\u003e\\u0026\\u0001\"") == 0,
	    "json: quotes, backslash, control and HTML characters escaped");
	sbuf_reset(&b);
	sbuf_pg_elem(&b, "a\"b\\c,d}");
	CHECK(strcmp(b.data, "\"a\\\"b\\\\c,d}\"") == 0, "pg array element quoted and escaped");
	sbuf_reset(&b);
	sbuf_addf(&b, "%d-%s", 7, "x");
	CHECK(strcmp(b.data, "7-x") == 0 && b.len == 3, "sbuf: formatted append");
	sbuf_free(&b);
}

static void
test_tokens(void)
{
	char	a[80], b[80], pw[32], hash[256];
	int	i, ok = 1;

	util_random_token(a, 32);
	util_random_token(b, 32);
	CHECK(strlen(a) == 43 && util_token_valid(a, 60), "token: 256 bits as 43 base64url chars");
	CHECK(strcmp(a, b) != 0, "token: two draws differ");
	util_temp_password(pw, sizeof(pw));
	for (i = 0; i < 19; i++)
		if ((i % 5 == 4) != (pw[i] == '-'))
			ok = 0;
	CHECK(ok && strlen(pw) == 19, "temporary password: four groups of four");
	CHECK(util_ct_equal("abc", "abc") && !util_ct_equal("abc", "abd") &&
	    !util_ct_equal("abc", "ab") && !util_ct_equal("", ""), "constant-time compare");
	CHECK(pwd_hash("correct horse", hash, sizeof(hash)) && strncmp(hash, "$argon2id$", 10) == 0,
	    "password: argon2id hash");
	CHECK(pwd_verify(hash, "correct horse"), "password: right one verifies");
	CHECK(!pwd_verify(hash, "correct horsE"), "password: wrong one fails");
	CHECK(!pwd_verify("plain", "plain"), "password: non-argon2id hash never verifies");
	util_sha256_hex("abc", 3, a);
	CHECK(strcmp(a, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
	    "sha256 of 'abc'");
}

static void
test_loader(void)
{
	struct sbuf	 b, g;
	const char	*js = "/* head */\n\tvar a = 1;\n\t\t// why\n  if (a)\n\t\tb('//x');\n\n\t}";
	z_stream	 z;
	char		 out[128];

	sbuf_init(&b);
	util_js_squeeze(&b, js, strlen(js));
	CHECK(strcmp(b.data, "/* head */\nvar a = 1;\nif (a)\nb('//x');\n}\n") == 0,
	    "loader: indentation and comment lines go, code and newlines stay");
	sbuf_init(&g);
	CHECK(util_gzip(&g, b.data, b.len) && g.len > 18 && (unsigned char)g.data[0] == 0x1f &&
	    (unsigned char)g.data[1] == 0x8b, "loader: gzip member header");
	memset(&z, 0, sizeof(z));
	inflateInit2(&z, 15 + 16);
	z.next_in = (Bytef *)g.data;
	z.avail_in = (uInt)g.len;
	z.next_out = (Bytef *)out;
	z.avail_out = sizeof(out);
	CHECK(inflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out == b.len &&
	    memcmp(out, b.data, b.len) == 0, "loader: gzip round trip");
	inflateEnd(&z);
	sbuf_free(&b);
	sbuf_free(&g);
	CHECK(util_accepts_gzip("gzip, deflate, br") && util_accepts_gzip("br;q=1, GZIP;q=0.5"),
	    "accept-encoding: gzip listed");
	CHECK(!util_accepts_gzip("") && !util_accepts_gzip("br, deflate") && !util_accepts_gzip("gzipx") &&
	    !util_accepts_gzip("x-gzip2, identity"), "accept-encoding: gzip absent");
	CHECK(!util_accepts_gzip("gzip;q=0") && !util_accepts_gzip("gzip; q=0.000, br") &&
	    !util_accepts_gzip("*;q=1, gzip;q=0"), "accept-encoding: gzip refused with q=0");
	CHECK(util_accepts_gzip("*") && util_accepts_gzip("br, *;q=0.1") && !util_accepts_gzip("*;q=0"),
	    "accept-encoding: the wildcard");
}

int
main(void)
{
	if (!pwd_init())
		return (1);
	test_utf8();
	test_validators();
	test_path();
	test_escaping();
	test_tokens();
	test_loader();
	return (check_failed != 0);
}
