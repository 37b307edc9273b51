/*
 * Staff authentication: sessions, CSRF, permission gate, sign-in with
 * throttling, TOTP second factor, password change.
 *
 * Sessions: the cookie holds 256 random bits; PostgreSQL holds only their
 * SHA-256, so a leaked table cannot be replayed. Idle expiry 30 min, absolute
 * 12 h, both enforced in vb_session_get().
 *
 * Throttling (Redis): failed sign-ins are counted per account and per client
 * address in 15-minute windows; 5 per account or 30 per address lock further
 * attempts for the rest of the window (429 with Retry-After).
 */

#include <ctype.h>
#include <time.h>

#include <sodium.h>

#include "vb.h"
#include "queries.h"

#define SESSION_COOKIE	"vb_session"
#define CSRF_COOKIE	"vb_csrf"
#define SESSION_TTL	"12 hours"
#define SESSION_IDLE	"30 minutes"
#define SESSION_MAXAGE	(12 * 3600)
#define THROTTLE_WINDOW	900
#define THROTTLE_ACCT	5
#define THROTTLE_ADDR	30
#define TOTP_TRIES	5

#define AUTH_NEXT	2

static const char auth_fail_script[] =
    "local a = redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], ARGV[1]) "
    "local b = redis.call('INCR', KEYS[2]) redis.call('EXPIRE', KEYS[2], ARGV[1]) "
    "return {a, b}";

static const char auth_tries_script[] =
    "local a = redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], ARGV[1]) "
    "return a";

/* A hash that never matches, so unknown accounts cost the same time. */
static char	auth_dummy_hash[256];

static int
auth_is_safe_method(struct vbreq *r)
{
	return (r->req->method == HTTP_METHOD_GET || r->req->method == HTTP_METHOD_HEAD);
}

/* Unauthenticated: pages go to the sign-in page, APIs get 401. */
static int
auth_deny(struct vbreq *r, int status, const char *code, const char *msg,
    const char *page)
{
	if ((r->route->flags & RT_PAGE) && page != NULL)
		vb_redirect(r, page);
	else
		vb_error(r, status, code, msg);
	return (VB_DONE);
}

static int
auth_cookie(struct vbreq *r, const char *name, char **out)
{
	http_populate_cookies(r->req);
	if (!http_request_cookie(r->req, name, out))
		return (0);
	return (util_token_valid(*out, 60));
}

static void
auth_parse_perms(struct vbreq *r, const char *arr)
{
	char	*copy, *p, *tok;
	int	 n = 1;

	if (arr == NULL || arr[0] != '{')
		return;
	for (p = (char *)arr; *p != '\0'; p++)
		if (*p == ',')
			n++;
	r->sess.perms = kore_calloc(n, sizeof(char *));
	copy = kore_strdup(arr + 1);
	if ((p = strchr(copy, '}')) != NULL)
		*p = '\0';
	p = copy;
	while ((tok = strsep(&p, ",")) != NULL) {
		if (*tok != '\0' && r->sess.nperms < n)
			r->sess.perms[r->sess.nperms++] = kore_strdup(tok);
	}
	kore_free(copy);
}

/* bytea in PostgreSQL's hex text form (\x...) into binary. */
static size_t
auth_bytea(const char *s, unsigned char *out, size_t max)
{
	size_t	len = 0;

	if (s == NULL || strncmp(s, "\\x", 2) != 0)
		return (0);
	if (sodium_hex2bin(out, max, s + 2, strlen(s + 2), NULL, &len, NULL) != 0)
		return (0);
	return (len);
}

static int
auth_csrf_ok(struct vbreq *r)
{
	const char	*h;
	char		*cookie;

	if (auth_is_safe_method(r) || (r->route->flags & RT_NOCSRF))
		return (1);
	if (!http_request_header(r->req, "x-csrf-token", &h))
		return (0);
	if (r->sess.valid)
		return (util_ct_equal(h, r->sess.csrf));
	/* Before sign-in: double submit against the vb_csrf cookie. */
	if (!auth_cookie(r, CSRF_COOKIE, &cookie))
		return (0);
	return (util_ct_equal(h, cookie));
}

