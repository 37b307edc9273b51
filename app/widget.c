/*
 * Widget customer authorisation (W3), per-site appearance (W1) and context
 * relay (W19): the HTTP side. The pure checks (JWS, ALTCHA, contrast) are in
 * wauth.c; this file parses JSON with Kore's parser, talks to PostgreSQL and
 * Redis, and answers.
 *
 * E-mail one-time codes: POST /api/widget/otp sends a 6-digit code through
 * the organisation's SMTP server (wmail.c, on a task thread); the session
 * request then carries {email, code}. PUT /api/smtp [sites.write] sets that
 * server; its password is sealed here (secretbox) and never answered.
 *
 * Public endpoints (the loader on a customer's page calls them; the page's
 * Origin must be on the site's allow-list, answers carry CORS for it):
 *   GET  /api/widget/config?site_key=     appearance and auth mode
 *   GET  /api/widget/challenge?site_key=  an ALTCHA challenge (captcha mode)
 *   POST /api/widget/session              starts a chat; proves the mode
 *   POST /api/widget/context              the customer moved to another page
 * Admin endpoints (sites.read / sites.write, audited in SQL):
 *   GET  /api/sites/:id/widget, PUT /api/sites/:id/appearance,
 *   PUT  /api/sites/:id/auth, POST /api/sites/:id/token-secret
 *
 * Keys: every worker and node must sign and check ALTCHA challenges with the
 * same key. It is derived (libsodium KDF) from a 32-byte master secret:
 * VB_SECRET_KEY (64 hex characters) when set, else the one kept in
 * PostgreSQL (server_secrets), created by the first worker that asks.
 * Single use: ALTCHA signatures and token jtis are remembered in Redis (SET
 * NX with a TTL up to their expiry); Redis down refuses rather than admits.
 */

#include <sys/stat.h>

#include <ctype.h>
#include <time.h>

#include <sodium.h>

#include "vb.h"
#include "wauth.h"
#include "queries.h"

#define WIDGET_CONTEXT_MAX	8192
#define WIDGET_PAGES_MAX	20
#define WIDGET_CHALLENGE_S	600
#define WIDGET_COMPLEXITY	100000
#define WIDGET_TOKEN_AHEAD	300	/* exp at most this far ahead */
#define WIDGET_SKEW		30	/* clock skew allowed for exp/iat */
#define WIDGET_SESSIONS_MIN	60	/* new chats per address per minute */

#define SUBKEY_ALTCHA		"altcha"

static unsigned char	widget_altcha_key[WA_KEY_LEN];
static unsigned char	widget_smtp_key[WA_KEY_LEN];	/* seals SMTP passwords */
static unsigned char	widget_otp_key[WA_KEY_LEN];	/* HMACs of one-time codes */
static int		widget_have_key;

static int	widget_session_open(struct vbreq *);
static int	widget_bad(struct vbreq *, const char *, const char *);

/* Keys ------------------------------------------------------------------------ */

static int
widget_key_set(const char *hex)
{
	unsigned char	master[WA_KEY_LEN];
	size_t		n;

	if (hex == NULL || strlen(hex) != 64 || sodium_hex2bin(master, sizeof(master),
	    hex, 64, NULL, &n, NULL) != 0 || n != sizeof(master))
		return (0);
	widget_have_key = wa_subkey(master, SUBKEY_ALTCHA, widget_altcha_key) &&
	    wa_subkey(master, "smtp", widget_smtp_key) && wa_subkey(master, "otp", widget_otp_key);
	sodium_memzero(master, sizeof(master));
	return (widget_have_key);
}

/*
 * 1 when the keys are ready. Otherwise 0 with *rc set: a job loading the
 * master secret is under way (the handler comes back at WIDGET_KEY_STEP) or
 * an error has been sent.
 */
static int
widget_key(struct vbreq *r, int *rc)
{
	unsigned char	offer[WA_KEY_LEN];
	char		hex[65];
	struct db_job	*j;

	if (widget_have_key)
		return (1);
	if (getenv("VB_SECRET_KEY") != NULL) {
		if (widget_key_set(getenv("VB_SECRET_KEY")))
			return (1);
		vb_log(LOG_ERR, "VB_SECRET_KEY must be 64 hexadecimal characters");
		vb_error(r, 500, "internal", "The server is misconfigured");
		*rc = VB_DONE;
		return (0);
	}
	randombytes_buf(offer, sizeof(offer));
	sodium_bin2hex(hex, sizeof(hex), offer, sizeof(offer));
	sodium_memzero(offer, sizeof(offer));
	j = vb_job(r);
	db_add(j, Q_SERVER_SECRET, 2, "master", hex);
	sodium_memzero(hex, sizeof(hex));
	*rc = vb_db_submit(r, j, WIDGET_KEY_STEP);
	return (0);
}

/* At WIDGET_KEY_STEP: 1 when the handler may start again from step 0. */
static int
widget_key_loaded(struct vbreq *r)
{
	if (vb_db_error(r))
		return (0);
	if (!widget_key_set(db_value(r->job, 0, 0, 0))) {
		vb_error(r, 500, "internal", "Something went wrong on our side");
		return (0);
	}
	r->step = 0;
	return (1);
}

/* For other modules (followmail.c): the same, for sealing SMTP passwords. */
int
widget_keys(struct vbreq *r, int *rc)
{
	return (widget_key(r, rc));
}

int
widget_keys_loaded(struct vbreq *r)
{
	return (widget_key_loaded(r));
}

/* JSON helpers ----------------------------------------------------------------- */

static struct kore_json_item *
widget_member(struct kore_json_item *obj, const char *name)
{
	struct kore_json_item	*it;

	if (obj == NULL || obj->type != KORE_JSON_TYPE_OBJECT)
		return (NULL);
	TAILQ_FOREACH(it, &obj->data.items, list)
		if (it->name != NULL && strcmp(it->name, name) == 0)
			return (it);
	return (NULL);
}

/* A string member of 1..max characters; absent or "" is NULL, *bad when not valid. */
static const char *
widget_str(struct kore_json_item *obj, const char *name, size_t max, int *bad)
{
	struct kore_json_item	*it = widget_member(obj, name);
	size_t			 n;

	if (it == NULL || (it->type == KORE_JSON_TYPE_LITERAL &&
	    it->data.literal == KORE_JSON_NULL))
		return (NULL);
	if (it->type != KORE_JSON_TYPE_STRING) {
		*bad = 1;
		return (NULL);
	}
	if (it->data.string[0] == '\0')
		return (NULL);
	n = util_utf8_chars(it->data.string);
	if (n > max || !util_utf8_valid(it->data.string, strlen(it->data.string))) {
		*bad = 1;
		return (NULL);
	}
	return (it->data.string);
}

/* An integer member; 0 when absent or not an integer. */
static int
widget_int(struct kore_json_item *obj, const char *name, int64_t *out)
{
	struct kore_json_item	*it = widget_member(obj, name);

	if (it == NULL)
		return (0);
	if (it->type == KORE_JSON_TYPE_INTEGER) {
		*out = it->data.s64;
		return (1);
	}
	if (it->type == KORE_JSON_TYPE_INTEGER_U64 && it->data.u64 <= INT64_MAX) {
		*out = (int64_t)it->data.u64;
		return (1);
	}
	if (it->type == KORE_JSON_TYPE_NUMBER && it->data.number > -9e15 &&
	    it->data.number < 9e15 && it->data.number == (double)(int64_t)it->data.number) {
		*out = (int64_t)it->data.number;
		return (1);
	}
	return (0);
}

