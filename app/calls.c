/*
 * Calls (issue 4), the parts that live in the application: TURN credentials
 * for browsers whose networks block UDP, and recording playback and
 * download for supervisors (S5).
 *
 * TURN: coturn runs with use-auth-secret and the same shared secret as this
 * module (VB_TURN_SECRET; conf/bin/vb-run makes one). We hand out
 * short-lived REST credentials (app/callutil.c) to staff with a full session
 * (GET /api/turn, console.agent) and to widget customers while one of their
 * conversations is open (GET /api/widget/turn, Bearer widget token). Without
 * a secret the answer has no servers, and browsers use the relay directly.
 *
 * Recordings: GET /api/recordings/:id/media plays a file inline, /download
 * hands it out as an attachment; both honour one HTTP byte range so that
 * <audio>/<video> can seek. The path comes from the database row only
 * (vb_recording_open, which also writes the audit entry), is checked again
 * here and opened under $VB_VAR/recordings without following links.
 */

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include "vb.h"
#include "callutil.h"
#include "fileutil.h"
#include "queries.h"

#define CALLS_TTL_DEFAULT	3600
#define CALLS_TTL_MIN		60
#define CALLS_TTL_MAX		86400
#define CALLS_URLS_MAX		8

static struct {
	int		 loaded;
	const char	*secret;
	struct sbuf	 urls;		/* JSON array of TURN URLs */
	int		 ttl;
} calls_turn_conf;

/*
 * VB_TURN_URLS: comma-separated turn:/turns: URLs (at most 8, each checked
 * for characters that could break JSON or a URL); VB_TURN_TTL: seconds.
 */
static void
calls_turn_load(void)
{
	const char	*env, *p, *e;
	size_t		 len, i;
	int		 n = 0, ok;
	char		 url[256];

	if (calls_turn_conf.loaded)
		return;
	calls_turn_conf.loaded = 1;
	sbuf_init(&calls_turn_conf.urls);
	sbuf_addc(&calls_turn_conf.urls, '[');
	env = getenv("VB_TURN_SECRET");
	calls_turn_conf.secret = (env != NULL && strlen(env) >= 16) ? env : NULL;
	if (env != NULL && calls_turn_conf.secret == NULL)
		vb_log(LOG_ERR, "calls: VB_TURN_SECRET is shorter than 16 characters: TURN off");
	calls_turn_conf.ttl = CALLS_TTL_DEFAULT;
	if ((env = getenv("VB_TURN_TTL")) != NULL) {
		calls_turn_conf.ttl = atoi(env);
		if (calls_turn_conf.ttl < CALLS_TTL_MIN || calls_turn_conf.ttl > CALLS_TTL_MAX)
			calls_turn_conf.ttl = CALLS_TTL_DEFAULT;
	}
	for (p = getenv("VB_TURN_URLS"); p != NULL && *p != '\0' && n < CALLS_URLS_MAX; p = e) {
		e = strchr(p, ',');
		len = e ? (size_t)(e - p) : strlen(p);
		e = e ? e + 1 : NULL;
		if (len == 0 || len >= sizeof(url))
			continue;
		memcpy(url, p, len);
		url[len] = '\0';
		ok = strncmp(url, "turn:", 5) == 0 || strncmp(url, "turns:", 6) == 0;
		for (i = 0; ok && i < len; i++)
			if (url[i] <= ' ' || url[i] == '"' || url[i] == '\\' || url[i] > '~')
				ok = 0;
		if (!ok) {
			vb_log(LOG_ERR, "calls: VB_TURN_URLS: ignoring a bad URL");
			continue;
		}
		if (n++ > 0)
			sbuf_addc(&calls_turn_conf.urls, ',');
		sbuf_json_str(&calls_turn_conf.urls, url);
	}
	sbuf_addc(&calls_turn_conf.urls, ']');
	if (n == 0)
		calls_turn_conf.secret = NULL;
}