static int
auth_gate(struct vbreq *r)
{
	int	flags = r->route->flags;

	if (!r->sess.valid && !(flags & RT_PUBLIC))
		return (auth_deny(r, 401, "unauthenticated", "Please sign in", "/login"));
	if (!auth_csrf_ok(r)) {
		vb_error(r, 403, "csrf", "Missing or wrong CSRF token; reload the page");
		return (VB_DONE);
	}
	if (!r->sess.valid || (flags & (RT_PUBLIC | RT_HALFAUTH)))
		return (AUTH_NEXT);
	if (!r->sess.mfa_ok)
		return (auth_deny(r, 401, "mfa_required",
		    "Enter the code from your authenticator app", "/login"));
	if (r->sess.must_change)
		return (auth_deny(r, 403, "password_change_required",
		    "Choose a new password first", "/password"));
	if (r->route->perm != NULL && !vb_has_perm(r, r->route->perm)) {
		if (flags & RT_PAGE)
			return (page_forbidden(r));
		vb_error(r, 403, "forbidden", "You do not have permission for this");
		return (VB_DONE);
	}
	return (AUTH_NEXT);
}

static void
auth_fill(struct vbreq *r)
{
	struct db_job	*j = r->job;
	const char	*v;

	r->sess.valid = 1;
	r->sess.user_id = strtoll(db_value(j, 0, 0, 0), NULL, 10);
	r->sess.tenant_id = strtoll(db_value(j, 0, 0, 1), NULL, 10);
	kore_strlcpy(r->sess.csrf, db_value(j, 0, 0, 2), sizeof(r->sess.csrf));
	r->sess.mfa_ok = db_value(j, 0, 0, 3)[0] == 't';
	r->sess.must_change = db_value(j, 0, 0, 4)[0] == 't';
	auth_parse_perms(r, db_value(j, 0, 0, 5));
	if ((v = db_value(j, 0, 0, 6)) != NULL) {
		r->totp_len = auth_bytea(v, r->totp_secret, sizeof(r->totp_secret));
		r->sess.has_totp = r->totp_len > 0;
	}
}

/*
 * Runs before every handler: resolves the session cookie, then applies the
 * gate (CSRF, second factor, forced password change, permission).
 */
int
auth_session(struct vbreq *r)
{
	struct db_job	*j;
	char		*cookie;
	int		 rc;

	if (r->auth_step == 0) {
		if (!auth_cookie(r, SESSION_COOKIE, &cookie))
			return (auth_gate(r));
		util_sha256_hex(cookie, strlen(cookie), r->sess.hash_hex);
		j = vb_job(r);
		db_add(j, Q_SESSION_GET, 2, r->sess.hash_hex, SESSION_IDLE);
		rc = vb_db_submit(r, j, 0);
		r->auth_step = 1;
		return (rc);
	}
	if (vb_db_error(r))
		return (VB_DONE);
	if (db_rows(r->job, 0) == 1)
		auth_fill(r);
	else
		vb_set_cookie(r, SESSION_COOKIE, "", 0, 1);
	db_job_free(r->job);
	r->job = NULL;
	r->step = 0;
	return (auth_gate(r));
}

/* Sign-in ----------------------------------------------------------------- */

static int
auth_login_start(struct vbreq *r)
{
	const char	*email;
	char		 lower[256];
	size_t		 i;

	if (!vb_body_json(r))
		return (VB_DONE);
	if ((email = vb_str_field(r, "email", 3, 254)) == NULL ||
	    vb_str_field(r, "password", 1, 200) == NULL)
		return (VB_DONE);
	kore_strlcpy(lower, email, sizeof(lower));
	for (i = 0; lower[i] != '\0'; i++)
		lower[i] = (char)tolower((unsigned char)lower[i]);
	util_sha256_hex(lower, strlen(lower), r->login.email_key);
	return (vb_rds(r, 1, "MGET vb:lf:a:%s vb:lf:i:%s", r->login.email_key, r->addr));
}