static void
widget_kv(struct sbuf *b, int *n, const char *k, const char *v)
{
	if (v == NULL)
		return;
	sbuf_adds(b, (*n)++ ? "," : "");
	sbuf_json_str(b, k);
	sbuf_addc(b, ':');
	sbuf_json_str(b, v);
}

/* Origin and CORS ------------------------------------------------------------- */

static int
widget_origin(struct vbreq *r, const char **origin)
{
	if (!http_request_header(r->req, "origin", origin) || strlen(*origin) > 255 ||
	    !util_origin_valid(*origin)) {
		vb_error(r, 403, "origin_required", "A valid Origin header is required");
		return (0);
	}
	kore_strlcpy(r->cors_origin, *origin, sizeof(r->cors_origin));
	return (1);
}

static const char *
widget_site_key(struct vbreq *r, char *buf, size_t len)
{
	if (route_query(r, "site_key", buf, len) != 1 || !util_token_valid(buf, 64)) {
		vb_error_field(r, 404, "unknown_site", "Unknown site key", "site_key");
		return (NULL);
	}
	return (buf);
}

/* The site row (widget_site.sql) for a key and the page's origin. */
static int
widget_site_job(struct vbreq *r, const char *key, const char *origin, int next)
{
	struct db_job	*j;

	j = vb_job(r);
	db_add(j, Q_WIDGET_SITE, 2, key, origin);
	return (vb_db_submit(r, j, next));
}

#define SITE_ID		0
#define SITE_MODE	1
#define SITE_SECRET	2
#define SITE_ALG	3
#define SITE_PUBKEY	4
#define SITE_AUD	5
#define SITE_COMPLEXITY	6
#define SITE_PUBLIC	7

static const char *
widget_site_col(struct vbreq *r, int col)
{
	return (db_value(r->job, 0, 0, col));
}

/* GET /api/widget/config ------------------------------------------------------- */

/* What the loader and panel need to draw themselves; no secrets. */
int
widget_config(struct vbreq *r)
{
	const char	*origin, *key, *v;
	char		 buf[80];

	switch (r->step) {
	case 0:
		if (!widget_origin(r, &origin) || (key = widget_site_key(r, buf, sizeof(buf))) == NULL)
			return (VB_DONE);
		return (widget_site_job(r, key, origin, 1));
	case 1:
		if (vb_db_error(r))
			return (VB_DONE);
		if ((v = widget_site_col(r, SITE_PUBLIC)) == NULL) {
			vb_error(r, 404, "unknown_site", "Unknown site key");
			return (VB_DONE);
		}
		vb_json(r, 200, v, strlen(v));
		return (VB_DONE);
	}
	fatal("widget_config: step %d", r->step);
}

/* GET /api/widget/challenge ------------------------------------------------------ */

static uint64_t
widget_complexity(struct vbreq *r)
{
	const char	*v = widget_site_col(r, SITE_COMPLEXITY);
	long long	 n;

	if (v == NULL || strspn(v, "0123456789") != strlen(v) || strlen(v) > 9)
		return (WIDGET_COMPLEXITY);
	n = strtoll(v, NULL, 10);
	return (n >= 1000 && n <= 5000000 ? (uint64_t)n : WIDGET_COMPLEXITY);
}

int
widget_challenge(struct vbreq *r)
{
	struct wa_challenge	 c;
	const char		*origin, *key;
	char			 buf[80];
	struct sbuf		 b;
	uint64_t		 max;
	int			 rc;

	switch (r->step) {
	case WIDGET_KEY_STEP:
		if (!widget_key_loaded(r))
			return (VB_DONE);
		/* FALLTHROUGH */
	case 0:
		if (!widget_origin(r, &origin) || (key = widget_site_key(r, buf, sizeof(buf))) == NULL)
			return (VB_DONE);
		if (!widget_key(r, &rc))
			return (rc);
		return (widget_site_job(r, key, origin, 1));
	case 1:
		if (vb_db_error(r))
			return (VB_DONE);
		if (widget_site_col(r, SITE_MODE) == NULL ||
		    strcmp(widget_site_col(r, SITE_MODE), "captcha") != 0) {
			vb_error(r, 409, "captcha_not_used", "This site does not use the CAPTCHA");
			return (VB_DONE);
		}
		max = widget_complexity(r);
		if (!wa_altcha_make(widget_altcha_key, max, (int64_t)time(NULL) + WIDGET_CHALLENGE_S,
		    strtoll(widget_site_col(r, SITE_ID), NULL, 10), &c)) {
			vb_error(r, 500, "internal", "Something went wrong on our side");
			return (VB_DONE);
		}
		sbuf_init(&b);
		sbuf_addf(&b, "{\"algorithm\":\"SHA-256\",\"challenge\":\"%s\",\"maxnumber\":%llu,"
		    "\"salt\":", c.challenge, (unsigned long long)max);
		sbuf_json_str(&b, c.salt);
		sbuf_addf(&b, ",\"signature\":\"%s\"}", c.signature);
		vb_json(r, 200, b.data, b.len);
		sbuf_free(&b);
		sodium_memzero(&c, sizeof(c));
		return (VB_DONE);
	}
	fatal("widget_challenge: step %d", r->step);
}

/* Context (W19) ------------------------------------------------------------------ */

static int
widget_url_ok(const char *s)
{
	return (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0);
}

/* One {url, title, at} page; 0 when not valid. */
static int
widget_ctx_page(struct kore_json_item *p, struct sbuf *out)
{
	const char	*url, *title, *at;
	int		 bad = 0, n = 0;

	if (p == NULL || p->type != KORE_JSON_TYPE_OBJECT)
		return (0);
	url = widget_str(p, "url", 2000, &bad);
	title = widget_str(p, "title", 300, &bad);
	at = widget_str(p, "at", 40, &bad);
	if (bad || url == NULL || !widget_url_ok(url) || (at != NULL && !util_time_valid(at)))
		return (0);
	sbuf_addc(out, '{');
	widget_kv(out, &n, "url", url);
	widget_kv(out, &n, "title", title);
	widget_kv(out, &n, "at", at);
	sbuf_addc(out, '}');
	return (1);
}

static const char *widget_ctx_strings[][2] = {
	{ "device", "20" }, { "browser", "100" }, { "os", "100" }, { "language", "35" },
	{ "screen", "20" }, { "time_zone", "64" }, { "referrer", "2000" },
};

/*
 * The context a widget reports, re-serialised from known members only.
 * Returns 1, 0 (not valid: *why names the member) or -1 (over 8 KB).
 */
