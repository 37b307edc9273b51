/*
 * The one Kore handler: every request enters vb_dispatch(), which finds the
 * route in the table (route.c), establishes the session (auth.c), checks
 * CSRF and permission, and runs the route's handler as a continuation until
 * it answers. Responses, errors, logging and metrics happen here, once.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <sys/time.h>

#include "vb.h"

#define VB_BODY_MAX	(1024 * 1024)
#define VB_NEXT		2

static const char	*vb_env_public_url;
static int		 vb_trust_proxy = -1;

static void	vb_onfree(struct http_request *);
static void	vb_finish(struct vbreq *);

static u_int64_t
vb_now_us(void)
{
	struct timeval	tv;

	(void)gettimeofday(&tv, NULL);
	return ((u_int64_t)tv.tv_sec * 1000000 + (u_int64_t)tv.tv_usec);
}

const char *
vb_public_url(void)
{
	if (vb_env_public_url == NULL)
		vb_env_public_url = getenv("VB_PUBLIC_URL") ? getenv("VB_PUBLIC_URL") :
		    "http://127.0.0.1:8888";
	return (vb_env_public_url);
}

const char *
vb_root(void)
{
	const char	*p = getenv("VB_ROOT");

	return (p ? p : ".");
}

int
vb_secure_cookies(void)
{
	return (strncmp(vb_public_url(), "https://", 8) == 0);
}

static void
vb_client_addr(struct vbreq *r)
{
	struct connection	*c = r->req->owner;
	const char		*h;

	if (vb_trust_proxy == -1)
		vb_trust_proxy = getenv("VB_TRUST_PROXY") != NULL &&
		    strcmp(getenv("VB_TRUST_PROXY"), "1") == 0;
	if (vb_trust_proxy && http_request_header(r->req, "x-real-ip", &h) &&
	    strlen(h) < sizeof(r->addr) && strspn(h, "0123456789abcdefABCDEF.:") == strlen(h)) {
		kore_strlcpy(r->addr, h, sizeof(r->addr));
		return;
	}
	switch (c->family) {
	case AF_INET:
		inet_ntop(AF_INET, &c->addr.ipv4.sin_addr, r->addr, sizeof(r->addr));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &c->addr.ipv6.sin6_addr, r->addr, sizeof(r->addr));
		break;
	default:
		kore_strlcpy(r->addr, "local", sizeof(r->addr));
	}
}

static void
vb_request_id(struct vbreq *r)
{
	const char	*h;

	if (http_request_header(r->req, "x-request-id", &h) &&
	    util_token_valid(h, VB_REQID_MAX - 1)) {
		kore_strlcpy(r->reqid, h, sizeof(r->reqid));
		return;
	}
	util_random_token(r->reqid, 16);
}

/* Requests for the demo bank's origin see only the demo (page.c). */
static const struct vb_route vb_demo_route = {
	.method = "GET", .path = "/", .flags = RT_PUBLIC | RT_NOCSRF, .handler = page_demo,
	.index = -1
};

static int
vb_is_demo_host(const char *host)
{
	static char	 demo[80];
	const char	*h, *port;

	if (demo[0] == '\0') {
		h = getenv("VB_DEMO_HOST");
		port = getenv("VB_PORT");
		if (h == NULL || *h == '\0' || port == NULL)
			return (0);
		(void)snprintf(demo, sizeof(demo), "%s:%s", h, port);
	}
	return (host != NULL && strcmp(host, demo) == 0);
}

static struct vbreq *
vb_begin(struct http_request *req)
{
	struct vbreq	*r;
	int		 method_ok;

	r = kore_calloc(1, sizeof(*r));
	r->req = req;
	r->start_us = vb_now_us();
	req->hdlr_extra = r;
	req->onfree = vb_onfree;
	vb_request_id(r);
	vb_client_addr(r);
	if (vb_is_demo_host(req->host)) {
		r->route = &vb_demo_route;
		return (r);
	}
	r->route = route_find(http_method_text(req->method), req->path,
	    r->path_id, &r->npath_id, &method_ok);
	if (r->route == NULL)
		r->status = method_ok ? 405 : 404;
	return (r);
}

int
vb_dispatch(struct http_request *req)
{
	struct vbreq	*r = req->hdlr_extra;
	int		 rc;

	if (r == NULL) {
		r = vb_begin(req);
		if (r->route == NULL) {
			if (r->status == 405)
				vb_error(r, 405, "method_not_allowed",
				    "This method is not allowed here");
			else
				vb_error(r, 404, "not_found", "No such page or API");
			vb_finish(r);
			return (KORE_RESULT_OK);
		}
		r->auth_step = 0;
	}

	if (r->auth_step >= 0) {
		rc = auth_session(r);
		if (rc == VB_WAIT)
			return (KORE_RESULT_RETRY);
		if (rc == VB_DONE) {
			vb_finish(r);
			return (KORE_RESULT_OK);
		}
		r->auth_step = -1;
	}

	rc = r->route->handler(r);
	if (rc == VB_WAIT)
		return (KORE_RESULT_RETRY);
	vb_finish(r);
	return (KORE_RESULT_OK);
}

