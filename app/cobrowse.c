/*
 * Co-browsing (issue 5), HTTP side: the agent's replay viewer. The console
 * frames it (same origin) and posts it the customer's page events; the
 * viewer rebuilds the page with rrweb's Replayer. It has a CSP of its own:
 * the customer's styles arrive as inline <style> text, which the console's
 * policy rightly refuses, while scripts stay limited to ours (rrweb never
 * runs the page's scripts, and its replay frame is sandboxed without
 * allow-scripts). The real-time side is in hub.c ("Co-browsing") and
 * cbframe.c; settings are table-driven routes (route.c).
 *
 * The asset proxy, GET /api/cobrowse/proxy?conversation_id=&url=: page
 * assets (style sheets, images, fonts) the agent's browser cannot fetch
 * itself are fetched by the server, on a Kore task thread with libcurl, for
 * an agent in the chat while its session runs, or for whoever may replay a
 * stored session of the chat (0028), and only from the site's allowed
 * origins (the database checks). No redirects are followed; at most
 * 5 MiB; only style sheets, images and fonts are passed on, inert (nosniff,
 * sandbox CSP). A host name that resolves to a private, loopback or
 * link-local address is refused; only an allowed origin written as an IP
 * address may be one (an administrator's explicit choice). Nobody's cookies
 * or credentials go out: the request is made afresh (no cookie engine, no
 * proxy from the environment, no .netrc), and a URL with a user name or
 * password is refused. A style sheet's url() and @import references are
 * rewritten to go through the proxy too (cbstore.c, cbcss_rewrite).
 *
 * Stored sessions (0025): GET /api/cobrowse/sessions/:id/recording answers
 * a stored session's page data for the console's replay, decompressed
 * (lines of cobrowse_data parts, see cbstore.h); a timer deletes what is
 * past its site's retention.
 */
#include <sys/stat.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>

#include "vb.h"
#include "queries.h"
#include "cbstore.h"

#include <kore/tasks.h>
#include <curl/curl.h>
#include <sodium.h>
#include <zlib.h>

#define COBROWSE_VIEW	"templates/cobrowse_view.html"
#define COBROWSE_SCRIPT	"static/widget/cobrowse.js"
#define COBROWSE_FILE_MAX	(512 * 1024)

static const char cobrowse_view_csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; frame-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/* A file of ours (at most 512 KiB) into *len bytes; NULL when unreadable. */
static char *
cobrowse_file(const char *rel, size_t *len)
{
	char		 path[PATH_MAX], *buf;
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", vb_root(), rel) >= sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (NULL);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > COBROWSE_FILE_MAX) {
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
	*len = (size_t)n;
	return (buf);
}

/* GET /console/cobrowse-view: console.agent (route table). */
int
cobrowse_view(struct vbreq *r)
{
	char	*buf;
	size_t	 len;

	if ((buf = cobrowse_file(COBROWSE_VIEW, &len)) == NULL) {
		vb_error(r, 500, "internal", "Viewer page missing");
		return (VB_DONE);
	}
	r->status = 200;
	http_response_header(r->req, "content-security-policy", cobrowse_view_csp);
	http_response_header(r->req, "x-content-type-options", "nosniff");
	http_response_header(r->req, "x-frame-options", "SAMEORIGIN");
	http_response_header(r->req, "referrer-policy", "same-origin");
	http_response_header(r->req, "cache-control", "no-store");
	http_response_header(r->req, "content-type", "text/html; charset=utf-8");
	http_response(r->req, 200, buf, len);
	kore_free(buf);
	return (VB_DONE);
}

/*
 * GET /widget/cb.js: static/widget/cobrowse.js, the host page's co-browse
 * module, which loader.js adds only when a session starts (a short path:
 * the loader must stay under 5 KB gzip).
 */
int
cobrowse_script(struct vbreq *r)
{
	char	*buf;
	size_t	 len;

	if ((buf = cobrowse_file(COBROWSE_SCRIPT, &len)) == NULL) {
		vb_error(r, 404, "not_found", "No such file");
		return (VB_DONE);
	}
	r->status = 200;
	http_response_header(r->req, "content-type", "text/javascript; charset=utf-8");
	http_response_header(r->req, "cache-control", "public, max-age=300");
	http_response_header(r->req, "x-content-type-options", "nosniff");
	http_response(r->req, 200, buf, len);
	kore_free(buf);
	return (VB_DONE);
}

/* The asset proxy --------------------------------------------------------- */

#define CBPROXY_MAX	(5 * 1024 * 1024)
#define CBPROXY_URL_MAX	2000