static int
widget_context_build(struct kore_json_item *ctx, const char *ua, struct sbuf *out,
    const char **why)
{
	struct kore_json_item	*pages, *e;
	const char		*v, *os, *device;
	char			 browser[64];
	size_t			 i;
	int			 bad = 0, n = 0, np = 0;

	*why = "context";
	if (ctx->type != KORE_JSON_TYPE_OBJECT)
		return (0);
	wa_ua(ua, browser, sizeof(browser), &os, &device);
	sbuf_addc(out, '{');
	for (i = 0; i < sizeof(widget_ctx_strings) / sizeof(widget_ctx_strings[0]); i++) {
		v = widget_str(ctx, widget_ctx_strings[i][0],
		    (size_t)atoi(widget_ctx_strings[i][1]), &bad);
		if (bad) {
			*why = widget_ctx_strings[i][0];
			return (0);
		}
		/* What the browser's User-Agent says, unless the client said. */
		if (v == NULL && i == 0)
			v = device;
		else if (v == NULL && i == 1 && browser[0] != '\0')
			v = browser;
		else if (v == NULL && i == 2)
			v = os;
		widget_kv(out, &n, widget_ctx_strings[i][0], v);
	}
	if ((e = widget_member(ctx, "page")) != NULL) {
		sbuf_adds(out, n++ ? ",\"page\":" : "\"page\":");
		if (!widget_ctx_page(e, out)) {
			*why = "page";
			return (0);
		}
	}
	if ((pages = widget_member(ctx, "pages")) != NULL) {
		if (pages->type != KORE_JSON_TYPE_ARRAY) {
			*why = "pages";
			return (0);
		}
		sbuf_adds(out, n++ ? ",\"pages\":[" : "\"pages\":[");
		TAILQ_FOREACH(e, &pages->data.items, list) {
			if (np++ >= WIDGET_PAGES_MAX)
				return (-1);
			if (np > 1)
				sbuf_addc(out, ',');
			if (!widget_ctx_page(e, out)) {
				*why = "pages";
				return (0);
			}
		}
		sbuf_addc(out, ']');
	}
	sbuf_addc(out, '}');
	return (out->len > WIDGET_CONTEXT_MAX ? -1 : 1);
}

/* The body's optional "context"; 0 with an error sent. */
static int
widget_context_field(struct vbreq *r, struct sbuf *out, int required)
{
	struct kore_json_item	*ctx = vb_field(r, "context", 0);
	const char		*why, *ua = NULL;
	char			 msg[96];
	int			 rc;

	if (ctx == NULL) {
		if (!required)
			return (1);
		vb_error_field(r, 422, "invalid", "context is required", "context");
		return (0);
	}
	(void)http_request_header(r->req, "user-agent", &ua);
	if ((rc = widget_context_build(ctx, ua, out, &why)) == -1) {
		vb_error_field(r, 413, "context_too_large",
		    "The context is larger than 8 KB or lists more than 20 pages", "context");
		return (0);
	}
	if (rc == 0) {
		(void)snprintf(msg, sizeof(msg), "context.%s is not valid", why);
		vb_error_field(r, 422, "invalid", msg, "context");
		return (0);
	}
	return (1);
}

/* POST /api/widget/context {token, conversation_id, context} */
int
widget_context(struct vbreq *r)
{
	const char		*origin, *tok;
	struct kore_json_item	*conv;
	int64_t			 id;
	char			 hash[65], cid[24];
	struct sbuf		 ctx;
	struct db_job		*j;

	switch (r->step) {
	case 0:
		if (!widget_origin(r, &origin) || !vb_body_json(r))
			return (VB_DONE);
		if ((tok = vb_str_field(r, "token", 16, 64)) == NULL)
			return (VB_DONE);
		if ((conv = vb_field(r, "conversation_id", 0)) == NULL ||
		    !widget_int(r->json.root, "conversation_id", &id) || id <= 0) {
			vb_error_field(r, 422, "invalid", "conversation_id is required",
			    "conversation_id");
			return (VB_DONE);
		}
		sbuf_init(&ctx);
		if (!widget_context_field(r, &ctx, 1)) {
			sbuf_free(&ctx);
			return (VB_DONE);
		}
		util_sha256_hex(tok, strlen(tok), hash);
		(void)snprintf(cid, sizeof(cid), "%lld", (long long)id);
		j = vb_job(r);
		db_add(j, Q_WIDGET_CONTEXT, 3, hash, cid, ctx.data);
		sbuf_free(&ctx);
		return (vb_db_submit(r, j, 1));
	case 1:
		if (vb_db_error(r))
			return (VB_DONE);
		vb_json(r, 200, db_value(r->job, 0, 0, 0), strlen(db_value(r->job, 0, 0, 0)));
		return (VB_DONE);
	}
	fatal("widget_context: step %d", r->step);
}

/* POST /api/widget/session --------------------------------------------------------- */

/*
 * Scratch use across steps: r->scratch_id = site id, r->ext = identity JSON
 * for vb_widget_session_open, r->scratch2 = the Redis key used once.
 */

/* captcha: the "altcha" field, base64 of the ALTCHA payload JSON. */
static int
widget_captcha(struct vbreq *r, int64_t site, int64_t *ttl)
{
	struct kore_json_item	*f = vb_field(r, "altcha", 0);
	struct kore_json	 json;
	unsigned char		 raw[1024];
	size_t			 n;
	int64_t			 number, now = (int64_t)time(NULL);
	int			 rc, bad = 0;
	const char		*alg, *ch, *salt, *sig, *p;

	if (f == NULL) {
		vb_error_field(r, 401, "captcha_required", "Solve the CAPTCHA first", "altcha");
		return (0);
	}
	if (f->type != KORE_JSON_TYPE_STRING || strlen(f->data.string) > 1360 ||
	    !wa_b64(f->data.string, strlen(f->data.string), raw, sizeof(raw) - 1, &n)) {
		vb_error_field(r, 422, "captcha_invalid", "The CAPTCHA solution is not valid", "altcha");
		return (0);
	}
	raw[n] = '\0';
	kore_json_init(&json, raw, n);
	rc = WA_MALFORMED;
	if (kore_json_parse(&json) && json.root != NULL &&
	    json.root->type == KORE_JSON_TYPE_OBJECT &&
	    widget_int(json.root, "number", &number)) {
		alg = widget_str(json.root, "algorithm", 16, &bad);
		ch = widget_str(json.root, "challenge", 64, &bad);
		salt = widget_str(json.root, "salt", WA_SALT_MAX, &bad);
		sig = widget_str(json.root, "signature", 64, &bad);
		if (!bad && ch != NULL && sig != NULL) {
			rc = wa_altcha_check(widget_altcha_key, alg, ch, salt, number, sig, site, now);
			if (rc == WA_OK) {
				p = strstr(salt, "expires=");
				*ttl = strtoll(p + 8, NULL, 10) - now + 1;
				(void)snprintf(r->scratch2, sizeof(r->scratch2), "vb:altcha:%s", sig);
			}
		}
	}
	kore_json_cleanup(&json);
	switch (rc) {
	case WA_OK:
		return (1);
	case WA_FORGED:
		vb_error_field(r, 403, "captcha_forged", "This CAPTCHA challenge was not issued by us", "altcha");
		break;
	case WA_EXPIRED:
		vb_error_field(r, 403, "captcha_expired", "The CAPTCHA expired; solve a new one", "altcha");
		break;
	case WA_WRONG:
		vb_error_field(r, 403, "captcha_wrong", "The CAPTCHA solution is wrong", "altcha");
		break;
	default:
		vb_error_field(r, 422, "captcha_invalid", "The CAPTCHA solution is not valid", "altcha");
	}
	return (0);
}

static void
widget_token_error(struct vbreq *r, int status, const char *code, const char *msg)
{
	vb_error_field(r, status, code, msg, "token");
}

/* The header names the site's algorithm exactly, and nothing we ignore. */
static int
widget_token_header(struct vbreq *r, const struct wa_jws *jws, const char *alg)
{
	struct kore_json	 json;
	struct kore_json_item	*it;
	const char		*a, *typ;
	int			 bad = 0, ok = 0;

	kore_json_init(&json, jws->header, jws->hlen);
	if (kore_json_parse(&json) && json.root != NULL &&
	    json.root->type == KORE_JSON_TYPE_OBJECT) {
		a = widget_str(json.root, "alg", 16, &bad);
		typ = widget_str(json.root, "typ", 16, &bad);
		it = widget_member(json.root, "crit");
		if (!bad && it == NULL && (typ == NULL || strcmp(typ, "JWT") == 0)) {
			ok = a != NULL && strcmp(a, alg) == 0 ? 1 : -1;
		}
	}
	kore_json_cleanup(&json);
	if (ok == -1)
		widget_token_error(r, 401, "token_alg_mismatch",
		    "The token's algorithm is not the one registered for this site");
	else if (ok == 0)
		widget_token_error(r, 401, "token_invalid", "The token's header is not valid");
	return (ok == 1);
}

