/* Unit tests for app/totp.c against RFC 6238's SHA-1 test vectors. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "util.h"

static const unsigned char key[] = "12345678901234567890";

/* RFC 6238 Appendix B (8 digits); we use the last 6. */
static const struct { int64_t t; const char *code; } vectors[] = {
	{ 59, "287082" }, { 1111111109, "081804" }, { 1111111111, "050471" },
	{ 1234567890, "005924" }, { 2000000000, "279037" }, { 20000000000LL, "353130" },
};

int
main(void)
{
	char		code[16], b32[64], name[64];
	struct sbuf	svg;
	size_t		i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		snprintf(name, sizeof(name), "rfc6238 vector at t=%lld", (long long)vectors[i].t);
		CHECK(totp_code(key, 20, vectors[i].t, code) && strcmp(code, vectors[i].code) == 0, name);
		CHECK(totp_verify(key, 20, vectors[i].code, vectors[i].t) == vectors[i].t / 30,
		    "verify accepts the vector and returns its time step");
	}
	CHECK(totp_verify(key, 20, "287082", 59 + 30) == 1, "one step of clock drift accepted, step reported");
	CHECK(totp_verify(key, 20, "287082", 59 + 90) == -1, "three steps late refused");
	CHECK(totp_verify(key, 20, "28708a", 59) == -1, "non-digits refused");
	CHECK(totp_verify(key, 20, "2870822", 59) == -1, "seven digits refused");
	CHECK(totp_base32(key, 20, b32, sizeof(b32)) &&
	    strcmp(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ") == 0, "base32 secret without padding");
	sbuf_init(&svg);
	CHECK(totp_qr_svg("otpauth://totp/x?secret=ABC", &svg) &&
	    strncmp(svg.data, "<svg xmlns=", 11) == 0 && strstr(svg.data, "</svg>") != NULL,
	    "QR code rendered as SVG");
	sbuf_free(&svg);
	return (check_failed != 0);
}
