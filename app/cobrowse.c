/*
 * Co-browsing (issue 5), HTTP side: the agent's replay viewer. The console
 * frames it (same origin) and posts it the customer's page events; the
 * viewer rebuilds the page with rrweb's Replayer. It has a CSP of its own:
 * the customer's styles arrive as inline <style> text, which the console's
 * policy rightly refuses, while scripts stay limited to ours (rrweb never
 * runs the page's scripts, and its replay frame is sandboxed without
 * allow-scripts). The real-time side is in hub.c ("Co-browsing") and
 * cbframe.c; settings are table-driven routes (route.c).
 */
#include <sys/stat.h>
#include <fcntl.h>

#include "vb.h"

#define COBROWSE_VIEW	"templates/cobrowse_view.html"
#define COBROWSE_VIEW_MAX	(64 * 1024)

static const char cobrowse_view_csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; frame-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/* GET /console/cobrowse-view: console.agent (route table). */
int
cobrowse_view(struct vbreq *r)
{
	char		 path[PATH_MAX], *buf;
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", vb_root(), COBROWSE_VIEW) >= sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		vb_error(r, 500, "internal", "Viewer page missing");
		return (VB_DONE);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > COBROWSE_VIEW_MAX) {
		close(fd);
		vb_error(r, 500, "internal", "Viewer page unreadable");
		return (VB_DONE);
	}
	buf = kore_malloc((size_t)st.st_size + 1);
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		kore_free(buf);
		vb_error(r, 500, "internal", "Viewer page unreadable");
		return (VB_DONE);
	}
	r->status = 200;
	http_response_header(r->req, "content-security-policy", cobrowse_view_csp);
	http_response_header(r->req, "x-content-type-options", "nosniff");
	http_response_header(r->req, "x-frame-options", "SAMEORIGIN");
	http_response_header(r->req, "referrer-policy", "same-origin");
	http_response_header(r->req, "cache-control", "no-store");
	http_response_header(r->req, "content-type", "text/html; charset=utf-8");
	http_response(r->req, 200, buf, (size_t)n);
	kore_free(buf);
	return (VB_DONE);
}