static int
widget_token_key(struct vbreq *r, const char *alg, unsigned char *key, size_t *klen)
{
	const char	*v;

	if (strcmp(alg, "EdDSA") == 0) {
		v = widget_site_col(r, SITE_PUBKEY);
		return (v != NULL && wa_b64(v, strlen(v), key, 32, klen) && *klen == 32);
	}
	v = widget_site_col(r, SITE_SECRET);
	return (v != NULL && strlen(v) == 64 && sodium_hex2bin(key, 32, v, 64, NULL, klen,
	    NULL) == 0 && *klen == 32);
}

/* The claims: sub, name, email, vip, exp, iat, jti, aud. */
static int
widget_token_claims(struct vbreq *r, struct kore_json_item *c, int64_t *ttl)
{
	const char	*sub, *name, *email, *jti, *aud, *want;
	char		 hex[65];
	int64_t		 exp, iat, vip = 0, now = (int64_t)time(NULL);
	int		 bad = 0, n = 0;

	sub = widget_str(c, "sub", 200, &bad);
	name = widget_str(c, "name", 200, &bad);
	email = widget_str(c, "email", 254, &bad);
	jti = widget_str(c, "jti", 128, &bad);
	aud = widget_str(c, "aud", 200, &bad);
	if (bad || sub == NULL || jti == NULL || !util_token_valid(jti, 128) ||
	    (email != NULL && !util_email_valid(email)) ||
	    (widget_member(c, "vip") != NULL && (!widget_int(c, "vip", &vip) || vip < 0 || vip > 100)) ||
	    !widget_int(c, "exp", &exp) ||
	    (widget_member(c, "iat") != NULL && (!widget_int(c, "iat", &iat) || iat > now + WIDGET_SKEW))) {
		widget_token_error(r, 401, "token_invalid",
		    "The token's claims are not valid (sub, jti and exp are required)");
		return (0);
	}
	if (exp <= now - WIDGET_SKEW) {
		widget_token_error(r, 401, "token_expired", "The token has expired");
		return (0);
	}
	if (exp > now + WIDGET_TOKEN_AHEAD + WIDGET_SKEW) {
		widget_token_error(r, 401, "token_too_long",
		    "The token must expire within 5 minutes of its issue");
		return (0);
	}
	want = widget_site_col(r, SITE_AUD);
	if (aud == NULL || want == NULL || strcmp(aud, want) != 0) {
		widget_token_error(r, 401, "token_audience", "The token is not for this site");
		return (0);
	}
	*ttl = exp - now + WIDGET_SKEW + 1;
	/* Hashed: any 128-character jti fits the key, and two never share one. */
	util_sha256_hex(jti, strlen(jti), hex);
	(void)snprintf(r->scratch2, sizeof(r->scratch2), "vb:jti:%lld:%s",
	    (long long)r->scratch_id, hex);
	sbuf_adds(&r->ext, "{\"mode\":\"token\"");
	n = 1;
	widget_kv(&r->ext, &n, "external_id", sub);
	widget_kv(&r->ext, &n, "name", name);
	widget_kv(&r->ext, &n, "email", email);
	sbuf_addf(&r->ext, ",\"importance\":%lld}", (long long)vip);
	return (1);
}

/* token: a compact JWS from the host site's backend. */
static int
widget_token(struct vbreq *r, int64_t *ttl)
{
	struct kore_json_item	*f = vb_field(r, "token", 0);
	struct wa_jws		*jws;
	struct kore_json	 json;
	unsigned char		 key[32];
	size_t			 klen = 0;
	const char		*alg = widget_site_col(r, SITE_ALG);
	int			 ok = 0;

	if (f == NULL) {
		widget_token_error(r, 401, "token_required", "This site signs its customers in with a token");
		return (0);
	}
	if (alg == NULL || (strcmp(alg, "EdDSA") != 0 && strcmp(alg, "HS256") != 0) ||
	    !widget_token_key(r, alg, key, &klen)) {
		vb_error(r, 503, "site_misconfigured", "This site's token settings are incomplete");
		return (0);
	}
	if (f->type != KORE_JSON_TYPE_STRING || strlen(f->data.string) > WA_JWS_MAX) {
		widget_token_error(r, 401, "token_invalid", "The token is not a compact JWS");
		return (0);
	}
	jws = kore_calloc(1, sizeof(*jws));
	if (wa_jws_parse(f->data.string, strlen(f->data.string), jws) != WA_OK) {
		widget_token_error(r, 401, "token_invalid", "The token is not a compact JWS");
		goto out;
	}
	if (!widget_token_header(r, jws, alg))
		goto out;
	if (wa_jws_verify(f->data.string, jws, strcmp(alg, "EdDSA") == 0 ? WA_ALG_EDDSA :
	    WA_ALG_HS256, key, klen) != WA_OK) {
		widget_token_error(r, 401, "token_signature", "The token's signature is not valid");
		goto out;
	}
	kore_json_init(&json, jws->payload, jws->plen);
	if (!kore_json_parse(&json) || json.root == NULL ||
	    json.root->type != KORE_JSON_TYPE_OBJECT)
		widget_token_error(r, 401, "token_invalid", "The token's claims are not a JSON object");
	else
		ok = widget_token_claims(r, json.root, ttl);
	kore_json_cleanup(&json);
out:
	sodium_memzero(key, sizeof(key));
	kore_free(jws);
	return (ok);
}

/* E-mail one-time codes ---------------------------------------------------------- */

#define WIDGET_OTP_TTL		600
#define WIDGET_OTP_PER_ADDR	20	/* codes asked from one address in 10 min */
#define WIDGET_OTP_SENT		"{\"sent\":true,\"expires_in\":600}"

/* The body's "email", lower-cased into buf; 0 with an error sent. */
static int
widget_email(struct vbreq *r, char *buf, size_t len)
{
	const char	*e;
	size_t		 i;

	if ((e = vb_str_field(r, "email", 3, 254)) == NULL)
		return (0);
	if (!util_email_valid(e) || strlen(e) >= len) {
		vb_error_field(r, 422, "invalid", "Enter a valid e-mail address", "email");
		return (0);
	}
	for (i = 0; e[i] != '\0'; i++) {
		if ((unsigned char)e[i] < 0x21 || e[i] == '<' || e[i] == '>') {
			vb_error_field(r, 422, "invalid", "Enter a valid e-mail address", "email");
			return (0);
		}
		buf[i] = (char)tolower((unsigned char)e[i]);
	}
	buf[i] = '\0';
	return (1);
}

/* HMAC(otp key, "site:email:code"): a leaked table does not give codes. */
static void
widget_otp_hash(int64_t site, const char *email, const char *code, char *hex)
{
	struct sbuf	b;

	sbuf_init(&b);
	sbuf_addf(&b, "%lld:%s:%s", (long long)site, email, code);
	wa_hmac_hex(widget_otp_key, b.data, b.len, hex);
	sbuf_free(&b);
}

