/*
 * libFuzzer harness for app/wauth.c, which sees customer-supplied bytes
 * before anything else: compact-JWS splitting and decoding, base64 of
 * ALTCHA payloads, ALTCHA salt parsing and checks, the contrast parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wauth.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char	key[WA_KEY_LEN] = { 1, 2, 3 };
	struct wa_jws			*j;
	unsigned char			 out[1024];
	char				*s;
	size_t				 n;

	if (sodium_init() < 0 || (s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	if ((j = malloc(sizeof(*j))) != NULL) {
		if (wa_jws_parse(s, strlen(s), j) == WA_OK) {
			(void)wa_jws_verify(s, j, WA_ALG_EDDSA, key, sizeof(key));
			(void)wa_jws_verify(s, j, WA_ALG_HS256, key, sizeof(key));
		}
		free(j);
	}
	(void)wa_b64(s, strlen(s), out, sizeof(out), &n);
	(void)wa_b64url(s, strlen(s), out, sizeof(out), &n);
	(void)wa_altcha_check(key, "SHA-256",
	    "0000000000000000000000000000000000000000000000000000000000000000", s, 1,
	    "0000000000000000000000000000000000000000000000000000000000000000", 1, 0);
	(void)wa_contrast_white(s);
	free(s);
	return (0);
}
