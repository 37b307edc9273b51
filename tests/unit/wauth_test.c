/*
 * Unit tests for app/wauth.c with fixed vectors: JWS (RFC 8037 A.4 for
 * EdDSA, RFC 7515 A.1 for HS256), strict base64url, ALTCHA challenges
 * (vectors computed independently with Python's hashlib/hmac), contrast.
 */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "wauth.h"

#define ED_X	"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define ED_JWS	"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc." \
		"hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
#define HS_K	"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
#define HS_JWS	"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." \
		"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ." \
		"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

static void
test_b64url(void)
{
	unsigned char	out[64];
	size_t		n;

	CHECK(wa_b64url("eyJh", 4, out, sizeof(out), &n) && n == 3 && memcmp(out, "{\"a", 3) == 0,
	    "b64url: plain decode");
	CHECK(!wa_b64url("eyJh=", 5, out, sizeof(out), &n), "b64url: padding refused");
	CHECK(!wa_b64url("ey+h", 4, out, sizeof(out), &n), "b64url: standard alphabet refused");
	CHECK(!wa_b64url("eyJ", 3, out, sizeof(out), &n) || n == 2, "b64url: short tail");
	CHECK(!wa_b64url("QR", 2, out, sizeof(out), &n), "b64url: non-canonical trailing bits refused");
	CHECK(!wa_b64url("e", 1, out, sizeof(out), &n), "b64url: length 1 mod 4 refused");
	CHECK(!wa_b64url("eyJheyJh", 8, out, 5, &n), "b64url: longer than the room is refused before decoding");
	CHECK(!wa_b64url("ey\nh", 4, out, sizeof(out), &n), "b64url: whitespace refused");
}

static void
test_jws(void)
{
	struct wa_jws	j;
	unsigned char	pk[32], hk[64];
	char		tok[512];
	size_t		n, hn;

	CHECK(wa_b64url(ED_X, strlen(ED_X), pk, sizeof(pk), &n) && n == 32, "eddsa: RFC 8037 key decodes");
	CHECK(wa_jws_parse(ED_JWS, strlen(ED_JWS), &j) == WA_OK, "jws: RFC 8037 token parses");
	CHECK(strcmp(j.header, "{\"alg\":\"EdDSA\"}") == 0 && strcmp(j.payload, "Example of Ed25519 signing") == 0,
	    "jws: header and payload decoded");
	CHECK(wa_jws_verify(ED_JWS, &j, WA_ALG_EDDSA, pk, 32) == WA_OK, "eddsa: RFC 8037 signature verifies");
	CHECK(wa_jws_verify(ED_JWS, &j, WA_ALG_HS256, pk, 32) != WA_OK, "eddsa: the same token under HS256 fails");
	pk[0] ^= 1;
	CHECK(wa_jws_verify(ED_JWS, &j, WA_ALG_EDDSA, pk, 32) == WA_SIGNATURE, "eddsa: another key fails");
	pk[0] ^= 1;
	(void)strcpy(tok, ED_JWS);
	tok[22] = tok[22] == 'A' ? 'B' : 'A';	/* payload byte */
	CHECK(wa_jws_parse(tok, strlen(tok), &j) != WA_OK ||
	    wa_jws_verify(tok, &j, WA_ALG_EDDSA, pk, 32) == WA_SIGNATURE, "eddsa: altered payload fails");

	CHECK(wa_b64url(HS_K, strlen(HS_K), hk, sizeof(hk), &hn) && hn == 64, "hs256: RFC 7515 key decodes");
	CHECK(wa_jws_parse(HS_JWS, strlen(HS_JWS), &j) == WA_OK, "hs256: RFC 7515 token parses");
	CHECK(wa_jws_verify(HS_JWS, &j, WA_ALG_HS256, hk, hn) == WA_OK, "hs256: RFC 7515 signature verifies");
	hk[5] ^= 0x20;
	CHECK(wa_jws_verify(HS_JWS, &j, WA_ALG_HS256, hk, hn) == WA_SIGNATURE, "hs256: another secret fails");
	CHECK(wa_jws_verify(HS_JWS, &j, WA_ALG_EDDSA, hk, 32) == WA_SIGNATURE, "hs256: under EdDSA fails (no alg confusion)");

	CHECK(wa_jws_parse("a.b", 3, &j) == WA_MALFORMED, "jws: two parts refused");
	CHECK(wa_jws_parse("eyJh.eyJh.eyJh.eyJh", 19, &j) == WA_MALFORMED, "jws: four parts refused");
	CHECK(wa_jws_parse("eyJh..eyJh", 10, &j) == WA_MALFORMED, "jws: empty payload refused");
	CHECK(wa_jws_parse("eyJhbGciOiJub25lIn0.e30.", 24, &j) == WA_MALFORMED, "jws: empty signature (alg none) refused");
	CHECK(wa_jws_parse("eyJhbGciOiJFZERTQSJ9=.e30.AAAA", 30, &j) == WA_MALFORMED, "jws: padded part refused");
	memset(tok, 'A', sizeof(tok));
	tok[sizeof(tok) - 1] = '\0';
	tok[400] = '.';
	tok[410] = '.';
	CHECK(wa_jws_parse(tok, strlen(tok), &j) == WA_MALFORMED, "jws: oversized header refused");
	CHECK(wa_jws_parse("AA.AA.AA", 5, &j) == WA_MALFORMED, "jws: length must match the string");
}