static int
auth_login_lookup(struct vbreq *r)
{
	struct db_job	*j;

	if (!r->rres.ok) {
		vb_error(r, 503, "unavailable", "Sign-in is unavailable; try again shortly");
		return (VB_DONE);
	}
	if (r->rres.ints[0] >= THROTTLE_ACCT || r->rres.ints[1] >= THROTTLE_ADDR) {
		http_response_header(r->req, "retry-after", "900");
		vb_error(r, 429, "too_many_attempts",
		    "Too many failed sign-ins. Wait 15 minutes and try again.");
		return (VB_DONE);
	}
	j = vb_job(r);
	db_add(j, Q_LOGIN_LOOKUP, 1, vb_field(r, "email", 0)->data.string);
	return (vb_db_submit(r, j, 2));
}

static int
auth_login_check(struct vbreq *r)
{
	struct db_job	*j = r->job;
	const char	*pw = vb_field(r, "password", 0)->data.string;

	if (vb_db_error(r))
		return (VB_DONE);
	if (db_rows(j, 0) != 1) {
		/* Unknown account: verify anyway so it costs the same time. */
		r->login.uid = 0;
		return (pwtask_start(r, PWTASK_VERIFY, auth_dummy_hash, pw, 7));
	}
	r->login.uid = strtoll(db_value(j, 0, 0, 0), NULL, 10);
	r->login.disabled = strcmp(db_value(j, 0, 0, 3), "active") != 0;
	r->login.totp = db_value(j, 0, 0, 4)[0] == 't';
	r->login.must_change = db_value(j, 0, 0, 5)[0] == 't';
	return (pwtask_start(r, PWTASK_VERIFY, db_value(j, 0, 0, 2), pw, 7));
}

static int
auth_login_verified(struct vbreq *r)
{
	struct db_job	*j;
	int		 ok;

	if (!pwtask_result(r, &ok, NULL, 0))
		return (VB_WAIT);
	r->login.pw_ok = r->login.uid > 0 && ok;
	if (!r->login.pw_ok) {
		j = vb_job(r);
		db_add(j, Q_LOGIN_FAILED, 2, vb_field(r, "email", 0)->data.string,
		    "bad_password");
		return (vb_db_submit(r, j, 3));
	}
	if (r->login.disabled) {
		vb_error(r, 403, "account_disabled", "This account is disabled");
		return (VB_DONE);
	}
	return (vb_rds(r, 5, "DEL vb:lf:a:%s", r->login.email_key));
}

static int
auth_login_session(struct vbreq *r)
{
	struct db_job	*j;

	util_random_token(r->login.token, VB_ID_LEN);
	util_sha256_hex(r->login.token, strlen(r->login.token), r->login.hash);
	util_random_token(r->login.csrf, 32);
	(void)snprintf(r->scratch, sizeof(r->scratch), "%lld", (long long)r->login.uid);
	j = vb_job(r);
	db_add(j, Q_SESSION_CREATE, 6, r->scratch, r->login.hash, r->login.csrf,
	    r->login.totp ? "false" : "true", r->req->agent ? r->req->agent : "",
	    SESSION_TTL);
	return (vb_db_submit(r, j, 6));
}

int
auth_login(struct vbreq *r)
{
	char	body[96];

	switch (r->step) {
	case 0:
		return (auth_login_start(r));
	case 1:
		return (auth_login_lookup(r));
	case 2:
		return (auth_login_check(r));
	case 7:
		return (auth_login_verified(r));
	case 3:		/* failure recorded in the audit log; count it */
		if (vb_db_error(r))
			return (VB_DONE);
		return (vb_rds(r, 4, "EVAL %s 2 vb:lf:a:%s vb:lf:i:%s %d", auth_fail_script,
		    r->login.email_key, r->addr, THROTTLE_WINDOW));
	case 4:
		vb_error(r, 401, "invalid_credentials", "The e-mail address or password is wrong");
		return (VB_DONE);
	case 5:
		return (auth_login_session(r));
	case 6:
		if (vb_db_error(r))
			return (VB_DONE);
		vb_set_cookie(r, SESSION_COOKIE, r->login.token, SESSION_MAXAGE, 1);
		(void)snprintf(body, sizeof(body),
		    "{\"mfa_required\":%s,\"must_change_password\":%s}",
		    r->login.totp ? "true" : "false",
		    r->login.must_change ? "true" : "false");
		vb_json(r, 200, body, strlen(body));
		return (VB_DONE);
	}
	fatal("auth_login: step %d", r->step);
}

