/*
 * HTML shells and static files. A shell is a template with {{placeholders}}
 * filled per response: a fresh CSP nonce, the CSRF token, the page id. All
 * rendering of data happens in the browser from the JSON API, so the server
 * never interpolates user data into HTML.
 */

#include <sys/stat.h>
#include <fcntl.h>

#include "vb.h"
#include "queries.h"

#define STATIC_MAX	(8 * 1024 * 1024)

struct page_def {
	const char	*path;
	const char	*id;
	const char	*template;
	const char	*title;
};

static const struct page_def pages[] = {
	{ "/login", "login", "login.html", "Sign in" },
	{ "/password", "password", "login.html", "Choose a new password" },
	{ "/account", "account", "page.html", "My account" },
	{ "/admin/users", "users", "page.html", "Users" },
	{ "/admin/units", "units", "page.html", "Organisational units" },
	{ "/admin/roles", "roles", "page.html", "Roles and permissions" },
	{ "/admin/skills", "skills", "page.html", "Skills" },
	{ "/admin/sites", "sites", "page.html", "Widget sites" },
	{ "/admin/audit", "audit", "page.html", "Audit log" },
	{ "/platform/orgs", "orgs", "page.html", "Organisations" },
	{ "/console", "console", "page.html", "Console" },
	{ "/supervisor", "supervisor", "page.html", "Supervisor" },
	{ "/admin/queues", "queues", "page.html", "Queues" },
	{ "/admin/contact-settings", "contact-settings", "page.html", "Contact settings" },
	{ "/console/recordings", "recordings", "page.html", "Recordings" },
};

/* Where "/" sends a signed-in user: the first page they may see. */
static const struct {
	const char	*perm;
	const char	*path;
} landing[] = {
	{ "users.read", "/admin/users" },
	{ "units.read", "/admin/units" },
	{ "roles.read", "/admin/roles" },
	{ "sites.read", "/admin/sites" },
	{ "audit.read", "/admin/audit" },
	{ "platform.orgs", "/platform/orgs" },
	{ "console.supervisor", "/supervisor" },
	{ "console.agent", "/console" },
};

static const struct {
	const char	*ext;
	const char	*type;
} media[] = {
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".json", "application/json" },
	{ ".woff2", "font/woff2" },
	{ ".html", "text/html; charset=utf-8" },
	{ ".mp3", "audio/mpeg" },
	{ ".ogg", "audio/ogg" },
};

static char *
page_read(const char *rel, size_t *len)
{
	char		 path[PATH_MAX];
	struct stat	 st;
	char		*buf;
	int		 fd;
	ssize_t		 n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", vb_root(), rel) >= sizeof(path))
		return (NULL);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (NULL);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > STATIC_MAX) {
		close(fd);
		return (NULL);
	}
	buf = kore_malloc((size_t)st.st_size + 1);
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		kore_free(buf);
		return (NULL);
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return (buf);
}

/* frame_ancestors NULL: nobody may frame the page. */
static void
page_csp(struct vbreq *r, const char *nonce, const char *frame_ancestors)
{
	struct sbuf	csp;
	const char	*ws = vb_secure_cookies() ? "wss:" : "ws:";

	sbuf_init(&csp);
	sbuf_addf(&csp, "default-src 'self'; script-src 'self' 'nonce-%s'; "
	    "style-src 'self'; img-src 'self' data:%s; connect-src 'self' %s//%s; "
	    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors %s",
	    nonce, frame_ancestors ? " https:" : "",	/* the widget panel: a site's logo */
	    ws, strstr(vb_public_url(), "//") + 2,
	    frame_ancestors ? frame_ancestors : "'none'");
	http_response_header(r->req, "content-security-policy", csp.data);
	sbuf_free(&csp);
}

/* Fills {{name}} placeholders from a small table; unknown ones stay empty. */
static void
page_fill(struct sbuf *out, const char *tpl, const char *const vars[][2], int nvars)
{
	const char	*p, *end;
	size_t		 klen;
	int		 i;

	while ((p = strstr(tpl, "{{")) != NULL) {
		sbuf_add(out, tpl, (size_t)(p - tpl));
		if ((end = strstr(p + 2, "}}")) == NULL) {
			tpl = p;
			break;
		}
		klen = (size_t)(end - p - 2);
		for (i = 0; i < nvars; i++) {
			if (strlen(vars[i][0]) == klen && strncmp(vars[i][0], p + 2, klen) == 0) {
				sbuf_adds(out, vars[i][1]);
				break;
			}
		}
		tpl = end + 2;
	}
	sbuf_adds(out, tpl);
}