/* {"iceServers":[{urls, username, credential}],"ttl":N} for id. */
static void
calls_turn_answer(struct vbreq *r, const char *id)
{
	char		 user[CALL_TURN_USER_MAX], cred[CALL_TURN_CRED_MAX];
	struct sbuf	 b;
	int64_t		 expiry;

	calls_turn_load();
	if (calls_turn_conf.secret == NULL) {
		vb_json(r, 200, "{\"iceServers\":[],\"ttl\":0}", 25);
		return;
	}
	expiry = (int64_t)time(NULL) + calls_turn_conf.ttl;
	if (!callutil_turn_credential((const unsigned char *)calls_turn_conf.secret,
	    strlen(calls_turn_conf.secret), expiry, id, user, sizeof(user), cred, sizeof(cred))) {
		vb_error(r, 500, "internal", "Something went wrong on our side");
		return;
	}
	sbuf_init(&b);
	sbuf_adds(&b, "{\"iceServers\":[{\"urls\":");
	sbuf_add(&b, calls_turn_conf.urls.data, calls_turn_conf.urls.len);
	sbuf_adds(&b, ",\"username\":");
	sbuf_json_str(&b, user);
	sbuf_adds(&b, ",\"credential\":");
	sbuf_json_str(&b, cred);
	sbuf_addf(&b, "}],\"ttl\":%d}", calls_turn_conf.ttl);
	vb_json(r, 200, b.data, b.len);
	sbuf_free(&b);
}

/* GET /api/turn: staff with a full session and console.agent (route row). */
int
calls_turn(struct vbreq *r)
{
	char	id[64];

	(void)snprintf(id, sizeof(id), "t%lldu%lld", (long long)r->sess.tenant_id,
	    (long long)r->sess.user_id);
	calls_turn_answer(r, id);
	return (VB_DONE);
}

/* The widget token of "Authorization: Bearer"; 0 when refused (answered). */
static int
calls_widget_token(struct vbreq *r, char *hash)
{
	const char	*h;
	char		 token[64];

	if (!http_request_header(r->req, "authorization", &h) ||
	    strncasecmp(h, "Bearer ", 7) != 0 || strlen(h + 7) >= sizeof(token)) {
		vb_error(r, 401, "unauthenticated", "A widget token is required");
		return (0);
	}
	kore_strlcpy(token, h + 7, sizeof(token));
	if (!util_token_valid(token, 60)) {
		vb_error(r, 401, "unauthenticated", "The widget token is not valid");
		return (0);
	}
	util_sha256_hex(token, strlen(token), hash);
	return (1);
}

/*
 * GET /api/widget/turn with "Authorization: Bearer <widget token>": the
 * session is looked up (401 when unknown or expired), then whether its
 * customer has an open conversation (403 when not).
 */
int
calls_widget_turn(struct vbreq *r)
{
	char		 hash[65], id[64];
	struct db_job	*j;

	switch (r->step) {
	case 0:
		if (!calls_widget_token(r, hash))
			return (VB_DONE);
		j = vb_job(r);
		db_add(j, Q_WIDGET_SESSION_GET, 1, hash);
		db_add(j, Q_WIDGET_CALL_CUSTOMER, 1, hash);
		return (vb_db_submit(r, j, 1));
	case 1:
		if (vb_db_error(r))
			return (VB_DONE);
		if (db_rows(r->job, 0) != 1) {
			vb_error(r, 401, "unauthenticated", "The widget token is unknown or expired");
			return (VB_DONE);
		}
		if (db_rows(r->job, 1) != 1) {
			vb_error(r, 403, "no_conversation",
			    "Call credentials are given during an open conversation only");
			return (VB_DONE);
		}
		(void)snprintf(id, sizeof(id), "t%sc%s", db_value(r->job, 1, 0, 0),
		    db_value(r->job, 1, 0, 1));
		calls_turn_answer(r, id);
		return (VB_DONE);
	}
	fatal("calls_widget_turn: step %d", r->step);
}

/*
 * GET /api/widget/recording-policy?conversation_id=N (Bearer widget token):
 * {recording:{policy, notice}} of the customer's own conversation, so the
 * panel can say that a call is recorded. 401 token, 404 not theirs.
 */