/* Second factor ------------------------------------------------------------ */

int
auth_totp(struct vbreq *r)
{
	struct db_job	*j;
	const char	*code, *v;
	char		 body[64], stepbuf[24];
	int64_t		 step;

	switch (r->step) {
	case 0:
		if (r->sess.mfa_ok) {
			vb_error(r, 409, "conflict", "This session needs no code");
			return (VB_DONE);
		}
		if (!vb_body_json(r) || (code = vb_str_field(r, "code", 6, 6)) == NULL)
			return (VB_DONE);
		if (!util_digits(code, 6)) {
			vb_error_field(r, 422, "invalid", "The code is six digits", "code");
			return (VB_DONE);
		}
		return (vb_rds(r, 1, "EVAL %s 1 vb:tf:%s %d", auth_tries_script,
		    r->sess.hash_hex, THROTTLE_WINDOW));
	case 1:
		if (!r->rres.ok) {
			vb_error(r, 503, "unavailable", "Sign-in is unavailable; try again shortly");
			return (VB_DONE);
		}
		if (r->rres.ints[0] > TOTP_TRIES) {
			http_response_header(r->req, "retry-after", "900");
			vb_error(r, 429, "too_many_attempts", "Too many wrong codes. Sign in again later.");
			return (VB_DONE);
		}
		code = vb_field(r, "code", 0)->data.string;
		step = r->sess.has_totp ? totp_verify(r->totp_secret, r->totp_len, code,
		    (int64_t)time(NULL)) : -1;
		if (step < 0) {
			vb_error(r, 401, "invalid_code", "The code is wrong or has expired");
			return (VB_DONE);
		}
		(void)snprintf(stepbuf, sizeof(stepbuf), "%lld", (long long)step);
		j = vb_job(r);
		db_add(j, Q_MFA_COMPLETE, 2, r->sess.hash_hex, stepbuf);
		return (vb_db_submit(r, j, 2));
	case 2:
		if (vb_db_error(r))
			return (VB_DONE);
		if ((v = db_value(r->job, 0, 0, 0)) == NULL || v[0] != 't') {
			vb_error(r, 401, "invalid_code", "This code was already used; wait for the next one");
			return (VB_DONE);
		}
		(void)snprintf(body, sizeof(body), "{\"must_change_password\":%s}",
		    r->sess.must_change ? "true" : "false");
		vb_json(r, 200, body, strlen(body));
		return (VB_DONE);
	}
	fatal("auth_totp: step %d", r->step);
}

int
auth_logout(struct vbreq *r)
{
	struct db_job	*j;

	if (r->step == 0) {
		j = vb_job(r);
		db_add(j, Q_AUDIT_EVENT, 1, "auth.logout");
		db_add(j, Q_SESSION_DELETE, 1, r->sess.hash_hex);
		return (vb_db_submit(r, j, 1));
	}
	if (vb_db_error(r))
		return (VB_DONE);
	vb_set_cookie(r, SESSION_COOKIE, "", 0, 1);
	vb_json(r, 204, NULL, 0);
	return (VB_DONE);
}

int
auth_me(struct vbreq *r)
{
	struct db_job	*j;
	const char	*v;

	if (r->step == 0) {
		j = vb_job(r);
		db_add(j, Q_ME, 1, r->sess.csrf);
		return (vb_db_submit(r, j, 1));
	}
	if (vb_db_error(r))
		return (VB_DONE);
	if ((v = db_value(r->job, 0, 0, 0)) == NULL) {
		vb_error(r, 404, "not_found", "No such user");
		return (VB_DONE);
	}
	vb_json(r, 200, v, strlen(v));
	return (VB_DONE);
}

/* Password and second-factor management ----------------------------------- */

/* Step 0 of the handlers below: load the user's hash and pending secret. */
static int
auth_load_secrets(struct vbreq *r)
{
	struct db_job	*j;

	j = vb_job(r);
	db_add(j, Q_PASSWORD_HASH_GET, 0);
	return (vb_db_submit(r, j, 1));
}