static void
vb_finish(struct vbreq *r)
{
	u_int64_t	us;

	us = vb_now_us() - r->start_us;
	ops_observe(r->route ? r->route->index : -1, r->status, us);
	ops_log(r, (int)(us / 1000));
}

static void
vb_onfree(struct http_request *req)
{
	struct vbreq	*r = req->hdlr_extra;
	int		 i;

	if (r == NULL)
		return;
	if (r->job != NULL)
		db_orphan(r->job);
	if (r->rds != NULL)
		rds_orphan(r->rds);
	pwtask_free(r);
	wmail_free(r);
	files_free(r);
	cobrowse_free(r);
	if (r->json_ok)
		kore_json_cleanup(&r->json);
	sbuf_free(&r->body);
	sbuf_free(&r->ext);
	for (i = 0; i < r->sess.nperms; i++)
		kore_free(r->sess.perms[i]);
	kore_free(r->sess.perms);
	kore_free(r);
	req->hdlr_extra = NULL;
}

static void
vb_common_headers(struct vbreq *r)
{
	http_response_header(r->req, "x-request-id", r->reqid);
	http_response_header(r->req, "x-content-type-options", "nosniff");
	http_response_header(r->req, "referrer-policy", "same-origin");
	http_response_header(r->req, "x-frame-options", "DENY");
	if (r->cors_origin[0] != '\0') {
		http_response_header(r->req, "access-control-allow-origin", r->cors_origin);
		http_response_header(r->req, "vary", "Origin");
	}
	if (vb_secure_cookies())
		http_response_header(r->req, "strict-transport-security",
		    "max-age=31536000");
}

void
vb_json(struct vbreq *r, int status, const char *body, size_t len)
{
	r->status = status;
	vb_common_headers(r);
	http_response_header(r->req, "cache-control", "no-store");
	if (status == 204) {
		http_response(r->req, status, NULL, 0);
		return;
	}
	http_response_header(r->req, "content-type", "application/json; charset=utf-8");
	http_response(r->req, status, body, len);
}

void
vb_error_field(struct vbreq *r, int status, const char *code, const char *msg,
    const char *field)
{
	struct sbuf	b;

	sbuf_init(&b);
	sbuf_adds(&b, "{\"error\":{\"code\":");
	sbuf_json_str(&b, code);
	sbuf_adds(&b, ",\"message\":");
	sbuf_json_str(&b, msg);
	if (field != NULL) {
		sbuf_adds(&b, ",\"field\":");
		sbuf_json_str(&b, field);
	}
	sbuf_adds(&b, ",\"request_id\":");
	sbuf_json_str(&b, r->reqid);
	sbuf_adds(&b, "}}");
	vb_json(r, status, b.data, b.len);
	sbuf_free(&b);
}

void
vb_error(struct vbreq *r, int status, const char *code, const char *msg)
{
	vb_error_field(r, status, code, msg, NULL);
}

void
vb_redirect(struct vbreq *r, const char *to)
{
	r->status = 303;
	vb_common_headers(r);
	http_response_header(r->req, "location", to);
	http_response_header(r->req, "cache-control", "no-store");
	http_response(r->req, 303, NULL, 0);
}

void
vb_set_cookie(struct vbreq *r, const char *name, const char *value, int maxage,
    int httponly)
{
	struct sbuf	b;

	sbuf_init(&b);
	sbuf_addf(&b, "%s=%s; Path=/;%s SameSite=Strict; Max-Age=%d%s",
	    name, value, httponly ? " HttpOnly;" : "", maxage,
	    vb_secure_cookies() ? "; Secure" : "");
	http_response_header(r->req, "set-cookie", b.data);
	sbuf_free(&b);
}

int
vb_has_perm(struct vbreq *r, const char *perm)
{
	int	i;

	for (i = 0; i < r->sess.nperms; i++)
		if (strcmp(r->sess.perms[i], perm) == 0)
			return (1);
	return (0);
}

/* Asynchronous completion: wake the request; the handler runs again. */
static void
vb_db_done(struct db_job *j, void *arg)
{
	struct vbreq	*r = arg;

	(void)j;
	http_request_wakeup(r->req);
}

/* A job for this request, carrying tenant, actor, address and request id. */
struct db_job *
vb_job(struct vbreq *r)
{
	struct db_job	*j;

	j = db_job_new();
	db_job_tenant(j, r->sess.valid ? r->sess.tenant_id : 0,
	    r->sess.valid ? r->sess.user_id : 0, r->addr, r->reqid);
	return (j);
}

int
vb_db_submit(struct vbreq *r, struct db_job *j, int next)
{
	if (r->job != NULL) {
		db_job_free(r->job);
		r->job = NULL;
	}
	if (!db_submit(j, vb_db_done, r)) {
		db_job_free(j);
		vb_error(r, 503, "unavailable", "The database is unavailable; try again shortly");
		return (VB_DONE);
	}
	r->job = j;
	r->step = next;
	http_request_sleep(r->req);
	return (VB_WAIT);
}