int
calls_widget_recording(struct vbreq *r)
{
	char		 hash[65], conv[24];
	const char	*v;
	struct db_job	*j;
	struct sbuf	 b;
	int		 rc;

	switch (r->step) {
	case 0:
		if (!calls_widget_token(r, hash))
			return (VB_DONE);
		rc = route_query(r, "conversation_id", conv, sizeof(conv));
		if (rc != 1 || strspn(conv, "0123456789") != strlen(conv) || strlen(conv) > 18 ||
		    conv[0] == '0') {
			vb_error_field(r, 422, "invalid", "conversation_id is missing or not valid",
			    "conversation_id");
			return (VB_DONE);
		}
		j = vb_job(r);
		db_add(j, Q_WIDGET_SESSION_GET, 1, hash);
		db_add(j, Q_WIDGET_RECORDING_POLICY, 2, hash, conv);
		return (vb_db_submit(r, j, 1));
	case 1:
		if (vb_db_error(r))
			return (VB_DONE);
		if (db_rows(r->job, 0) != 1) {
			vb_error(r, 401, "unauthenticated", "The widget token is unknown or expired");
			return (VB_DONE);
		}
		if ((v = db_value(r->job, 1, 0, 0)) == NULL) {
			vb_error(r, 404, "not_found", "No such conversation");
			return (VB_DONE);
		}
		sbuf_init(&b);
		sbuf_adds(&b, "{\"recording\":");
		sbuf_adds(&b, v);
		sbuf_addc(&b, '}');
		vb_json(r, 200, b.data, b.len);
		sbuf_free(&b);
		return (VB_DONE);
	}
	fatal("calls_widget_recording: step %d", r->step);
}

/* Recordings ------------------------------------------------------------------ */

struct calls_map {
	void	*base;
	size_t	 len;
};

static int
calls_unmap(struct netbuf *nb)
{
	struct calls_map	*m = nb->extra;

	(void)munmap(m->base, m->len);
	kore_free(m);
	return (KORE_RESULT_OK);
}

static const char *
calls_json_str(struct kore_json_item *root, const char *name)
{
	struct kore_json_item	*it;

	TAILQ_FOREACH(it, &root->data.items, list)
		if (it->name != NULL && strcmp(it->name, name) == 0 &&
		    it->type == KORE_JSON_TYPE_STRING)
			return (it->data.string);
	return (NULL);
}

/* The headers that keep the bytes inert on our origin. */
static void
calls_media_headers(struct vbreq *r, const char *type, const char *name, int inline_)
{
	struct sbuf	b;

	http_response_header(r->req, "x-request-id", r->reqid);
	http_response_header(r->req, "x-content-type-options", "nosniff");
	http_response_header(r->req, "content-security-policy", "sandbox; default-src 'none'");
	http_response_header(r->req, "x-frame-options", "DENY");
	http_response_header(r->req, "referrer-policy", "no-referrer");
	http_response_header(r->req, "cross-origin-resource-policy", "same-origin");
	http_response_header(r->req, "cache-control", "private, no-store");
	http_response_header(r->req, "accept-ranges", "bytes");
	if (vb_secure_cookies())
		http_response_header(r->req, "strict-transport-security", "max-age=31536000");
	http_response_header(r->req, "content-type", type);
	sbuf_init(&b);
	fileutil_disposition(&b, inline_, name);
	http_response_header(r->req, "content-disposition", b.data);
	sbuf_free(&b);
}