struct cbproxy {
	struct kore_task	task;	/* first: Kore's task code casts to it */
	char			url[CBPROXY_URL_MAX + 1];
	int64_t			conv;
	char			*css;	/* a style sheet, rewritten */
	size_t			css_len;
	int			literal;	/* the host is an IP address */
	struct sbuf		body;
	long			status;
	char			type[128];
	int			too_big;
	int			refused;
	int			ok;
};

static const char *const cbproxy_types[] = {
	"text/css", "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif",
	"image/svg+xml", "image/x-icon", "image/vnd.microsoft.icon", "font/woff2", "font/woff",
	"font/ttf", "font/otf", "application/font-woff",
};

static int
cbproxy_private(const struct sockaddr *sa)
{
	const unsigned char	*a;
	uint32_t		 v4;

	if (sa->sa_family == AF_INET) {
		v4 = ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr);
		return ((v4 >> 24) == 10 || (v4 >> 24) == 127 || (v4 >> 24) == 0 ||
		    (v4 >> 20) == 0xac1 || (v4 >> 16) == 0xc0a8 || (v4 >> 16) == 0xa9fe ||
		    (v4 >> 22) == (100 << 2 | 1) || (v4 >> 8) == 0xc00000 ||
		    (v4 >> 17) == (0xc612 >> 1) || v4 >= 0xe0000000);
	}
	if (sa->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(const void *)a)) {
			v4 = (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
			return ((v4 >> 24) == 10 || (v4 >> 24) == 127 || (v4 >> 24) == 0 ||
			    (v4 >> 20) == 0xac1 || (v4 >> 16) == 0xc0a8 || (v4 >> 16) == 0xa9fe);
		}
		return (IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)(const void *)a) ||
		    IN6_IS_ADDR_UNSPECIFIED((const struct in6_addr *)(const void *)a) ||
		    (a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80));
	}
	return (1);
}

/* Every connection's address is checked before it is made. */
static curl_socket_t
cbproxy_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct cbproxy	*p = arg;

	(void)purpose;
	if (!p->literal && cbproxy_private(&addr->addr)) {
		p->refused = 1;
		return (CURL_SOCKET_BAD);
	}
	return (socket(addr->family, addr->socktype, addr->protocol));
}

static size_t
cbproxy_write(char *data, size_t size, size_t n, void *arg)
{
	struct cbproxy	*p = arg;

	if (p->body.len + size * n > CBPROXY_MAX) {
		p->too_big = 1;
		return (0);
	}
	sbuf_add(&p->body, data, size * n);
	return (size * n);
}

/* text/css, whatever its parameters and case. */
static int
cbproxy_is_css(const char *type)
{
	size_t	n = strcspn(type, "; ");

	return (n == 8 && strncasecmp(type, "text/css", 8) == 0);
}

/* The sheet's references through the proxy too (on the task's thread). */
static void
cbproxy_css(struct cbproxy *p)
{
	char	prefix[96];

	(void)snprintf(prefix, sizeof(prefix), "/api/cobrowse/proxy?conversation_id=%lld&url=",
	    (long long)p->conv);
	p->css = cbcss_rewrite(p->body.data != NULL ? p->body.data : "", p->body.len, p->url,
	    prefix, &p->css_len);
	if (p->css == NULL)
		p->too_big = 1;
}

static int
cbproxy_run(struct kore_task *t)
{
	struct cbproxy	*p = (struct cbproxy *)t;
	CURL		*c;
	char		*ct = NULL;
	curl_off_t	 len = -1;

	if ((c = curl_easy_init()) == NULL)
		return (KORE_RESULT_OK);
	curl_easy_setopt(c, CURLOPT_URL, p->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 15L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CBPROXY_MAX);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "VirtualBranch-CobrowseProxy/1");
	/* Nobody's cookies or credentials: no cookie engine (never set),
	 * no proxy or .netrc from the environment. */
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, cbproxy_socket);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, p);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, cbproxy_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, p);
	if (curl_easy_perform(c) == CURLE_OK) {
		p->ok = 1;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &p->status);
		if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
			kore_strlcpy(p->type, ct, sizeof(p->type));
		(void)len;
	}
	curl_easy_cleanup(c);
	if (p->ok && p->status == 200 && cbproxy_is_css(p->type))
		cbproxy_css(p);
	return (KORE_RESULT_OK);
}

/* The type without parameters, lower case, when it is one we pass on. */
static const char *
cbproxy_type(char *type)
{
	size_t	i;

	type[strcspn(type, "; ")] = '\0';
	for (i = 0; type[i] != '\0'; i++)
		if (type[i] >= 'A' && type[i] <= 'Z')
			type[i] = (char)(type[i] - 'A' + 'a');
	for (i = 0; i < sizeof(cbproxy_types) / sizeof(cbproxy_types[0]); i++)
		if (strcmp(cbproxy_types[i], type) == 0)
			return (cbproxy_types[i]);
	return (NULL);
}