/*
 * Maps a failed job to an HTTP error. Our SQL raises SQLSTATE V<status>0 with
 * the error code in HINT (see vb_fail); constraint violations are client
 * errors; anything else is logged and answered 500 without details.
 */
int
vb_db_error(struct vbreq *r)
{
	struct db_job	*j = r->job;
	int		 status;

	if (!j->failed)
		return (0);
	if (j->sqlstate[0] == 'V' && isdigit((unsigned char)j->sqlstate[1])) {
		status = atoi(j->sqlstate + 1) / 10;
		if (status < 400 || status > 599)
			status = 400;
		vb_error_field(r, status, j->errhint ? j->errhint : "invalid", j->errmsg,
		    j->errfield);
	} else if (strncmp(j->sqlstate, "08", 2) == 0 || strcmp(j->sqlstate, "57P01") == 0) {
		vb_error(r, 503, "unavailable", "The database is unavailable; try again shortly");
	} else if (strncmp(j->sqlstate, "23", 2) == 0 || strncmp(j->sqlstate, "22", 2) == 0) {
		vb_log(LOG_NOTICE, "req %s: %s %s", r->reqid, j->sqlstate, j->errmsg);
		vb_error(r, 422, "invalid", "The request breaks a data rule");
	} else {
		vb_log(LOG_ERR, "req %s: db error %s: %s", r->reqid, j->sqlstate, j->errmsg);
		vb_error(r, 500, "internal", "Something went wrong on our side");
	}
	return (1);
}

static void
vb_rds_done(struct rds_result *res, void *arg)
{
	struct vbreq	*r = arg;

	r->rds = NULL;
	r->rres = *res;
	http_request_wakeup(r->req);
}

/* A Redis command; Redis down answers 503 at once. */
int
vb_rds(struct vbreq *r, int next, const char *fmt, ...)
{
	va_list		 ap;

	memset(&r->rres, 0, sizeof(r->rres));
	va_start(ap, fmt);
	r->rds = rds_commandv(vb_rds_done, r, fmt, ap);
	va_end(ap);
	if (r->rds == NULL) {
		vb_error(r, 503, "unavailable", "A required service is unavailable; try again shortly");
		return (VB_DONE);
	}
	r->step = next;
	http_request_sleep(r->req);
	return (VB_WAIT);
}

/* Parses the body as a JSON object once; answers the error itself. */
int
vb_body_json(struct vbreq *r)
{
	char	buf[8192];
	ssize_t	n;

	if (r->json_ok)
		return (1);
	if (r->req->http_body_length > VB_BODY_MAX) {
		vb_error(r, 413, "too_large", "The request body is larger than 1 MiB");
		return (0);
	}
	sbuf_init(&r->body);
	while ((n = http_body_read(r->req, buf, sizeof(buf))) > 0)
		sbuf_add(&r->body, buf, (size_t)n);
	if (n == -1 || r->body.len == 0) {
		vb_error(r, 400, "bad_json", "A JSON object is required");
		return (0);
	}
	kore_json_init(&r->json, r->body.data, r->body.len);
	r->json_ok = 1;
	if (!kore_json_parse(&r->json) || r->json.root == NULL ||
	    r->json.root->type != KORE_JSON_TYPE_OBJECT) {
		vb_error(r, 400, "bad_json", "The body is not a valid JSON object");
		return (0);
	}
	return (1);
}

/* A member of the body object; NULL when absent (or the JSON null literal). */
struct kore_json_item *
vb_field(struct vbreq *r, const char *name, u_int32_t type)
{
	struct kore_json_item	*it;

	(void)type;
	if (!r->json_ok || r->json.root == NULL)
		return (NULL);
	TAILQ_FOREACH(it, &r->json.root->data.items, list) {
		if (it->name != NULL && strcmp(it->name, name) == 0) {
			if (it->type == KORE_JSON_TYPE_LITERAL &&
			    it->data.literal == KORE_JSON_NULL)
				return (NULL);
			return (it);
		}
	}
	return (NULL);
}

/* A required string member of min..max characters, or NULL (error sent). */
const char *
vb_str_field(struct vbreq *r, const char *name, size_t min, size_t max)
{
	struct kore_json_item	*it;
	size_t			 n;
	char			 msg[128];

	it = vb_field(r, name, KORE_JSON_TYPE_STRING);
	if (it == NULL || it->type != KORE_JSON_TYPE_STRING) {
		(void)snprintf(msg, sizeof(msg), "%s must be a string", name);
		vb_error_field(r, 422, "invalid", msg, name);
		return (NULL);
	}
	n = util_utf8_chars(it->data.string);
	if (!util_utf8_valid(it->data.string, strlen(it->data.string)) ||
	    n < min || n > max) {
		(void)snprintf(msg, sizeof(msg), "%s must be %zu to %zu characters",
		    name, min, max);
		vb_error_field(r, 422, "invalid", msg, name);
		return (NULL);
	}
	return (it->data.string);
}
