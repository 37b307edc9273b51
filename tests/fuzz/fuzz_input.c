/*
 * libFuzzer harness for the validators and helpers that see untrusted bytes
 * first: UTF-8, e-mail, origin, slug, time, token checks, the route path
 * matcher and the JSON / PostgreSQL-array escapers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *patterns[] = {
	"/", "/api/users", "/api/users/:id", "/api/users/:id/disable",
	"/static/*", "/api/sites/:id/rotate-key",
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*s;
	struct sbuf	 b;
	int64_t		 ids[4];
	int		 n, valid;
	size_t		 i;

	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';

	valid = util_utf8_valid(s, strlen(s));
	(void)util_utf8_chars(s);
	(void)util_email_valid(s);
	(void)util_origin_valid(s);
	(void)util_slug_valid(s);
	(void)util_perm_valid(s);
	(void)util_time_valid(s);
	(void)util_token_valid(s, 40);
	(void)util_digits(s, 6);
	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		if (util_path_match(patterns[i], s, ids, &n, 4) && (n < 0 || n > 4))
			abort();
	}

	sbuf_init(&b);
	sbuf_json_str(&b, s);
	/* Escaped output never carries raw control characters or markup. */
	for (i = 0; i < b.len; i++) {
		if ((unsigned char)b.data[i] < 0x20 || b.data[i] == '<' || b.data[i] == '>')
			abort();
	}
	if (valid && b.len < strlen(s) + 2)
		abort();
	sbuf_reset(&b);
	sbuf_pg_elem(&b, s);
	if (b.len < 2 || b.data[0] != '"' || b.data[b.len - 1] != '"')
		abort();
	sbuf_free(&b);
	free(s);
	return (0);
}