/* Session step 2 in email_otp mode: {email, code} checked in SQL (step 5). */
static int
widget_otp_check(struct vbreq *r)
{
	struct kore_json_item	*f = vb_field(r, "code", 0);
	char			 hash[65], site[24];
	struct db_job		*j;

	if (vb_field(r, "email", 0) == NULL || f == NULL) {
		vb_error_field(r, 401, "otp_required", "Enter the code we e-mailed you", "code");
		return (VB_DONE);
	}
	if (!widget_email(r, r->scratch, sizeof(r->scratch)))
		return (VB_DONE);
	if (f->type != KORE_JSON_TYPE_STRING || !util_digits(f->data.string, 6)) {
		vb_error_field(r, 422, "invalid", "The code is 6 digits", "code");
		return (VB_DONE);
	}
	widget_otp_hash(r->scratch_id, r->scratch, f->data.string, hash);
	(void)snprintf(site, sizeof(site), "%lld", (long long)r->scratch_id);
	j = vb_job(r);
	db_add(j, Q_WIDGET_OTP_CHECK, 3, site, r->scratch, hash);
	return (vb_db_submit(r, j, 5));
}

static int
widget_otp_checked(struct vbreq *r)
{
	const char	*v;
	int		 n = 1;

	if (vb_db_error(r))
		return (VB_DONE);
	v = db_value(r->job, 0, 0, 0);
	if (v != NULL && strcmp(v, "ok") == 0) {
		sbuf_reset(&r->ext);
		sbuf_adds(&r->ext, "{\"mode\":\"email_otp\"");
		widget_kv(&r->ext, &n, "email", r->scratch);
		sbuf_addc(&r->ext, '}');
		return (widget_session_open(r));
	}
	if (v != NULL && strcmp(v, "wrong") == 0)
		vb_error_field(r, 401, "otp_wrong", "That code is not right; check the e-mail", "code");
	else if (v != NULL && strcmp(v, "too_many") == 0)
		vb_error_field(r, 429, "otp_too_many_attempts",
		    "Too many wrong codes; ask for a new one", "code");
	else if (v != NULL && strcmp(v, "expired") == 0)
		vb_error_field(r, 401, "otp_expired", "The code has expired; ask for a new one", "code");
	else
		vb_error_field(r, 401, "otp_invalid", "There is no code to check; ask for a new one", "code");
	return (VB_DONE);
}

/* The mail with the code; the site's name only in the body, on one line. */
static void
widget_otp_message(struct sbuf *m, const char *from, const char *to, const char *site,
    const char *code)
{
	char		 date[64], id[24];
	time_t		 now = time(NULL);
	struct tm	 tm;
	size_t		 i;

	(void)gmtime_r(&now, &tm);
	(void)strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	util_random_token(id, 12);
	sbuf_addf(m, "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\nMessage-ID: <%s@virtual-branch>\r\n"
	    "Subject: Your chat code: %s\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
	    "Your code to start a chat", date, from, to, id, code);
	if (site != NULL && *site != '\0') {
		sbuf_adds(m, " on ");
		for (i = 0; site[i] != '\0' && i < 200; i++)
			sbuf_addc(m, (unsigned char)site[i] < 0x20 ? ' ' : site[i]);
	}
	sbuf_addf(m, " is:\r\n\r\n    %s\r\n\r\nIt is valid for 10 minutes. If you did not ask for it, "
	    "you can ignore this e-mail.\r\n", code);
}

/*
 * The organisation's SMTP settings as answered by SQL (host, port,
 * starttls, username, password: the sealed one in hex, from, site_name)
 * into *s, the password unsealed. 0 when they cannot be read (the master
 * secret changed?): logged, nothing kept. widget_smtp_clear() wipes *s.
 * Needs the keys (widget_keys()).
 */
int
widget_smtp_open(struct vbreq *r, const char *json, struct widget_smtp *s)
{
	struct kore_json	 js;
	struct kore_json_item	*root, *tls;
	const char		*host, *user, *sealed, *from, *site;
	unsigned char		 box[600];
	size_t			 blen = 0;
	int64_t			 port = 0;
	int			 bad = 0;

	memset(s, 0, sizeof(*s));
	if (json == NULL)
		return (0);
	kore_json_init(&js, json, strlen(json));
	if (!kore_json_parse(&js) || (root = js.root) == NULL) {
		kore_json_cleanup(&js);
		return (0);
	}
	host = widget_str(root, "host", 253, &bad);
	user = widget_str(root, "username", 254, &bad);
	sealed = widget_str(root, "password", 1200, &bad);
	from = widget_str(root, "from", 254, &bad);
	site = widget_str(root, "site_name", 200, &bad);
	tls = widget_member(root, "starttls");
	s->starttls = tls != NULL && tls->type == KORE_JSON_TYPE_LITERAL &&
	    tls->data.literal == KORE_JSON_TRUE;
	if (sealed != NULL && (sodium_hex2bin(box, sizeof(box), sealed, strlen(sealed), NULL,
	    &blen, NULL) != 0 || blen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES ||
	    blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES >= sizeof(s->pass) ||
	    crypto_secretbox_open_easy((unsigned char *)s->pass, box + crypto_secretbox_NONCEBYTES,
	    blen - crypto_secretbox_NONCEBYTES, box, widget_smtp_key) != 0))
		bad = 1;
	else if (sealed != NULL)
		s->pass[blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES] = '\0';
	sodium_memzero(box, sizeof(box));
	if (bad || host == NULL || from == NULL || !widget_int(root, "port", &port) ||
	    port < 1 || port > 65535) {
		kore_json_cleanup(&js);
		widget_smtp_clear(s);
		vb_log(LOG_ERR, "req %s: smtp settings unreadable (secret changed?)", r->reqid);
		return (0);
	}
	s->port = (int)port;
	kore_strlcpy(s->host, host, sizeof(s->host));
	kore_strlcpy(s->user, user ? user : "", sizeof(s->user));
	kore_strlcpy(s->from, from, sizeof(s->from));
	kore_strlcpy(s->site, site ? site : "", sizeof(s->site));
	kore_json_cleanup(&js);
	return (1);
}

void
widget_smtp_clear(struct widget_smtp *s)
{
	sodium_memzero(s, sizeof(*s));
}

/* Step 3 of widget_otp: the code is stored; send it. */
static int
widget_otp_send(struct vbreq *r)
{
	struct widget_smtp	 s;
	int			 rc;
	struct sbuf		 msg;

	if (vb_db_error(r))
		return (VB_DONE);
	if (!widget_smtp_open(r, db_value(r->job, 0, 0, 0), &s)) {
		vb_error(r, 503, "mail_not_configured", "E-mail codes are not available for this site");
		return (VB_DONE);
	}
	sbuf_init(&msg);
	widget_otp_message(&msg, s.from, r->scratch, s.site, r->scratch2);
	rc = wmail_start(r, s.host, s.port, s.starttls, s.user[0] ? s.user : NULL, s.pass,
	    s.from, r->scratch, &msg, 4);
	sbuf_free(&msg);
	widget_smtp_clear(&s);
	return (rc);
}

/*
 * POST /api/widget/otp {site_key, email}: a new 6-digit code by e-mail.
 * Steps: 0 validates and counts the address, 1 reads the site, 2 stores the
 * code's HMAC, 3 sends it (task thread), 4 answers.
 */