/* Streams [start, end] of fd (closed here); 206 when partial. */
static void
calls_media_send(struct vbreq *r, int fd, const char *type, const char *name, int inline_)
{
	struct stat		 st;
	struct calls_map	*m;
	const char		*range = NULL;
	char			 cr[96];
	int64_t			 start, end;
	int			 rc, status;
	void			*map;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		vb_log(LOG_ERR, "req %s: recordings: stat: %s", r->reqid, strerror(errno));
		(void)close(fd);
		vb_error(r, 404, "not_found", "The recording's file is missing");
		return;
	}
	(void)http_request_header(r->req, "range", &range);
	rc = callutil_range(range, (int64_t)st.st_size, &start, &end);
	if (rc == CALL_RANGE_UNSAT) {
		(void)close(fd);
		(void)snprintf(cr, sizeof(cr), "bytes */%lld", (long long)st.st_size);
		http_response_header(r->req, "content-range", cr);
		vb_error(r, 416, "range_not_satisfiable", "The requested range is past the end");
		return;
	}
	status = rc == CALL_RANGE_OK ? 206 : 200;
	r->status = status;
	calls_media_headers(r, type, name, inline_);
	if (status == 206) {
		(void)snprintf(cr, sizeof(cr), "bytes %lld-%lld/%lld", (long long)start,
		    (long long)end, (long long)st.st_size);
		http_response_header(r->req, "content-range", cr);
	}
	if (st.st_size == 0 || r->req->method == HTTP_METHOD_HEAD) {
		(void)close(fd);
		http_response_stream(r->req, status, NULL,
		    st.st_size == 0 ? 0 : (size_t)(end - start + 1), NULL, NULL);
		return;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	(void)close(fd);
	if (map == MAP_FAILED) {
		vb_log(LOG_ERR, "req %s: recordings: map: %s", r->reqid, strerror(errno));
		vb_error(r, 500, "internal", "Something went wrong on our side");
		return;
	}
	m = kore_malloc(sizeof(*m));
	m->base = map;
	m->len = (size_t)st.st_size;
	http_response_stream(r->req, status, (u_int8_t *)map + start, (size_t)(end - start + 1),
	    calls_unmap, m);
}

static void
calls_media_answer(struct vbreq *r, const char *res, int inline_)
{
	struct kore_json	 json;
	const char		*path, *type, *name, *var;
	char			 full[PATH_MAX];
	int			 fd, n;

	kore_json_init(&json, res, strlen(res));
	if (!kore_json_parse(&json) || json.root == NULL ||
	    (path = calls_json_str(json.root, "path")) == NULL ||
	    (type = calls_json_str(json.root, "mime_type")) == NULL ||
	    (name = calls_json_str(json.root, "name")) == NULL ||
	    !callutil_rec_path_valid(path)) {
		kore_json_cleanup(&json);
		vb_error(r, 500, "internal", "Something went wrong on our side");
		return;
	}
	var = getenv("VB_VAR");
	n = snprintf(full, sizeof(full), "%s/recordings/%s", var ? var : ".", path);
	if (n < 0 || (size_t)n >= sizeof(full) ||
	    (fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		vb_log(LOG_ERR, "req %s: recordings: open %s: %s", r->reqid, path, strerror(errno));
		kore_json_cleanup(&json);
		vb_error(r, 404, "not_found", "The recording's file is missing");
		return;
	}
	calls_media_send(r, fd, type, name, inline_);
	kore_json_cleanup(&json);
}

/* Steps: 0 asks for the row (and writes the audit entry); 1 streams. */
static int
calls_media(struct vbreq *r, const char *action, int inline_)
{
	struct db_job	*j;
	char		 id[24];

	switch (r->step) {
	case 0:
		(void)snprintf(id, sizeof(id), "%lld", (long long)r->path_id[0]);
		j = vb_job(r);
		db_add(j, Q_RECORDING_OPEN, 2, id, action);
		return (vb_db_submit(r, j, 1));
	case 1:
		if (vb_db_error(r))
			return (VB_DONE);
		if (db_value(r->job, 0, 0, 0) == NULL) {
			vb_error(r, 404, "not_found", "No such recording");
			return (VB_DONE);
		}
		calls_media_answer(r, db_value(r->job, 0, 0, 0), inline_);
		return (VB_DONE);
	}
	fatal("calls_media: step %d", r->step);
}

/* GET /api/recordings/:id/media (recordings.read): inline, for the player. */
int
calls_recording_media(struct vbreq *r)
{
	return (calls_media(r, "play", 1));
}

/* GET /api/recordings/:id/download (recordings.read): as an attachment. */
int
calls_recording_download(struct vbreq *r)
{
	return (calls_media(r, "download", 0));
}