/* scheme://host[:port] of an http(s) URL into origin; 0 when it is not one. */
static int
cbproxy_origin(const char *url, char *origin, size_t len, int *literal)
{
	CURLU		*u;
	char		*scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pass = NULL;
	unsigned char	 addr[16];
	char		 h[256];
	int		 ok = 0;

	if ((u = curl_url()) == NULL)
		return (0);
	/* No credentials in the URL: they would go out as an Authorization header. */
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER &&
	    curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_NO_PASSWORD &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0)) {
		(void)curl_url_get(u, CURLUPART_PORT, &port, 0);
		kore_strlcpy(h, host, sizeof(h));
		if (h[0] == '[') {
			h[strcspn(h, "]")] = '\0';
			*literal = inet_pton(AF_INET6, h + 1, addr) == 1;
		} else {
			*literal = inet_pton(AF_INET, h, addr) == 1;
		}
		ok = (size_t)snprintf(origin, len, "%s://%s%s%s", scheme, host,
		    port ? ":" : "", port ? port : "") < len;
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(pass);
	curl_url_cleanup(u);
	return (ok);
}

int
cobrowse_proxy(struct vbreq *r)
{
	struct cbproxy	*p;
	struct db_job	*j;
	const char	*type;
	char		 conv[24], url[CBPROXY_URL_MAX + 1], origin[300];
	int		 literal = 0;

	switch (r->step) {
	case 0:
		if (route_query(r, "conversation_id", conv, sizeof(conv)) != 1 ||
		    strspn(conv, "0123456789") != strlen(conv) || strlen(conv) > 15 ||
		    strtoll(conv, NULL, 10) <= 0 || route_query(r, "url", url, sizeof(url)) != 1 ||
		    !cbproxy_origin(url, origin, sizeof(origin), &literal)) {
			vb_error(r, 400, "invalid", "conversation_id and an http(s) url are required");
			return (VB_DONE);
		}
		sbuf_reset(&r->ext);
		sbuf_add(&r->ext, url, strlen(url) + 1);
		sbuf_add(&r->ext, conv, strlen(conv) + 1);
		j = vb_job(r);
		db_add(j, Q_COBROWSE_PROXY_OK, 2, conv, origin);
		return (vb_db_submit(r, j, 1));
	case 1:
		if (vb_db_error(r))
			return (VB_DONE);
		p = kore_calloc(1, sizeof(*p));
		kore_strlcpy(p->url, r->ext.data, sizeof(p->url));
		p->conv = strtoll(r->ext.data + strlen(r->ext.data) + 1, NULL, 10);
		(void)cbproxy_origin(p->url, origin, sizeof(origin), &p->literal);
		sbuf_init(&p->body);
		kore_task_create(&p->task, cbproxy_run);
		kore_task_bind_request(&p->task, r->req);
		r->cbproxy = p;
		r->step = 2;
		http_request_sleep(r->req);
		kore_task_run(&p->task);
		return (VB_WAIT);
	case 2:
		p = r->cbproxy;
		if (!kore_task_finished(&p->task)) {
			http_request_sleep(r->req);
			return (VB_WAIT);
		}
		if (p->refused) {
			vb_log(LOG_NOTICE, "cobrowse proxy: refused a private address for %s", p->url);
			vb_error(r, 403, "private_address", "The address is private");
		} else if (p->too_big) {
			vb_error(r, 413, "too_large", "The asset is larger than 5 MiB");
		} else if (!p->ok) {
			vb_error(r, 502, "fetch_failed", "The asset could not be fetched");
		} else if (p->status >= 300 && p->status < 400) {
			vb_error(r, 502, "redirect_refused", "Redirects are not followed");
		} else if (p->status != 200) {
			vb_error(r, 502, "upstream_status", "The site did not answer 200");
		} else if ((type = cbproxy_type(p->type)) == NULL) {
			vb_error(r, 415, "type_not_allowed", "Only style sheets, images and fonts are passed on");
		} else {
			r->status = 200;
			http_response_header(r->req, "content-type", type);
			http_response_header(r->req, "x-content-type-options", "nosniff");
			http_response_header(r->req, "content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox");
			http_response_header(r->req, "cache-control", "private, max-age=300");
			if (p->css != NULL)
				http_response(r->req, 200, p->css, p->css_len);
			else
				http_response(r->req, 200, p->body.data, p->body.len);
		}
		cobrowse_free(r);
		return (VB_DONE);
	}
	fatal("cobrowse_proxy: step %d", r->step);
}