int
widget_otp(struct vbreq *r)
{
	const char	*origin, *key;
	char		 hash[65], site[24], err[256];
	struct db_job	*j;
	int		 rc, ok;

	switch (r->step) {
	case WIDGET_KEY_STEP:
		if (!widget_key_loaded(r))
			return (VB_DONE);
		/* FALLTHROUGH */
	case 0:
		if (!widget_origin(r, &origin) || !vb_body_json(r) ||
		    (key = vb_str_field(r, "site_key", 4, 64)) == NULL)
			return (VB_DONE);
		if (!util_token_valid(key, 64)) {
			vb_error_field(r, 404, "unknown_site", "Unknown site key", "site_key");
			return (VB_DONE);
		}
		if (!widget_email(r, r->scratch, sizeof(r->scratch)))
			return (VB_DONE);
		if (!widget_key(r, &rc))
			return (rc);
		return (vb_rds(r, 1, "EVAL %s 1 vb:otp:%s %d",
		    "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n",
		    r->addr, WIDGET_OTP_TTL));
	case 1:
		if (!r->rres.ok) {
			vb_error(r, 503, "unavailable", "Chat is unavailable; try again shortly");
			return (VB_DONE);
		}
		if (r->rres.ints[0] > WIDGET_OTP_PER_ADDR) {
			http_response_header(r->req, "retry-after", "600");
			vb_error(r, 429, "too_many_attempts", "Too many codes asked from this address");
			return (VB_DONE);
		}
		(void)http_request_header(r->req, "origin", &origin);
		return (widget_site_job(r, vb_field(r, "site_key", 0)->data.string, origin, 2));
	case 2:
		if (vb_db_error(r))
			return (VB_DONE);
		if (widget_site_col(r, SITE_MODE) == NULL ||
		    strcmp(widget_site_col(r, SITE_MODE), "email_otp") != 0) {
			vb_error(r, 409, "otp_not_used", "This site does not use e-mail codes");
			return (VB_DONE);
		}
		r->scratch_id = strtoll(widget_site_col(r, SITE_ID), NULL, 10);
		(void)snprintf(r->scratch2, sizeof(r->scratch2), "%06u",
		    (unsigned)randombytes_uniform(1000000));
		widget_otp_hash(r->scratch_id, r->scratch, r->scratch2, hash);
		(void)snprintf(site, sizeof(site), "%lld", (long long)r->scratch_id);
		j = vb_job(r);
		db_add(j, Q_WIDGET_OTP_CREATE, 3, site, r->scratch, hash);
		return (vb_db_submit(r, j, 3));
	case 3:
		return (widget_otp_send(r));
	case 4:
		if (!wmail_result(r, &ok, err, sizeof(err)))
			return (VB_WAIT);
		sodium_memzero(r->scratch2, sizeof(r->scratch2));
		if (!ok) {
			vb_log(LOG_NOTICE, "req %s: otp mail not sent: %s", r->reqid, err);
			vb_error(r, 502, "mail_failed", "We could not send the code; try again in a moment");
			return (VB_DONE);
		}
		vb_json(r, 202, WIDGET_OTP_SENT, sizeof(WIDGET_OTP_SENT) - 1);
		return (VB_DONE);
	}
	fatal("widget_otp: step %d", r->step);
}

/* PUT /api/smtp {host, port, starttls, username?, password?, from_address} */
int
widget_smtp_save(struct vbreq *r)
{
	struct kore_json_item	*tls, *pwi;
	const char		*host, *user, *from, *v;
	unsigned char		 box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 256];
	char			 hex[sizeof(box) * 2 + 1], port[8];
	int64_t			 p;
	size_t			 n;
	int			 bad = 0, rc;
	struct db_job		*j;
	struct sbuf		 b;

	switch (r->step) {
	case WIDGET_KEY_STEP:
		if (!widget_key_loaded(r))
			return (VB_DONE);
		/* FALLTHROUGH */
	case 0:
		if (!vb_body_json(r))
			return (VB_DONE);
		host = widget_str(r->json.root, "host", 253, &bad);
		if (bad || host == NULL || strspn(host, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != strlen(host))
			return (widget_bad(r, "host", "host is a host name or address"));
		if (!widget_int(r->json.root, "port", &p) || p < 1 || p > 65535)
			return (widget_bad(r, "port", "port is 1 to 65535"));
		tls = widget_member(r->json.root, "starttls");
		if (tls != NULL && tls->type != KORE_JSON_TYPE_LITERAL)
			return (widget_bad(r, "starttls", "starttls is true or false"));
		user = widget_str(r->json.root, "username", 254, &bad);
		if (bad)
			return (widget_bad(r, "username", "username is up to 254 characters"));
		from = widget_str(r->json.root, "from_address", 254, &bad);
		if (bad || from == NULL || !util_email_valid(from))
			return (widget_bad(r, "from_address", "from_address is an e-mail address"));
		pwi = vb_field(r, "password", 0);
		if (pwi != NULL && (pwi->type != KORE_JSON_TYPE_STRING || strlen(pwi->data.string) > 256))
			return (widget_bad(r, "password", "password is up to 256 characters"));
		if (!widget_key(r, &rc))
			return (rc);
		hex[0] = '\0';
		if (pwi != NULL && pwi->data.string[0] != '\0') {
			n = strlen(pwi->data.string);
			randombytes_buf(box, crypto_secretbox_NONCEBYTES);
			crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES,
			    (const unsigned char *)pwi->data.string, n, box, widget_smtp_key);
			sodium_bin2hex(hex, sizeof(hex), box,
			    crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n);
			sodium_memzero(box, sizeof(box));
		}
		(void)snprintf(port, sizeof(port), "%lld", (long long)p);
		j = vb_job(r);
		db_add(j, Q_SMTP_SAVE, 6, host, port,
		    tls == NULL || tls->data.literal == KORE_JSON_TRUE ? "true" : "false", user,
		    pwi == NULL ? NULL : hex, from);
		sodium_memzero(hex, sizeof(hex));
		return (vb_db_submit(r, j, 1));
	case 1:
		if (vb_db_error(r))
			return (VB_DONE);
		v = db_value(r->job, 0, 0, 0);
		sbuf_init(&b);
		sbuf_adds(&b, "{\"smtp\":");
		sbuf_adds(&b, v ? v : "{}");
		sbuf_addc(&b, '}');
		vb_json(r, 200, b.data, b.len);
		sbuf_free(&b);
		return (VB_DONE);
	}
	fatal("widget_smtp_save: step %d", r->step);
}

/* Starts the session once the mode is satisfied. */
static int
widget_session_open(struct vbreq *r)
{
	struct kore_json_item	*corr = vb_field(r, "correlation_id", 0);
	const char		*origin;
	char			 hash[65], site[24];
	struct sbuf		 ctx;
	struct db_job		*j;

	(void)http_request_header(r->req, "origin", &origin);
	sbuf_init(&ctx);
	if (!widget_context_field(r, &ctx, 0)) {
		sbuf_free(&ctx);
		return (VB_DONE);
	}
	util_random_token(r->login.token, VB_ID_LEN);
	util_sha256_hex(r->login.token, strlen(r->login.token), hash);
	(void)snprintf(site, sizeof(site), "%lld", (long long)r->scratch_id);
	j = vb_job(r);
	db_add(j, Q_WIDGET_SESSION_OPEN, 6, site, origin, hash,
	    corr ? corr->data.string : NULL, r->ext.data, ctx.len ? ctx.data : NULL);
	/* The site's subjects and whether they are open (W4). */
	db_add(j, Q_WIDGET_ROUTING, 1, vb_field(r, "site_key", 0)->data.string);
	sbuf_free(&ctx);
	return (vb_db_submit(r, j, 4));
}