/* Step 1 of the same handlers: verify the password in field on a thread. */
static int
auth_check_password(struct vbreq *r, const char *field, int next)
{
	if (vb_db_error(r))
		return (VB_DONE);
	if (db_rows(r->job, 0) != 1) {
		vb_error(r, 404, "not_found", "No such user");
		return (VB_DONE);
	}
	return (pwtask_start(r, PWTASK_VERIFY, db_value(r->job, 0, 0, 0),
	    vb_field(r, field, 0)->data.string, next));
}

/*
 * At step next: VB_WAIT on an early wake-up, VB_DONE with the error sent
 * when the password was wrong, AUTH_NEXT when it was right.
 */
static int
auth_password_checked(struct vbreq *r, const char *field, const char *msg)
{
	int	ok;

	if (!pwtask_result(r, &ok, NULL, 0))
		return (VB_WAIT);
	if (!ok) {
		vb_error_field(r, 422, "invalid", msg, field);
		return (VB_DONE);
	}
	return (AUTH_NEXT);
}

int
auth_password(struct vbreq *r)
{
	struct db_job	*j;
	const char	*nw;
	char		 hash[256];
	int		 ok, rc;

	switch (r->step) {
	case 0:
		if (!vb_body_json(r) ||
		    vb_str_field(r, "current_password", 1, 200) == NULL ||
		    (nw = vb_str_field(r, "new_password", 12, 200)) == NULL)
			return (VB_DONE);
		if (strcmp(nw, vb_field(r, "current_password", 0)->data.string) == 0) {
			vb_error_field(r, 422, "invalid",
			    "The new password must differ from the current one", "new_password");
			return (VB_DONE);
		}
		return (auth_load_secrets(r));
	case 1:
		return (auth_check_password(r, "current_password", 3));
	case 3:
		if ((rc = auth_password_checked(r, "current_password",
		    "The current password is wrong")) != AUTH_NEXT)
			return (rc);
		return (pwtask_start(r, PWTASK_HASH, NULL,
		    vb_field(r, "new_password", 0)->data.string, 4));
	case 4:
		if (!pwtask_result(r, &ok, hash, sizeof(hash)))
			return (VB_WAIT);
		if (!ok)
			fatal("pwd_hash failed");
		j = vb_job(r);
		db_add(j, Q_PASSWORD_SET, 1, hash);
		db_add(j, "DELETE FROM sessions WHERE user_id = vb_actor() AND "
		    "id_hash <> decode($1, 'hex')", 1, r->sess.hash_hex);
		return (vb_db_submit(r, j, 2));
	case 2:
		if (vb_db_error(r))
			return (VB_DONE);
		vb_json(r, 204, NULL, 0);
		return (VB_DONE);
	}
	fatal("auth_password: step %d", r->step);
}

int
auth_totp_setup(struct vbreq *r)
{
	unsigned char	 secret[TOTP_SECRET_LEN];
	char		 hex[TOTP_SECRET_LEN * 2 + 1], b32[64];
	const char	*email;
	struct db_job	*j;
	struct sbuf	 uri, svg, b;

	if (r->step == 0) {
		totp_secret(secret);
		util_hex(secret, sizeof(secret), hex);
		j = vb_job(r);
		db_add(j, Q_TOTP_SET, 4, hex, NULL, NULL, NULL);
		db_add(j, "SELECT email FROM users WHERE id = vb_actor()", 0);
		kore_strlcpy(r->scratch, hex, sizeof(r->scratch));
		return (vb_db_submit(r, j, 1));
	}
	if (vb_db_error(r))
		return (VB_DONE);
	if ((email = db_value(r->job, 1, 0, 0)) == NULL) {
		vb_error(r, 404, "not_found", "No such user");
		return (VB_DONE);
	}
	(void)sodium_hex2bin(secret, sizeof(secret), r->scratch, strlen(r->scratch),
	    NULL, NULL, NULL);
	if (!totp_base32(secret, sizeof(secret), b32, sizeof(b32)))
		fatal("totp_base32 failed");
	sbuf_init(&uri);
	sbuf_init(&svg);
	sbuf_init(&b);
	sbuf_addf(&uri, "otpauth://totp/Virtual%%20Branch:%s?secret=%s&issuer=Virtual%%20Branch"
	    "&algorithm=SHA1&digits=6&period=30", email, b32);
	if (!totp_qr_svg(uri.data, &svg))
		fatal("qr encoding failed");
	sbuf_adds(&b, "{\"secret\":");
	sbuf_json_str(&b, b32);
	sbuf_adds(&b, ",\"otpauth_uri\":");
	sbuf_json_str(&b, uri.data);
	sbuf_adds(&b, ",\"qr_svg\":");
	sbuf_json_str(&b, svg.data);
	sbuf_addc(&b, '}');
	vb_json(r, 200, b.data, b.len);
	sbuf_free(&uri);
	sbuf_free(&svg);
	sbuf_free(&b);
	sodium_memzero(secret, sizeof(secret));
	return (VB_DONE);
}