static void
test_altcha(void)
{
	unsigned char		key[32];
	struct wa_challenge	c;
	int			i;

	for (i = 0; i < 32; i++)
		key[i] = (unsigned char)(i + 1);
	CHECK(wa_altcha_make_with(key, "00112233445566778899aabb", 4242, 2000000000, 7, &c),
	    "altcha: challenge made");
	CHECK(strcmp(c.salt, "00112233445566778899aabb?expires=2000000000&site=7&") == 0,
	    "altcha: salt carries expires and site");
	CHECK(strcmp(c.challenge, "69ce1f83605de7f7eda99e220bc886e4fe073dc1478f6682528447fd4bc62f94") == 0,
	    "altcha: challenge = sha256(salt + number)");
	CHECK(strcmp(c.signature, "378e8909fa7842c42dd6b3e889be129e01bf7f4ac28b47c463a9026d4aec5ded") == 0,
	    "altcha: signature = hmac-sha256(challenge)");
	CHECK(wa_altcha_check(key, "SHA-256", c.challenge, c.salt, 4242, c.signature, 7, 1900000000) == WA_OK,
	    "altcha: right answer verifies");
	CHECK(wa_altcha_check(key, "SHA-256", c.challenge, c.salt, 4243, c.signature, 7, 1900000000) == WA_WRONG,
	    "altcha: wrong number refused");
	CHECK(wa_altcha_check(key, "SHA-256", c.challenge, c.salt, 4242, c.signature, 7, 2000000001) == WA_EXPIRED,
	    "altcha: expired refused");
	CHECK(wa_altcha_check(key, "SHA-256", c.challenge, c.salt, 4242, c.signature, 8, 1900000000) == WA_FORGED,
	    "altcha: another site's challenge refused");
	key[0] ^= 1;
	CHECK(wa_altcha_check(key, "SHA-256", c.challenge, c.salt, 4242, c.signature, 7, 1900000000) == WA_FORGED,
	    "altcha: signature under another key is forged");
	key[0] ^= 1;
	CHECK(wa_altcha_check(key, "SHA-1", c.challenge, c.salt, 4242, c.signature, 7, 1900000000) == WA_MALFORMED,
	    "altcha: other algorithms refused");
	CHECK(wa_altcha_check(key, "SHA-256", c.challenge, "00?expires=2100000000&site=7&", 4242, c.signature, 7,
	    1900000000) == WA_WRONG, "altcha: salt swapped for a later expiry does not match the signed hash");
	CHECK(wa_altcha_check(key, "SHA-256", c.challenge, c.salt, -1, c.signature, 7, 1900000000) == WA_MALFORMED,
	    "altcha: negative number refused");
	CHECK(wa_altcha_make(key, 50000, 2000000000, 3, &c) && c.number <= 50000, "altcha: random answer in range");
	CHECK(!wa_altcha_make(key, 0, 2000000000, 3, &c), "altcha: zero complexity refused");
}

static void
test_contrast(void)
{
	CHECK(wa_contrast_white("#000000") > 20.9 && wa_contrast_white("#000000") < 21.1, "contrast: black is 21:1");
	CHECK(wa_contrast_white("#ffffff") > 0.99 && wa_contrast_white("#FFFFFF") < 1.01, "contrast: white is 1:1");
	CHECK(wa_contrast_white("#0b5cad") >= 4.5, "contrast: default blue passes");
	CHECK(wa_contrast_white("#767676") >= 4.5 && wa_contrast_white("#777777") < 4.5, "contrast: 4.5:1 boundary");
	CHECK(wa_contrast_white("#ffcc00") < 4.5, "contrast: yellow refused");
	CHECK(wa_contrast_white("#fff") < 0 && wa_contrast_white("0b5cad") < 0 && wa_contrast_white("#0b5cazz") < 0 &&
	    wa_contrast_white("#0b5ca") < 0, "contrast: only #rrggbb");
}

static void
test_ua(void)
{
	char		b[64];
	const char	*os, *dev;

	wa_ua("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
	    b, sizeof(b), &os, &dev);
	CHECK(strcmp(b, "Chrome 120") == 0 && strcmp(os, "Linux") == 0 && strcmp(dev, "desktop") == 0,
	    "ua: Chrome on Linux");
	wa_ua("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
	    b, sizeof(b), &os, &dev);
	CHECK(strcmp(b, "Edge 120") == 0 && strcmp(os, "Windows") == 0, "ua: Edge before Chrome");
	wa_ua("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
	    b, sizeof(b), &os, &dev);
	CHECK(strcmp(b, "Safari 17") == 0 && strcmp(os, "iOS") == 0 && strcmp(dev, "mobile") == 0,
	    "ua: Safari on an iPhone");
	wa_ua("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0 Safari/537.36",
	    b, sizeof(b), &os, &dev);
	CHECK(strcmp(os, "Android") == 0 && strcmp(dev, "tablet") == 0, "ua: Android without Mobile is a tablet");
	wa_ua("curl/8.0", b, sizeof(b), &os, &dev);
	CHECK(b[0] == '\0' && os == NULL && strcmp(dev, "desktop") == 0, "ua: unknown agents give nothing");
}

static void
test_subkey(void)
{
	unsigned char	m[32] = { 0 }, a[32], b[32];

	static const unsigned char want[4] = { 0x4c, 0xe6, 0x5a, 0x38 };	/* Python hmac */

	CHECK(wa_subkey(m, "altcha", a) && wa_subkey(m, "smtp", b) && memcmp(a, b, 32) != 0, "subkey: purposes differ");
	CHECK(wa_subkey(m, "altcha", b) && memcmp(a, b, 32) == 0, "subkey: deterministic");
	CHECK(memcmp(a, want, 4) == 0, "subkey: HMAC-SHA256(master, 'vb-key:altcha') vector");
	CHECK(!wa_subkey(m, "", b), "subkey: empty purpose refused");
}

int
main(void)
{
	if (sodium_init() < 0)
		return (1);
	test_b64url();
	test_jws();
	test_altcha();
	test_contrast();
	test_subkey();
	test_ua();
	return (check_failed != 0);
}