/* Step 2: the site is known; prove its mode. */
static int
widget_session_mode(struct vbreq *r)
{
	const char	*mode = widget_site_col(r, SITE_MODE);
	int64_t		 ttl = 0;

	r->scratch_id = strtoll(widget_site_col(r, SITE_ID), NULL, 10);
	sbuf_reset(&r->ext);
	if (mode == NULL || strcmp(mode, "anonymous") == 0) {
		sbuf_adds(&r->ext, "{\"mode\":\"anonymous\"}");
		return (widget_session_open(r));
	}
	if (strcmp(mode, "captcha") == 0) {
		if (!widget_captcha(r, r->scratch_id, &ttl))
			return (VB_DONE);
		sbuf_adds(&r->ext, "{\"mode\":\"captcha\"}");
	} else if (strcmp(mode, "token") == 0) {
		if (!widget_token(r, &ttl))
			return (VB_DONE);
	} else if (strcmp(mode, "email_otp") == 0) {
		return (widget_otp_check(r));
	} else {
		vb_error(r, 503, "site_misconfigured", "This site's sign-in mode is not available");
		return (VB_DONE);
	}
	/* Single use: the first request to claim it wins, on any node. */
	return (vb_rds(r, 3, "EVAL %s 1 %s %lld",
	    "return redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) and 1 or 0",
	    r->scratch2, (long long)(ttl > 0 ? ttl : 1)));
}

/*
 * POST /api/widget/session {site_key, correlation_id?, context?, altcha? |
 * token?}. Steps: 0 validates and counts the address (Redis), 1 reads the
 * site, 2 checks its mode, 3 claims the single-use proof, 4 answers.
 */
int
widget_session(struct vbreq *r)
{
	struct kore_json_item	*corr;
	const char		*origin, *key, *res, *rt;
	struct sbuf		 b;
	int			 rc;

	switch (r->step) {
	case WIDGET_KEY_STEP:
		if (!widget_key_loaded(r))
			return (VB_DONE);
		/* FALLTHROUGH */
	case 0:
		if (!widget_origin(r, &origin))
			return (VB_DONE);
		if (!vb_body_json(r) || (key = vb_str_field(r, "site_key", 4, 64)) == NULL)
			return (VB_DONE);
		if (!util_token_valid(key, 64)) {
			vb_error_field(r, 404, "unknown_site", "Unknown site key", "site_key");
			return (VB_DONE);
		}
		corr = vb_field(r, "correlation_id", 0);
		if (corr != NULL && (corr->type != KORE_JSON_TYPE_STRING ||
		    strlen(corr->data.string) != 36 ||
		    strspn(corr->data.string, "0123456789abcdef-") != 36)) {
			vb_error_field(r, 422, "invalid", "correlation_id must be a UUID",
			    "correlation_id");
			return (VB_DONE);
		}
		/* A bad context is refused before any single-use proof is spent. */
		sbuf_init(&b);
		rc = widget_context_field(r, &b, 0);
		sbuf_free(&b);
		if (!rc)
			return (VB_DONE);
		if (!widget_key(r, &rc))
			return (rc);
		/*
		 * A fixed window from the first new chat: renewing the expiry on
		 * every attempt would lock a busy address (an office behind one
		 * NAT) out for as long as it keeps trying.
		 */
		return (vb_rds(r, 1, "EVAL %s 1 vb:wsess:%s 60",
		    "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n",
		    r->addr));
	case 1:
		if (!r->rres.ok) {
			vb_error(r, 503, "unavailable", "Chat is unavailable; try again shortly");
			return (VB_DONE);
		}
		if (r->rres.ints[0] > WIDGET_SESSIONS_MIN) {
			http_response_header(r->req, "retry-after", "60");
			vb_error(r, 429, "too_many_attempts", "Too many new chats from this address");
			return (VB_DONE);
		}
		(void)http_request_header(r->req, "origin", &origin);
		return (widget_site_job(r, vb_field(r, "site_key", 0)->data.string, origin, 2));
	case 2:
		if (vb_db_error(r))
			return (VB_DONE);
		if (widget_site_col(r, SITE_ID) == NULL) {
			vb_error(r, 404, "unknown_site", "Unknown site key");
			return (VB_DONE);
		}
		return (widget_session_mode(r));
	case 3:
		if (!r->rres.ok) {
			vb_error(r, 503, "unavailable", "Chat is unavailable; try again shortly");
			return (VB_DONE);
		}
		if (r->rres.ints[0] != 1) {
			if (strncmp(r->scratch2, "vb:jti:", 7) == 0)
				widget_token_error(r, 401, "token_replayed", "This token has been used already");
			else
				vb_error_field(r, 403, "captcha_reused",
				    "This CAPTCHA solution has been used already", "altcha");
			return (VB_DONE);
		}
		return (widget_session_open(r));
	case 5:
		return (widget_otp_checked(r));
	case 4:
		if (vb_db_error(r))
			return (VB_DONE);
		if ((res = db_value(r->job, 0, 0, 0)) == NULL || res[0] != '{') {
			vb_error(r, 500, "internal", "Something went wrong on our side");
			return (VB_DONE);
		}
		sbuf_init(&b);
		sbuf_adds(&b, "{\"token\":");
		sbuf_json_str(&b, r->login.token);
		sbuf_addc(&b, ',');
		if ((rt = db_value(r->job, 1, 0, 0)) != NULL && rt[0] == '{' &&
		    strlen(rt) > 2) {
			sbuf_add(&b, rt + 1, strlen(rt) - 2);
			sbuf_addc(&b, ',');
		}
		sbuf_adds(&b, res + 1);
		vb_json(r, 201, b.data, b.len);
		sbuf_free(&b);
		return (VB_DONE);
	}
	fatal("widget_session: step %d", r->step);
}

/* Admin: appearance ---------------------------------------------------------------- */

static int
widget_logo_ok(const char *s)
{
	size_t	i;

	if (strncmp(s, "https://", 8) != 0 && (s[0] != '/' || s[1] == '/' || s[1] == '\\'))
		return (0);
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || strchr("\"'<>\\`", s[i]) != NULL)
			return (0);
	return (1);
}

/* A language we have strings for: static/i18n/<lang>.js. */
static int
widget_language_ok(const char *s)
{
	char		path[512];
	struct stat	st;

	if (strlen(s) > 12 || strspn(s, "abcdefghijklmnopqrstuvwxyz-") != strlen(s) || s[0] == '-')
		return (0);
	(void)snprintf(path, sizeof(path), "%s/static/i18n/%s.js", vb_root(), s);
	return (stat(path, &st) == 0 && S_ISREG(st.st_mode));
}

static int
widget_bad(struct vbreq *r, const char *field, const char *msg)
{
	vb_error_field(r, 422, "invalid", msg, field);
	return (VB_DONE);
}

static int
widget_save(struct vbreq *r, const char *q, struct sbuf *b)
{
	struct db_job	*j;
	char		 id[24];

	(void)snprintf(id, sizeof(id), "%lld", (long long)r->path_id[0]);
	j = vb_job(r);
	db_add(j, q, 2, id, b->data);
	sbuf_free(b);
	return (vb_db_submit(r, j, 1));
}

static int
widget_answer(struct vbreq *r)
{
	const char	*v;

	if (vb_db_error(r))
		return (VB_DONE);
	if ((v = db_value(r->job, 0, 0, 0)) == NULL) {
		vb_error(r, 404, "not_found", "No such site");
		return (VB_DONE);
	}
	vb_json(r, 200, v, strlen(v));
	return (VB_DONE);
}

