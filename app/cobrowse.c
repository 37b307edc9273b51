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
 * an agent in the chat while its session runs, and only from the site's
 * allowed origins (the database checks). No redirects are followed; at most
 * 5 MiB; only style sheets, images and fonts are passed on, inert (nosniff,
 * sandbox CSP). A host name that resolves to a private, loopback or
 * link-local address is refused; only an allowed origin written as an IP
 * address may be one (an administrator's explicit choice).
 */
#include <sys/stat.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>

#include "vb.h"
#include "queries.h"

#include <kore/tasks.h>
#include <curl/curl.h>

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
		    (v4 >> 22) == (100 << 2 | 1) || v4 >= 0xe0000000);
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
	char		*scheme = NULL, *host = NULL, *port = NULL;
	unsigned char	 addr[16];
	char		 h[256];
	int		 ok = 0;

	if ((u = curl_url()) == NULL)
		return (0);
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
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
		j = vb_job(r);
		db_add(j, Q_COBROWSE_PROXY_OK, 2, conv, origin);
		return (vb_db_submit(r, j, 1));
	case 1:
		if (vb_db_error(r))
			return (VB_DONE);
		p = kore_calloc(1, sizeof(*p));
		kore_strlcpy(p->url, r->ext.data, sizeof(p->url));
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
	kore_free(p);
	r->cbproxy = NULL;
}