static int
page_render(struct vbreq *r, const struct page_def *pd, int status,
    const char *frame_ancestors)
{
	char		 nonce[32], tplpath[64], csrf[64];
	char		*tpl, *cookie;
	size_t		 len;
	struct sbuf	 out;

	(void)snprintf(tplpath, sizeof(tplpath), "templates/%s", pd->template);
	if ((tpl = page_read(tplpath, &len)) == NULL) {
		vb_error(r, 500, "internal", "Page template missing");
		return (VB_DONE);
	}
	util_random_token(nonce, 16);
	if (r->sess.valid) {
		kore_strlcpy(csrf, r->sess.csrf, sizeof(csrf));
	} else {
		http_populate_cookies(r->req);
		if (http_request_cookie(r->req, "vb_csrf", &cookie) &&
		    util_token_valid(cookie, 60)) {
			kore_strlcpy(csrf, cookie, sizeof(csrf));
		} else {
			util_random_token(csrf, 32);
			vb_set_cookie(r, "vb_csrf", csrf, 86400, 0);
		}
	}
	const char *const vars[][2] = {
		{ "lang", "en" }, { "title", pd->title }, { "nonce", nonce },
		{ "csrf", csrf }, { "page", pd->id },
	};
	sbuf_init(&out);
	page_fill(&out, tpl, vars, (int)(sizeof(vars) / sizeof(vars[0])));
	kore_free(tpl);

	r->status = status;
	page_csp(r, nonce, frame_ancestors);
	http_response_header(r->req, "x-request-id", r->reqid);
	http_response_header(r->req, "x-content-type-options", "nosniff");
	if (frame_ancestors == NULL)
		http_response_header(r->req, "x-frame-options", "DENY");
	http_response_header(r->req, "referrer-policy", "same-origin");
	http_response_header(r->req, "cache-control", "no-store");
	http_response_header(r->req, "content-type", "text/html; charset=utf-8");
	http_response(r->req, status, out.data, out.len);
	sbuf_free(&out);
	return (VB_DONE);
}

int
page_serve(struct vbreq *r)
{
	size_t	i;

	/* A signed-in user has nothing to do on the sign-in page. */
	if (strcmp(r->req->path, "/login") == 0 && r->sess.valid && r->sess.mfa_ok) {
		vb_redirect(r, r->sess.must_change ? "/password" : "/");
		return (VB_DONE);
	}
	if (strcmp(r->req->path, "/password") == 0 && !r->sess.valid) {
		vb_redirect(r, "/login");
		return (VB_DONE);
	}
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (strcmp(pages[i].path, r->req->path) == 0)
			return (page_render(r, &pages[i], 200, NULL));
	vb_error(r, 404, "not_found", "No such page");
	return (VB_DONE);
}

int
page_forbidden(struct vbreq *r)
{
	static const struct page_def forbidden = {
		"", "forbidden", "page.html", "Not allowed"
	};

	return (page_render(r, &forbidden, 403, NULL));
}

int
page_root(struct vbreq *r)
{
	size_t	i;

	for (i = 0; i < sizeof(landing) / sizeof(landing[0]); i++) {
		if (vb_has_perm(r, landing[i].perm)) {
			vb_redirect(r, landing[i].path);
			return (VB_DONE);
		}
	}
	vb_redirect(r, "/account");
	return (VB_DONE);
}

static const char *
page_media(const char *path)
{
	const char	*dot;
	size_t		 i;

	if ((dot = strrchr(path, '.')) == NULL)
		return (NULL);
	for (i = 0; i < sizeof(media) / sizeof(media[0]); i++)
		if (strcmp(dot, media[i].ext) == 0)
			return (media[i].type);
	return (NULL);
}

/*
 * GET /widget/loader.js: the one URL site owners paste. Served without its
 * indentation and comments, gzip-compressed when the browser accepts it
 * (the budget is 5 KB on the wire), both built once per worker and again
 * when the file changes. Cached briefly by browsers and proxies so a site's
 * visitors do not all fetch it each page.
 */
static struct {
	struct timespec	 mtime;
	off_t		 size;
	int		 built;
	struct sbuf	 plain;
	struct sbuf	 gz;
} loader;

static int
page_loader_build(void)
{
	char		 path[PATH_MAX], *data;
	struct stat	 st;
	size_t		 len;

	if ((size_t)snprintf(path, sizeof(path), "%s/static/widget/loader.js", vb_root()) >= sizeof(path) ||
	    stat(path, &st) == -1)
		return (0);
	if (loader.built && st.st_size == loader.size &&
	    st.st_mtim.tv_sec == loader.mtime.tv_sec && st.st_mtim.tv_nsec == loader.mtime.tv_nsec)
		return (1);
	if ((data = page_read("static/widget/loader.js", &len)) == NULL)
		return (0);
	if (!loader.built) {
		sbuf_init(&loader.plain);
		sbuf_init(&loader.gz);
	}
	sbuf_reset(&loader.plain);
	sbuf_reset(&loader.gz);
	util_js_squeeze(&loader.plain, data, len);
	kore_free(data);
	if (!util_gzip(&loader.gz, loader.plain.data, loader.plain.len))
		sbuf_reset(&loader.gz);
	loader.mtime = st.st_mtim;
	loader.size = st.st_size;
	loader.built = 1;
	return (1);
}