/* PUT /api/sites/:id/appearance {position, colour, logo_url, language, greeting} */
int
widget_appearance(struct vbreq *r)
{
	const char	*pos, *colour, *logo, *lang, *greet;
	char		 hex[8], msg[160];
	double		 ratio;
	struct sbuf	 b;
	int		 bad = 0, n = 0, i;

	if (r->step == 1)
		return (widget_answer(r));
	if (!vb_body_json(r))
		return (VB_DONE);
	pos = widget_str(r->json.root, "position", 5, &bad);
	if (bad || (pos != NULL && strcmp(pos, "right") != 0 && strcmp(pos, "left") != 0))
		return (widget_bad(r, "position", "position is right or left"));
	colour = widget_str(r->json.root, "colour", 7, &bad);
	if (colour != NULL) {
		if ((ratio = wa_contrast_white(colour)) < 0)
			return (widget_bad(r, "colour", "colour is a #rrggbb value"));
		if (ratio < 4.5) {
			(void)snprintf(msg, sizeof(msg), "White text on %s has a contrast of %.2f:1; "
			    "choose a darker colour (at least 4.5:1)", colour, ratio);
			vb_error_field(r, 422, "low_contrast", msg, "colour");
			return (VB_DONE);
		}
		for (i = 0; i < 7; i++)
			hex[i] = (char)tolower((unsigned char)colour[i]);
		hex[7] = '\0';
	} else if (bad) {
		return (widget_bad(r, "colour", "colour is a #rrggbb value"));
	}
	logo = widget_str(r->json.root, "logo_url", 500, &bad);
	if (bad || (logo != NULL && !widget_logo_ok(logo)))
		return (widget_bad(r, "logo_url",
		    "logo_url is an https:// address or a path on this server starting with /"));
	lang = widget_str(r->json.root, "language", 12, &bad);
	if (bad || (lang != NULL && !widget_language_ok(lang)))
		return (widget_bad(r, "language", "language is not one we have translations for"));
	greet = widget_str(r->json.root, "greeting", 300, &bad);
	if (bad)
		return (widget_bad(r, "greeting", "greeting is 1 to 300 characters"));
	sbuf_init(&b);
	sbuf_addc(&b, '{');
	widget_kv(&b, &n, "position", pos);
	widget_kv(&b, &n, "colour", colour ? hex : NULL);
	widget_kv(&b, &n, "logo_url", logo);
	widget_kv(&b, &n, "language", lang);
	widget_kv(&b, &n, "greeting", greet);
	sbuf_addc(&b, '}');
	return (widget_save(r, Q_SITE_APPEARANCE_SAVE, &b));
}

/* PUT /api/sites/:id/auth {mode, alg, public_key, audience, complexity} */
int
widget_auth(struct vbreq *r)
{
	static const char	*modes[] = { "anonymous", "captcha", "email_otp", "token" };
	const char		*mode, *alg, *pk, *aud;
	unsigned char		 raw[40];
	char			 std[64];
	size_t			 n, i;
	int64_t			 cx = 0;
	struct sbuf		 b;
	int			 bad = 0, k = 0;

	if (r->step == 1)
		return (widget_answer(r));
	if (!vb_body_json(r))
		return (VB_DONE);
	mode = widget_str(r->json.root, "mode", 20, &bad);
	for (i = 0; mode != NULL && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mode, modes[i]) == 0)
			break;
	if (bad || mode == NULL || i == sizeof(modes) / sizeof(modes[0]))
		return (widget_bad(r, "mode", "mode is anonymous, captcha, email_otp or token"));
	alg = widget_str(r->json.root, "alg", 10, &bad);
	if (bad || (alg != NULL && strcmp(alg, "EdDSA") != 0 && strcmp(alg, "HS256") != 0))
		return (widget_bad(r, "alg", "alg is EdDSA or HS256"));
	pk = widget_str(r->json.root, "public_key", 64, &bad);
	std[0] = '\0';
	if (pk != NULL) {
		/* Base64 or base64url (a JWK's "x"), stored as base64. */
		if (!(wa_b64(pk, strlen(pk), raw, sizeof(raw), &n) && n == 32) &&
		    !(wa_b64url(pk, strlen(pk), raw, sizeof(raw), &n) && n == 32))
			return (widget_bad(r, "public_key",
			    "public_key is a raw 32-byte Ed25519 key in base64"));
		sodium_bin2base64(std, sizeof(std), raw, 32, sodium_base64_VARIANT_ORIGINAL);
	} else if (bad) {
		return (widget_bad(r, "public_key", "public_key is a raw 32-byte Ed25519 key in base64"));
	}
	aud = widget_str(r->json.root, "audience", 200, &bad);
	if (bad)
		return (widget_bad(r, "audience", "audience is 1 to 200 characters"));
	if (widget_member(r->json.root, "complexity") != NULL &&
	    (!widget_int(r->json.root, "complexity", &cx) || cx < 1000 || cx > 5000000))
		return (widget_bad(r, "complexity", "complexity is 1,000 to 5,000,000"));
	if (strcmp(mode, "token") == 0 && alg == NULL)
		alg = "EdDSA";
	if (strcmp(mode, "token") == 0 && strcmp(alg, "EdDSA") == 0 && std[0] == '\0')
		return (widget_bad(r, "public_key", "Token mode with EdDSA needs the site's public key"));
	sbuf_init(&b);
	sbuf_addc(&b, '{');
	widget_kv(&b, &k, "mode", mode);
	widget_kv(&b, &k, "alg", alg);
	widget_kv(&b, &k, "public_key", std[0] ? std : NULL);
	widget_kv(&b, &k, "audience", aud);
	if (cx > 0)
		sbuf_addf(&b, ",\"complexity\":%lld", (long long)cx);
	sbuf_addc(&b, '}');
	return (widget_save(r, Q_SITE_AUTH_SAVE, &b));
}

/*
 * POST /api/sites/:id/token-secret: a new HS256 secret from libsodium,
 * answered once (base64url, as a JWK "k" or a signing library wants it).
 */
int
widget_token_secret(struct vbreq *r)
{
	unsigned char	 raw[32];
	char		 hex[65], id[24];
	const char	*v;
	struct db_job	*j;
	struct sbuf	 b;

	switch (r->step) {
	case 0:
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
		sodium_bin2base64(r->scratch, sizeof(r->scratch), raw, sizeof(raw),
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		sodium_memzero(raw, sizeof(raw));
		(void)snprintf(id, sizeof(id), "%lld", (long long)r->path_id[0]);
		j = vb_job(r);
		db_add(j, Q_SITE_TOKEN_SECRET, 2, id, hex);
		sodium_memzero(hex, sizeof(hex));
		return (vb_db_submit(r, j, 1));
	case 1:
		if (vb_db_error(r))
			return (VB_DONE);
		if ((v = db_value(r->job, 0, 0, 0)) == NULL) {
			vb_error(r, 404, "not_found", "No such site");
			return (VB_DONE);
		}
		sbuf_init(&b);
		sbuf_adds(&b, "{\"site\":");
		sbuf_adds(&b, v);
		sbuf_adds(&b, ",\"secret\":");
		sbuf_json_str(&b, r->scratch);
		sbuf_addc(&b, '}');
		vb_json(r, 200, b.data, b.len);
		sodium_memzero(b.data, b.len);
		sodium_memzero(r->scratch, sizeof(r->scratch));
		sbuf_free(&b);
		return (VB_DONE);
	}
	fatal("widget_token_secret: step %d", r->step);
}