int
auth_totp_enable(struct vbreq *r)
{
	unsigned char	 pending[64];
	size_t		 len;
	struct db_job	*j;
	const char	*v;
	char		 stepbuf[24];
	int64_t		 step;

	switch (r->step) {
	case 0:
		if (!vb_body_json(r) || vb_str_field(r, "code", 6, 6) == NULL)
			return (VB_DONE);
		return (auth_load_secrets(r));
	case 1:
		if (vb_db_error(r))
			return (VB_DONE);
		len = auth_bytea(db_value(r->job, 0, 0, 1), pending, sizeof(pending));
		if (len == 0) {
			vb_error(r, 409, "conflict", "Start the set-up first");
			return (VB_DONE);
		}
		step = totp_verify(pending, len, vb_field(r, "code", 0)->data.string,
		    (int64_t)time(NULL));
		if (step < 0) {
			vb_error_field(r, 422, "invalid_code", "The code is wrong or has expired",
			    "code");
			return (VB_DONE);
		}
		(void)snprintf(stepbuf, sizeof(stepbuf), "%lld", (long long)step);
		v = db_value(r->job, 0, 0, 1) + 2;
		j = vb_job(r);
		db_add(j, Q_TOTP_SET, 4, NULL, v, "true", stepbuf);
		return (vb_db_submit(r, j, 2));
	case 2:
		if (vb_db_error(r))
			return (VB_DONE);
		vb_json(r, 204, NULL, 0);
		return (VB_DONE);
	}
	fatal("auth_totp_enable: step %d", r->step);
}

int
auth_totp_disable(struct vbreq *r)
{
	struct db_job	*j;
	int		 rc;

	switch (r->step) {
	case 0:
		if (!vb_body_json(r) || vb_str_field(r, "password", 1, 200) == NULL)
			return (VB_DONE);
		return (auth_load_secrets(r));
	case 1:
		return (auth_check_password(r, "password", 3));
	case 3:
		if ((rc = auth_password_checked(r, "password", "The password is wrong")) !=
		    AUTH_NEXT)
			return (rc);
		j = vb_job(r);
		db_add(j, Q_TOTP_SET, 4, NULL, NULL, "false", NULL);
		return (vb_db_submit(r, j, 2));
	case 2:
		if (vb_db_error(r))
			return (VB_DONE);
		vb_json(r, 204, NULL, 0);
		return (VB_DONE);
	}
	fatal("auth_totp_disable: step %d", r->step);
}

static void
auth_sweep_done(struct db_job *j, void *arg)
{
	(void)arg;
	if (j->failed)
		vb_log(LOG_NOTICE, "session sweep: %s", j->errmsg);
	db_job_free(j);
}

/* Every five minutes, on the first worker only: drop expired sessions. */
static void
auth_sweep(void *arg, u_int64_t now)
{
	struct db_job	*j;

	(void)arg;
	(void)now;
	j = db_job_new();
	db_add(j, Q_SESSIONS_SWEEP, 1, SESSION_IDLE);
	if (!db_submit(j, auth_sweep_done, j))
		db_job_free(j);
}

void
auth_init(void)
{
	if (worker != NULL && worker->id == 1)
		(void)kore_timer_add(auth_sweep, 5 * 60 * 1000, NULL, 0);
	if (!pwd_hash("not a real password", auth_dummy_hash, sizeof(auth_dummy_hash)))
		fatal("auth_init: pwd_hash");
}