void
cobrowse_free(struct vbreq *r)
{
	struct cbproxy	*p = r->cbproxy;

	if (p == NULL || !kore_task_finished(&p->task))
		return;
	kore_task_destroy(&p->task);
	sbuf_free(&p->body);
	free(p->css);
	kore_free(p);
	r->cbproxy = NULL;
}

/* Stored sessions ----------------------------------------------------------- */

#define CBREPLAY_MAX	(128 * 1024 * 1024)	/* decompressed bytes answered */

/* A chunk (bytea as text: \x and hex) inflated onto b; 0 when it is not one. */
static int
cobrowse_inflate(struct sbuf *b, const char *hex)
{
	unsigned char	*bin, out[65536];
	size_t		 hlen, blen;
	z_stream	 z;
	int		 rc, ok = 0;

	if (hex == NULL || strncmp(hex, "\\x", 2) != 0 || (hlen = strlen(hex + 2)) % 2 != 0)
		return (0);
	bin = kore_malloc(hlen / 2 + 1);
	if (sodium_hex2bin(bin, hlen / 2 + 1, hex + 2, hlen, NULL, &blen, NULL) != 0) {
		kore_free(bin);
		return (0);
	}
	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK) {
		kore_free(bin);
		return (0);
	}
	z.next_in = bin;
	z.avail_in = (uInt)blen;
	do {
		z.next_out = out;
		z.avail_out = sizeof(out);
		rc = inflate(&z, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END)
			break;
		sbuf_add(b, out, sizeof(out) - z.avail_out);
		if (b->len > CBREPLAY_MAX)
			break;
	} while (rc != Z_STREAM_END);
	ok = rc == Z_STREAM_END;
	inflateEnd(&z);
	kore_free(bin);
	return (ok);
}

/*
 * GET /api/cobrowse/sessions/:id/recording (console.agent; the database
 * checks recordings.read or a place in the chat, and audits): the page data
 * of a stored session, lines "<batch> <part> <parts>\t<data>".
 */
int
cobrowse_recording(struct vbreq *r)
{
	struct db_job	*j;
	struct sbuf	 b;
	char		 id[24];
	int		 i, bad = 0;

	switch (r->step) {
	case 0:
		(void)snprintf(id, sizeof(id), "%lld", (long long)r->path_id[0]);
		j = vb_job(r);
		db_add(j, Q_COBROWSE_RECORDING, 1, id);
		return (vb_db_submit(r, j, 1));
	case 1:
		if (vb_db_error(r))
			return (VB_DONE);
		sbuf_init(&b);
		for (i = 0; i < db_rows(r->job, 0) && b.len <= CBREPLAY_MAX; i++)
			if (!cobrowse_inflate(&b, db_value(r->job, 0, i, 1)))
				bad++;
		if (bad > 0)
			vb_log(LOG_NOTICE, "req %s: cobrowse: %d stored chunks unreadable", r->reqid, bad);
		r->status = 200;
		http_response_header(r->req, "content-type", "text/plain; charset=utf-8");
		http_response_header(r->req, "x-content-type-options", "nosniff");
		http_response_header(r->req, "content-security-policy", "sandbox; default-src 'none'");
		http_response_header(r->req, "cache-control", "private, no-store");
		if (b.len > CBREPLAY_MAX)
			http_response_header(r->req, "x-vb-truncated", "1");
		http_response(r->req, 200, b.data, b.len);
		sbuf_free(&b);
		return (VB_DONE);
	}
	fatal("cobrowse_recording: step %d", r->step);
}

static void
cobrowse_sweep_done(struct db_job *j, void *arg)
{
	(void)arg;
	if (j->failed)
		vb_log(LOG_NOTICE, "cobrowse sweep: %s", j->errmsg);
	else if (db_value(j, 0, 0, 0) != NULL && strcmp(db_value(j, 0, 0, 0), "0") != 0)
		vb_log(LOG_INFO, "cobrowse sweep: %s stored sessions past retention deleted",
		    db_value(j, 0, 0, 0));
	db_job_free(j);
}

static void
cobrowse_sweep(void *arg, u_int64_t now)
{
	struct db_job	*j;

	(void)arg;
	(void)now;
	j = db_job_new();
	db_add(j, Q_COBROWSE_SWEEP, 0);
	if (!db_submit(j, cobrowse_sweep_done, NULL))
		db_job_free(j);
}

/* Every ten minutes, on the first worker: stored sessions past retention. */
void
cobrowse_init(void)
{
	if (worker != NULL && worker->id == 1)
		(void)kore_timer_add(cobrowse_sweep, 10 * 60 * 1000, NULL, 0);
}