int
page_loader(struct vbreq *r)
{
	const char	*ae;
	int		 gz;

	if (!page_loader_build()) {
		vb_error(r, 404, "not_found", "No such file");
		return (VB_DONE);
	}
	gz = loader.gz.len > 0 && http_request_header(r->req, "accept-encoding", &ae) &&
	    util_accepts_gzip(ae);
	r->status = 200;
	http_response_header(r->req, "content-type", "text/javascript; charset=utf-8");
	http_response_header(r->req, "cache-control", "public, max-age=300");
	http_response_header(r->req, "vary", "accept-encoding");
	http_response_header(r->req, "x-content-type-options", "nosniff");
	if (gz) {
		http_response_header(r->req, "content-encoding", "gzip");
		http_response(r->req, 200, loader.gz.data, loader.gz.len);
	} else
		http_response(r->req, 200, loader.plain.data, loader.plain.len);
	return (VB_DONE);
}

/* Files under static/: a strict character set, no "..", known types only. */
int
page_static(struct vbreq *r)
{
	const char	*path = r->req->path + 1, *type;
	char		*data;
	size_t		 len;

	if (strlen(path) > 200 || strstr(path, "..") != NULL ||
	    strspn(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/@")
	    != strlen(path) || (type = page_media(path)) == NULL ||
	    (data = page_read(path, &len)) == NULL) {
		vb_error(r, 404, "not_found", "No such file");
		return (VB_DONE);
	}
	r->status = 200;
	http_response_header(r->req, "content-type", type);
	http_response_header(r->req, "cache-control", "no-cache");
	http_response_header(r->req, "x-content-type-options", "nosniff");
	http_response(r->req, 200, data, len);
	kore_free(data);
	return (VB_DONE);
}

/*
 * GET /widget/panel?site=KEY: the chat panel, framed by the host page. Only
 * the site's allowed origins may frame it (CSP frame-ancestors).
 */
int
page_widget_panel(struct vbreq *r)
{
	static const struct page_def panel = {
		"/widget/panel", "panel", "widget_panel.html", "Chat"
	};
	struct db_job	*j;
	const char	*origins;
	char		 key[72];

	if (r->step == 0) {
		if (route_query(r, "site", key, sizeof(key)) != 1 || !util_token_valid(key, 64)) {
			vb_error(r, 404, "unknown_site", "Unknown site key");
			return (VB_DONE);
		}
		j = vb_job(r);
		db_add(j, Q_SITE_FRAME_ORIGINS, 1, key);
		return (vb_db_submit(r, j, 1));
	}
	if (vb_db_error(r))
		return (VB_DONE);
	if ((origins = db_value(r->job, 0, 0, 0)) == NULL) {
		vb_error(r, 404, "unknown_site", "Unknown site key");
		return (VB_DONE);
	}
	return (page_render(r, &panel, 200, origins[0] != '\0' ? origins : NULL));
}

/*
 * The demo bank's home page, served on the second loopback origin
 * (VB_DEMO_HOST, default 127.0.0.2) so that the widget runs cross-origin as
 * on a real customer site, under a strict CSP without inline script.
 */
int
page_demo(struct vbreq *r)
{
	const char	*key = getenv("VB_DEMO_SITE_KEY");
	char		*tpl;
	size_t		 len;
	struct sbuf	 out, csp;

	if (r->req->method != HTTP_METHOD_GET && r->req->method != HTTP_METHOD_HEAD) {
		vb_error(r, 405, "method_not_allowed", "The demo site only serves pages");
		return (VB_DONE);
	}
	if (strncmp(r->req->path, "/static/demo/", 13) == 0)
		return (page_static(r));
	if (strcmp(r->req->path, "/") != 0 || key == NULL ||
	    (tpl = page_read("static/demo/index.html", &len)) == NULL) {
		vb_error(r, 404, "not_found", "No such page");
		return (VB_DONE);
	}
	const char *const vars[][2] = {
		{ "HOST", vb_public_url() }, { "SITE_KEY", key },
	};
	sbuf_init(&out);
	page_fill(&out, tpl, vars, 2);
	kore_free(tpl);
	sbuf_init(&csp);
	sbuf_addf(&csp, "default-src 'none'; script-src %s; connect-src %s; frame-src %s; "
	    "style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'",
	    vb_public_url(), vb_public_url(), vb_public_url());
	r->status = 200;
	http_response_header(r->req, "content-security-policy", csp.data);
	http_response_header(r->req, "content-type", "text/html; charset=utf-8");
	http_response_header(r->req, "cache-control", "no-store");
	http_response(r->req, 200, out.data, out.len);
	sbuf_free(&out);
	sbuf_free(&csp);
	return (VB_DONE);
}
