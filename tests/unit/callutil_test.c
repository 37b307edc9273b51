/* Unit tests for app/callutil.c: TURN REST credentials, byte ranges, recording paths. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "callutil.h"

static void
test_turn(void)
{
	const char	*secret = "north-branch-turn-secret";
	char		 user[CALL_TURN_USER_MAX], cred[CALL_TURN_CRED_MAX];
	int		 ok;

	/* Known answer, computed independently (Python hmac, openssl dgst -hmac). */
	ok = callutil_turn_credential((const unsigned char *)secret, strlen(secret), 1700000000,
	    "t1u42", user, sizeof(user), cred, sizeof(cred));
	CHECK(ok && strcmp(user, "1700000000:t1u42") == 0, "turn: username is expiry:id");
	CHECK(ok && strcmp(cred, "gg9IZAI/j5hffAI3lgx7249OFq8=") == 0,
	    "turn: credential is base64(HMAC-SHA1(secret, username)) (known answer)");
	ok = callutil_turn_credential((const unsigned char *)secret, strlen(secret), 1700000001,
	    "t1u42", user, sizeof(user), cred, sizeof(cred));
	CHECK(ok && strcmp(cred, "gg9IZAI/j5hffAI3lgx7249OFq8=") != 0, "turn: another expiry, another credential");
	CHECK(!callutil_turn_credential((const unsigned char *)secret, strlen(secret), 1700000000,
	    "t1:u42", user, sizeof(user), cred, sizeof(cred)), "turn: a colon in the id is refused");
	CHECK(!callutil_turn_credential((const unsigned char *)secret, strlen(secret), 1700000000,
	    "", user, sizeof(user), cred, sizeof(cred)), "turn: an empty id is refused");
	CHECK(!callutil_turn_credential((const unsigned char *)secret, 0, 1700000000,
	    "t1u42", user, sizeof(user), cred, sizeof(cred)), "turn: an empty secret is refused");
	CHECK(!callutil_turn_credential((const unsigned char *)secret, strlen(secret), 1700000000,
	    "t1u42", user, 10, cred, sizeof(cred)), "turn: a short username buffer is refused");
	CHECK(!callutil_turn_credential((const unsigned char *)secret, strlen(secret), 1700000000,
	    "t1u42", user, sizeof(user), cred, 20), "turn: a short credential buffer is refused");
}

static int
range(const char *h, int64_t size, int want, int64_t ws, int64_t we)
{
	int64_t	s, e;
	int	rc = callutil_range(h, size, &s, &e);

	if (rc != want)
		return (0);
	return (rc != CALL_RANGE_OK || (s == ws && e == we));
}

static void
test_range(void)
{
	CHECK(range(NULL, 1000, CALL_RANGE_NONE, 0, 0), "range: no header is the whole file");
	CHECK(range("bytes=0-", 1000, CALL_RANGE_OK, 0, 999), "range: bytes=0-");
	CHECK(range("bytes=100-199", 1000, CALL_RANGE_OK, 100, 199), "range: bytes=a-b");
	CHECK(range("bytes=900-5000", 1000, CALL_RANGE_OK, 900, 999), "range: end past the file is clipped");
	CHECK(range("bytes=-100", 1000, CALL_RANGE_OK, 900, 999), "range: suffix bytes=-n");
	CHECK(range("bytes=-5000", 1000, CALL_RANGE_OK, 0, 999), "range: suffix longer than the file");
	CHECK(range("bytes=999-999", 1000, CALL_RANGE_OK, 999, 999), "range: last byte");
	CHECK(range("bytes=1000-", 1000, CALL_RANGE_UNSAT, 0, 0), "range: start at the end is 416");
	CHECK(range("bytes=-0", 1000, CALL_RANGE_UNSAT, 0, 0), "range: empty suffix is 416");
	CHECK(range("bytes=0-", 0, CALL_RANGE_UNSAT, 0, 0), "range: empty file is 416");
	CHECK(range("bytes=200-100", 1000, CALL_RANGE_NONE, 0, 0), "range: reversed is ignored");
	CHECK(range("bytes=0-1,5-6", 1000, CALL_RANGE_NONE, 0, 0), "range: several ranges are ignored");
	CHECK(range("items=0-1", 1000, CALL_RANGE_NONE, 0, 0), "range: other units are ignored");
	CHECK(range("bytes=abc", 1000, CALL_RANGE_NONE, 0, 0), "range: garbage is ignored");
	CHECK(range("bytes=-", 1000, CALL_RANGE_NONE, 0, 0), "range: no numbers is ignored");
	CHECK(range("bytes=1234567890123456789-", 1000, CALL_RANGE_NONE, 0, 0),
	    "range: a 19-digit number is ignored");
}

static void
test_paths(void)
{
	CHECK(callutil_rec_path_valid("12/345/a.ogg"), "path: tenant/conversation/file");
	CHECK(callutil_rec_path_valid("7/call_1-customer.webm"), "path: letters, digits, _ . -");
	CHECK(!callutil_rec_path_valid("12/../etc/passwd"), "path: .. refused");
	CHECK(!callutil_rec_path_valid("12/.hidden"), "path: hidden segment refused");
	CHECK(!callutil_rec_path_valid("/12/a.ogg"), "path: absolute refused");
	CHECK(!callutil_rec_path_valid("12//a.ogg"), "path: empty segment refused");
	CHECK(!callutil_rec_path_valid("12"), "path: tenant alone refused");
	CHECK(!callutil_rec_path_valid("x/a.ogg"), "path: must start with the tenant number");
	CHECK(!callutil_rec_path_valid("12/a b.ogg"), "path: space refused");
	CHECK(!callutil_rec_path_valid("12/a.ogg/"), "path: trailing slash refused");
}

int
main(void)
{
	test_turn();
	test_range();
	test_paths();
	return (check_failed ? 1 : 0);
}
