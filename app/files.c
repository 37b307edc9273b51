/*
 * File transfer inside a chat (W7) and transcript download (W8).
 *
 * Upload: POST /api/conversations/:id/files?name=NAME with the raw file as
 * the body. Kore spools bodies above http_body_disk_offload to disk, so a
 * large upload never sits in worker memory; we copy it to a temporary file
 * under $VB_VAR/files/tmp (hashing as we go), sniff its type with libmagic
 * from the first bytes, fsync and rename it to its content address
 * $VB_VAR/files/<tenant>/<sha[0:2]>/<sha256>, and only then record it and
 * its chat message in one transaction. The stored message is fanned out
 * like any other (hub_publish) and replays on resume.
 *
 * Download and transcript answers are memory-mapped files streamed by Kore,
 * with headers that keep uploaded content inert on our origin (nosniff,
 * CSP sandbox, attachment unless an image is asked for inline).
 *
 * Who asks: a customer by widget token (Authorization: Bearer; on GET also
 * ?token= so that the panel can render plain links), else staff with a full
 * session (CSRF header checked here for POST, as these routes are public to
 * the dispatcher) and console.agent; the conversation rule is the hub's.
 */

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <magic.h>
#include <sodium.h>
#include <unistd.h>
#include <zip.h>

#include "vb.h"
#include "fileutil.h"
#include "queries.h"

#define FILES_SNIFF_MAX		(256 * 1024)	/* bytes libmagic sees */
#define FILES_RATE_MAX		20		/* uploads per conversation per minute */
#define FILES_GO		2		/* who is known: carry on now */

struct files_req {
	int		customer;
	int64_t		who;
	int64_t		tenant;
	int64_t		size;
	const struct file_type *type;
	char		name[FILE_NAME_MAX * 4 + 16];
	char		sha[65];
};

static magic_t	files_magic;
static char	files_root[1024];	/* checked to fit, so paths fit PATH_MAX */

void
files_init(void)
{
	const char	*var = getenv("VB_VAR");
	char		 tmp[PATH_MAX];

	if (snprintf(files_root, sizeof(files_root), "%s/files", var ? var : ".") >=
	    (int)sizeof(files_root))
		fatal("files: VB_VAR is too long");
	(void)snprintf(tmp, sizeof(tmp), "%s/tmp", files_root);
	if ((mkdir(files_root, 0700) == -1 && errno != EEXIST) ||
	    (mkdir(tmp, 0700) == -1 && errno != EEXIST))
		fatal("files: cannot create %s: %s", tmp, strerror(errno));
	files_magic = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS |
	    MAGIC_NO_CHECK_TAR);
	if (files_magic == NULL || magic_load(files_magic, NULL) != 0)
		fatal("files: libmagic: %s", files_magic ? magic_error(files_magic) : "open");
}

void
files_free(struct vbreq *r)
{
	kore_free(r->files);
	r->files = NULL;
}

static struct files_req *
files_req(struct vbreq *r)
{
	if (r->files == NULL)
		r->files = kore_calloc(1, sizeof(*r->files));
	return (r->files);
}

/* A job under the asker's organisation (customers have no session). */
static struct db_job *
files_job(struct vbreq *r)
{
	struct db_job	*j;

	if (!r->files->customer)
		return (vb_job(r));
	j = db_job_new();
	db_job_tenant(j, r->files->tenant, 0, r->addr, r->reqid);
	return (j);
}

/* An integral JSON number (Kore parses positive ones as unsigned). */
static int
files_item_int(struct kore_json_item *it, int64_t *out)
{
	if (it->type == KORE_JSON_TYPE_INTEGER) {
		*out = it->data.s64;
		return (1);
	}
	if (it->type == KORE_JSON_TYPE_INTEGER_U64 && it->data.u64 <= INT64_MAX) {
		*out = (int64_t)it->data.u64;
		return (1);
	}
	if (it->type == KORE_JSON_TYPE_NUMBER && it->data.number >= -9e15 &&
	    it->data.number <= 9e15 && it->data.number == (double)(int64_t)it->data.number) {
		*out = (int64_t)it->data.number;
		return (1);
	}
	return (0);
}

/* Who asks --------------------------------------------------------------- */

static int
files_token(struct vbreq *r, int query_ok, char *token, size_t len)
{
	const char	*h;

	if (http_request_header(r->req, "authorization", &h)) {
		if (strncasecmp(h, "Bearer ", 7) != 0 || strlen(h + 7) >= len)
			return (-1);
		kore_strlcpy(token, h + 7, len);
		return (util_token_valid(token, 60) ? 1 : -1);
	}
	if (!query_ok)
		return (0);
	switch (route_query(r, "token", token, len)) {
	case 0:
		return (0);
	case 1:
		return (util_token_valid(token, 60) ? 1 : -1);
	}
	return (-1);
}

/*
 * Starts finding out who asks. VB_DONE: refused (answered). VB_WAIT: a
 * widget token is being looked up; the handler resumes at next and calls
 * files_who_done. FILES_GO: staff, carry on.
 */
static int
files_who(struct vbreq *r, int query_token, int next)
{
	struct files_req	*fr = files_req(r);
	const char		*h;
	char			 token[64], hash[65];
	struct db_job		*j;
	int			 rc;

	if ((rc = files_token(r, query_token, token, sizeof(token))) == 1) {
		fr->customer = 1;
		util_sha256_hex(token, strlen(token), hash);
		j = vb_job(r);
		db_add(j, Q_WIDGET_SESSION_GET, 1, hash);
		return (vb_db_submit(r, j, next));
	}
	if (rc == -1) {
		vb_error(r, 401, "unauthenticated", "The widget token is not valid");
		return (VB_DONE);
	}
	if (!r->sess.valid || !r->sess.mfa_ok) {
		vb_error(r, 401, "unauthenticated", "A widget token or a staff session is required");
		return (VB_DONE);
	}
	if (r->req->method == HTTP_METHOD_POST &&
	    (!http_request_header(r->req, "x-csrf-token", &h) || !util_ct_equal(h, r->sess.csrf))) {
		vb_error(r, 403, "csrf", "Missing or wrong CSRF token; reload the page");
		return (VB_DONE);
	}
	if (r->sess.must_change || !vb_has_perm(r, "console.agent")) {
		vb_error(r, 403, "forbidden", "You do not have permission for this");
		return (VB_DONE);
	}
	fr->who = r->sess.user_id;
	fr->tenant = r->sess.tenant_id;
	return (FILES_GO);
}

/* After the widget token lookup; 0 when refused (answered). */
static int
files_who_done(struct vbreq *r)
{
	if (vb_db_error(r))
		return (0);
	if (db_rows(r->job, 0) != 1) {
		vb_error(r, 401, "unauthenticated", "The widget token is unknown or expired");
		return (0);
	}
	r->files->tenant = strtoll(db_value(r->job, 0, 0, 0), NULL, 10);
	r->files->who = strtoll(db_value(r->job, 0, 0, 2), NULL, 10);
	return (1);
}

static const char *
files_kind(struct vbreq *r)
{
	return (r->files->customer ? "customer" : "staff");
}

/* One SQL call (conv or file id, kind, who) under the asker's tenant. */
static int
files_call(struct vbreq *r, const char *q, int next)
{
	struct db_job	*j;
	char		 id[24], who[24];

	(void)snprintf(id, sizeof(id), "%lld", (long long)r->path_id[0]);
	(void)snprintf(who, sizeof(who), "%lld", (long long)r->files->who);
	j = files_job(r);
	db_add(j, q, 3, id, files_kind(r), who);
	return (vb_db_submit(r, j, next));
}

/* Serving a stored file ---------------------------------------------------- */

static int
files_unmap(struct netbuf *nb)
{
	(void)munmap(nb->extra, nb->b_len);
	return (KORE_RESULT_OK);
}

/*
 * Streams fd (closed here) with the headers that keep it inert: nosniff, a
 * sandbox CSP, and a Content-Disposition for name.
 */
static void
files_send(struct vbreq *r, int fd, const char *type, const char *name, int inline_)
{
	struct stat	 st;
	struct sbuf	 b;
	void		*map = NULL;

	if (fstat(fd, &st) == -1 || (st.st_size > 0 && (map = mmap(NULL, (size_t)st.st_size,
	    PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)) {
		vb_log(LOG_ERR, "req %s: files: map: %s", r->reqid, strerror(errno));
		(void)close(fd);
		vb_error(r, 500, "internal", "Something went wrong on our side");
		return;
	}
	(void)close(fd);
	r->status = 200;
	http_response_header(r->req, "x-request-id", r->reqid);
	http_response_header(r->req, "x-content-type-options", "nosniff");
	http_response_header(r->req, "content-security-policy", "sandbox; default-src 'none'");
	http_response_header(r->req, "x-frame-options", "DENY");
	http_response_header(r->req, "referrer-policy", "no-referrer");
	http_response_header(r->req, "cross-origin-resource-policy", "same-origin");
	http_response_header(r->req, "cache-control", "private, no-store");
	if (vb_secure_cookies())
		http_response_header(r->req, "strict-transport-security", "max-age=31536000");
	http_response_header(r->req, "content-type", type);
	sbuf_init(&b);
	fileutil_disposition(&b, inline_, name);
	http_response_header(r->req, "content-disposition", b.data);
	sbuf_free(&b);
	if (map == NULL || r->req->method == HTTP_METHOD_HEAD) {
		if (map != NULL)
			(void)munmap(map, (size_t)st.st_size);
		http_response_stream(r->req, 200, NULL, (size_t)st.st_size, NULL, NULL);
		return;
	}
	http_response_stream(r->req, 200, map, (size_t)st.st_size, files_unmap, map);
}

static void
files_blob_path(char *out, size_t len, int64_t tenant, const char *sha)
{
	(void)snprintf(out, len, "%s/%lld/%.2s/%s", files_root, (long long)tenant, sha, sha);
}

/* Upload ---------------------------------------------------------------------- */

static int
files_mkdirs(int64_t tenant, const char *sha)
{
	char	p[PATH_MAX];

	(void)snprintf(p, sizeof(p), "%s/%lld", files_root, (long long)tenant);
	if (mkdir(p, 0700) == -1 && errno != EEXIST)
		return (0);
	(void)snprintf(p, sizeof(p), "%s/%lld/%.2s", files_root, (long long)tenant, sha);
	if (mkdir(p, 0700) == -1 && errno != EEXIST)
		return (0);
	return (1);
}

/* The limits the check answered: max_bytes and whether type is allowed. */
static int
files_allowed(const char *settings, const char *type, int64_t *max)
{
	struct kore_json	 json;
	struct kore_json_item	*it, *e;
	int			 ok = 0;

	*max = FILE_BYTES_DEFAULT;
	kore_json_init(&json, settings, strlen(settings));
	if (!kore_json_parse(&json) || json.root == NULL) {
		kore_json_cleanup(&json);
		return (0);
	}
	TAILQ_FOREACH(it, &json.root->data.items, list) {
		if (it->name == NULL)
			continue;
		if (strcmp(it->name, "max_bytes") == 0)
			(void)files_item_int(it, max);
		if (strcmp(it->name, "types") == 0 && it->type == KORE_JSON_TYPE_ARRAY) {
			TAILQ_FOREACH(e, &it->data.items, list)
				if (type != NULL && e->type == KORE_JSON_TYPE_STRING &&
				    strcmp(e->data.string, type) == 0)
					ok = 1;
		}
	}
	kore_json_cleanup(&json);
	return (ok);
}

static int
files_write_all(int fd, const void *p, size_t n)
{
	const char	*c = p;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return (0);
		}
		c += w;
		n -= (size_t)w;
	}
	return (1);
}

/*
 * Copies the body to a temporary file, hashing it and keeping its first
 * bytes for libmagic. 0 on an I/O error (logged).
 */
static int
files_spool(struct vbreq *r, int fd, unsigned char *head, size_t *headlen)
{
	crypto_hash_sha256_state	 st;
	unsigned char			 buf[65536], dig[crypto_hash_sha256_BYTES];
	ssize_t				 n;
	int64_t				 total = 0;

	*headlen = 0;
	crypto_hash_sha256_init(&st);
	if (http_body_rewind(r->req) != KORE_RESULT_OK)
		return (0);
	while ((n = http_body_read(r->req, buf, sizeof(buf))) > 0) {
		if (*headlen < FILES_SNIFF_MAX) {
			size_t	k = MIN((size_t)n, FILES_SNIFF_MAX - *headlen);
			memcpy(head + *headlen, buf, k);
			*headlen += k;
		}
		crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
		if (!files_write_all(fd, buf, (size_t)n))
			return (0);
		total += n;
	}
	if (n == -1 || fsync(fd) == -1)
		return (0);
	crypto_hash_sha256_final(&st, dig);
	util_hex(dig, sizeof(dig), r->files->sha);
	r->files->size = total;
	return (1);
}

/*
 * Sniffs, checks against the site's settings and stores the body. 1 with
 * the blob in place; 0 with the error answered and nothing kept.
 */
static int
files_store(struct vbreq *r, const char *settings)
{
	struct files_req	*fr = r->files;
	unsigned char		*head;
	const char		*sniffed;
	char			 tmp[PATH_MAX], dst[PATH_MAX], name[sizeof(fr->name)];
	size_t			 headlen;
	int64_t			 max;
	int			 fd, rc;

	/* Kore knows the length already: refuse before copying anything. */
	(void)files_allowed(settings, NULL, &max);
	if (r->req->http_body_length == 0) {
		vb_error(r, 400, "empty_file", "The file is empty");
		return (0);
	}
	if ((int64_t)r->req->http_body_length > max) {
		vb_error(r, 413, "too_large", "The file is larger than this chat allows");
		return (0);
	}
	(void)snprintf(tmp, sizeof(tmp), "%s/tmp/up-XXXXXX", files_root);
	if ((fd = mkstemp(tmp)) == -1) {
		vb_log(LOG_ERR, "req %s: files: mkstemp: %s", r->reqid, strerror(errno));
		vb_error(r, 500, "internal", "Something went wrong on our side");
		return (0);
	}
	head = kore_malloc(FILES_SNIFF_MAX);
	if (!files_spool(r, fd, head, &headlen)) {
		vb_log(LOG_ERR, "req %s: files: spool: %s", r->reqid, strerror(errno));
		vb_error(r, 500, "internal", "Something went wrong on our side");
		goto fail;
	}
	if (fr->size == 0) {
		vb_error(r, 400, "empty_file", "The file is empty");
		goto fail;
	}
	if (fr->size > max) {
		vb_error(r, 413, "too_large", "The file is larger than this chat allows");
		goto fail;
	}
	sniffed = magic_buffer(files_magic, head, headlen);
	rc = fileutil_match(sniffed, fr->name, name, sizeof(name), &fr->type);
	if (rc == FILE_MISMATCH) {
		vb_error(r, 415, "type_mismatch",
		    "The file's content does not match its name");
		goto fail;
	}
	if (rc != FILE_OK || !files_allowed(settings, fr->type->mime, &max)) {
		vb_error(r, 415, "type_not_allowed", "This type of file is not allowed here");
		goto fail;
	}
	kore_strlcpy(fr->name, name, sizeof(fr->name));
	files_blob_path(dst, sizeof(dst), fr->tenant, fr->sha);
	if (!files_mkdirs(fr->tenant, fr->sha) || rename(tmp, dst) == -1) {
		vb_log(LOG_ERR, "req %s: files: store %s: %s", r->reqid, dst, strerror(errno));
		vb_error(r, 500, "internal", "Something went wrong on our side");
		goto fail;
	}
	(void)close(fd);
	kore_free(head);
	return (1);
fail:
	(void)close(fd);
	(void)unlink(tmp);
	kore_free(head);
	return (0);
}

static void
files_upload_answer(struct vbreq *r)
{
	const char	*msg, *queued;
	struct sbuf	 b;

	if ((msg = db_value(r->job, 0, 0, 0)) == NULL) {
		vb_error(r, 500, "internal", "Something went wrong on our side");
		return;
	}
	queued = db_value(r->job, 0, 0, 1);
	sbuf_init(&b);
	sbuf_adds(&b, "{\"message\":");
	sbuf_adds(&b, msg);
	sbuf_addc(&b, '}');
	vb_json(r, 201, b.data, b.len);
	sbuf_free(&b);
	hub_publish(r->path_id[0], msg, strlen(msg), 0);
	if (r->files->customer && queued != NULL && queued[0] == 't')
		hub_route_tenant(r->files->tenant);
}

/*
 * Steps: 0 name and who; 1 widget token looked up; 2 rate limit asked;
 * 3 access, open conversation and limits asked; 4 body stored, recorded;
 * 5 answered and fanned out.
 */
int
files_upload(struct vbreq *r)
{
	struct files_req	*fr;
	struct db_job		*j;
	char			 raw[1024], conv[24], who[24], size[24];
	int			 rc;

	switch (r->step) {
	case 0:
		fr = files_req(r);
		if (route_query(r, "name", raw, sizeof(raw)) != 1 ||
		    !fileutil_name_clean(raw, strlen(raw), fr->name, sizeof(fr->name))) {
			vb_error_field(r, 422, "bad_name", "The file name is missing or not valid "
			    "(1 to 200 characters, no slashes or control characters)", "name");
			return (VB_DONE);
		}
		if ((rc = files_who(r, 0, 1)) != FILES_GO)
			return (rc);
		/* FALLTHROUGH */
	case 1:
		if (r->step == 1 && !files_who_done(r))
			return (VB_DONE);
		return (vb_rds(r, 2, "EVAL %s 1 vb:fup:%lld 60",
		    "local n = redis.call('INCR', KEYS[1]) "
		    "if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n",
		    (long long)r->path_id[0]));
	case 2:
		if (!r->rres.ok) {
			vb_error(r, 503, "unavailable", "File transfer is unavailable; try again shortly");
			return (VB_DONE);
		}
		if (r->rres.ints[0] > FILES_RATE_MAX) {
			http_response_header(r->req, "retry-after", "60");
			vb_error(r, 429, "rate_limited", "Too many files in this chat; wait a minute");
			return (VB_DONE);
		}
		return (files_call(r, Q_FILE_UPLOAD_CHECK, 3));
	case 3:
		if (vb_db_error(r))
			return (VB_DONE);
		if (db_value(r->job, 0, 0, 0) == NULL || !files_store(r, db_value(r->job, 0, 0, 0)))
			return (VB_DONE);
		fr = r->files;
		(void)snprintf(conv, sizeof(conv), "%lld", (long long)r->path_id[0]);
		(void)snprintf(who, sizeof(who), "%lld", (long long)fr->who);
		(void)snprintf(size, sizeof(size), "%lld", (long long)fr->size);
		j = files_job(r);
		db_add(j, Q_FILE_ADD, 7, conv, files_kind(r), who, fr->name, fr->type->mime,
		    size, fr->sha);
		return (vb_db_submit(r, j, 4));
	case 4:
		if (!vb_db_error(r))
			files_upload_answer(r);
		return (VB_DONE);
	}
	fatal("files_upload: step %d", r->step);
}

/* Download -------------------------------------------------------------------- */

static const char *
files_json_str(struct kore_json_item *root, const char *name)
{
	struct kore_json_item	*it;

	TAILQ_FOREACH(it, &root->data.items, list)
		if (it->name != NULL && strcmp(it->name, name) == 0 &&
		    it->type == KORE_JSON_TYPE_STRING)
			return (it->data.string);
	return (NULL);
}

static void
files_download_answer(struct vbreq *r, const char *res)
{
	struct kore_json	 json;
	const char		*name, *type, *sha;
	const struct file_type	*t;
	char			 path[PATH_MAX], q[8];
	int			 fd, inline_;

	kore_json_init(&json, res, strlen(res));
	if (!kore_json_parse(&json) || json.root == NULL ||
	    (name = files_json_str(json.root, "name")) == NULL ||
	    (type = files_json_str(json.root, "type")) == NULL ||
	    (sha = files_json_str(json.root, "sha256")) == NULL || strlen(sha) != 64 ||
	    strspn(sha, "0123456789abcdef") != 64) {
		kore_json_cleanup(&json);
		vb_error(r, 500, "internal", "Something went wrong on our side");
		return;
	}
	files_blob_path(path, sizeof(path), r->files->tenant, sha);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		vb_log(LOG_ERR, "req %s: files: open %s: %s", r->reqid, path, strerror(errno));
		kore_json_cleanup(&json);
		vb_error(r, 404, "not_found", "No such file");
		return;
	}
	t = fileutil_type(type);
	inline_ = route_query(r, "inline", q, sizeof(q)) == 1 && strcmp(q, "1") == 0 &&
	    t != NULL && t->image;
	files_send(r, fd, type, name, inline_);
	kore_json_cleanup(&json);
}

/* GET /api/files/:id (staff; customer with ?token= or Bearer). */
int
files_download(struct vbreq *r)
{
	int	rc;

	switch (r->step) {
	case 0:
		if ((rc = files_who(r, 1, 1)) != FILES_GO)
			return (rc);
		/* FALLTHROUGH */
	case 1:
		if (r->step == 1 && !files_who_done(r))
			return (VB_DONE);
		return (files_call(r, Q_FILE_GET, 2));
	case 2:
		if (vb_db_error(r))
			return (VB_DONE);
		if (db_value(r->job, 0, 0, 0) == NULL) {
			vb_error(r, 404, "not_found", "No such file");
			return (VB_DONE);
		}
		files_download_answer(r, db_value(r->job, 0, 0, 0));
		return (VB_DONE);
	}
	fatal("files_download: step %d", r->step);
}

/* GET /api/conversations/:id/files: the site's limits and the files. */
int
files_list(struct vbreq *r)
{
	const char	*v;
	int		 rc;

	switch (r->step) {
	case 0:
		if ((rc = files_who(r, 1, 1)) != FILES_GO)
			return (rc);
		/* FALLTHROUGH */
	case 1:
		if (r->step == 1 && !files_who_done(r))
			return (VB_DONE);
		return (files_call(r, Q_CONVERSATION_FILES, 2));
	case 2:
		if (vb_db_error(r))
			return (VB_DONE);
		v = db_value(r->job, 0, 0, 0);
		vb_json(r, 200, v ? v : "{}", v ? strlen(v) : 2);
		return (VB_DONE);
	}
	fatal("files_list: step %d", r->step);
}

/* Transcript (W8) ---------------------------------------------------------------- */

static struct kore_json_item *
files_json_member(struct kore_json_item *root, const char *name)
{
	struct kore_json_item	*it;

	TAILQ_FOREACH(it, &root->data.items, list)
		if (it->name != NULL && strcmp(it->name, name) == 0)
			return (it);
	return (NULL);
}

static int64_t
files_json_int(struct kore_json_item *root, const char *name)
{
	struct kore_json_item	*it = files_json_member(root, name);
	int64_t			 v;

	return (it != NULL && files_item_int(it, &v) ? v : 0);
}

static void
files_html_dd(struct sbuf *h, const char *dt, const char *dd)
{
	if (dd == NULL || *dd == '\0')
		return;
	sbuf_adds(h, "<dt>");
	sbuf_adds(h, dt);
	sbuf_adds(h, "</dt><dd>");
	fileutil_html(h, dd);
	sbuf_adds(h, "</dd>\n");
}

static void
files_html_size(struct sbuf *h, int64_t n)
{
	if (n < 1024)
		sbuf_addf(h, "%lld bytes", (long long)n);
	else if (n < 1024 * 1024)
		sbuf_addf(h, "%.1f KB", (double)n / 1024.0);
	else
		sbuf_addf(h, "%.1f MB", (double)n / (1024.0 * 1024.0));
}

/* The file entry of a message, or NULL. */
static struct kore_json_item *
files_find(struct kore_json_item *files, int64_t id)
{
	struct kore_json_item	*f;

	if (files == NULL || id <= 0)
		return (NULL);
	TAILQ_FOREACH(f, &files->data.items, list)
		if (f->type == KORE_JSON_TYPE_OBJECT && files_json_int(f, "id") == id)
			return (f);
	return (NULL);
}

static void
files_html_message(struct sbuf *h, struct kore_json_item *m, struct kore_json_item *files)
{
	struct kore_json_item	*f;
	const char		*kind, *text, *p, *name, *type;
	const struct file_type	*t;
	struct sbuf		 zn;

	kind = files_json_str(m, "kind");
	text = files_json_str(m, "text");
	sbuf_addf(h, "<li class=\"%s\"><p class=\"meta\"><strong>",
	    kind && strcmp(kind, "customer") == 0 ? "customer" :
	    kind && strcmp(kind, "system") == 0 ? "system" : "staff");
	fileutil_html(h, files_json_str(m, "sender") ? files_json_str(m, "sender") : "");
	sbuf_adds(h, "</strong> <time>");
	fileutil_html(h, files_json_str(m, "at") ? files_json_str(m, "at") : "");
	sbuf_adds(h, "</time></p>\n");
	f = files_find(files, files_json_int(m, "file_id"));
	if (f != NULL && (name = files_json_str(f, "name")) != NULL) {
		sbuf_init(&zn);
		fileutil_zip_name(&zn, files_json_int(f, "id"), name);
		sbuf_adds(h, "<p class=\"file\">Attached file: <a href=\"");
		fileutil_url_path(h, zn.data);
		sbuf_adds(h, "\">");
		fileutil_html(h, name);
		sbuf_adds(h, "</a> (");
		type = files_json_str(f, "type");
		t = fileutil_type(type);
		fileutil_html(h, t ? t->label : (type ? type : ""));
		sbuf_adds(h, ", ");
		files_html_size(h, files_json_int(f, "size"));
		sbuf_adds(h, ")</p>\n");
		sbuf_free(&zn);
	} else {
		sbuf_adds(h, "<p class=\"text\">");
		for (p = text ? text : ""; *p != '\0'; p++) {
			if (*p == '\n') {
				sbuf_adds(h, "<br>");
			} else {
				char	c[2] = { *p, '\0' };
				fileutil_html(h, c);
			}
		}
		sbuf_adds(h, "</p>\n");
	}
	sbuf_adds(h, "</li>\n");
}

static const char files_css[] =
    "body{font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",sans-serif;color:#1b1f24;"
    "max-width:46rem;margin:2rem auto;padding:0 1rem}h1{font-size:1.6rem;margin:0 0 1rem}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1.5rem}"
    "dt{font-weight:600}dd{margin:0}ol{list-style:none;padding:0;margin:0}"
    "li{border-left:4px solid #8a94a6;padding:.4rem .8rem;margin:0 0 .8rem;"
    "break-inside:avoid}li.customer{border-color:#1f6feb}li.staff{border-color:#1a7f37}"
    "li.system{border-color:#bbb;color:#555}.meta{margin:0;font-size:.9rem;color:#444}"
    ".text,.file{margin:.2rem 0 0;white-space:pre-wrap;overflow-wrap:anywhere}"
    "a{color:#0a58ca}footer{margin-top:2rem;font-size:.85rem;color:#555}"
    "@media print{body{margin:0;max-width:none}a{color:inherit}}";

/* The transcript page: self-contained, no script, every value escaped. */
static void
files_transcript_html(struct sbuf *h, struct kore_json_item *root)
{
	struct kore_json_item	*it, *files;
	struct sbuf		 parts;
	const char		*site = files_json_str(root, "site");

	sbuf_adds(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	    "style-src 'unsafe-inline'; img-src 'self'\">\n<title>Chat transcript");
	if (site != NULL && *site != '\0') {
		sbuf_adds(h, " – ");
		fileutil_html(h, site);
	}
	sbuf_addf(h, "</title>\n<style>%s</style>\n</head>\n<body>\n<header>\n"
	    "<h1>Chat transcript</h1>\n<dl>\n", files_css);
	files_html_dd(h, "Organisation", files_json_str(root, "organisation"));
	files_html_dd(h, "Site", site);
	files_html_dd(h, "Started", files_json_str(root, "started"));
	files_html_dd(h, "Ended", files_json_str(root, "ended"));
	sbuf_init(&parts);
	if ((it = files_json_member(root, "participants")) != NULL &&
	    it->type == KORE_JSON_TYPE_ARRAY) {
		TAILQ_FOREACH(it, &it->data.items, list) {
			if (it->type != KORE_JSON_TYPE_STRING)
				continue;
			if (parts.len > 0)
				sbuf_adds(&parts, ", ");
			sbuf_adds(&parts, it->data.string);
		}
	}
	sbuf_addc(&parts, '\0');
	files_html_dd(h, "Participants", parts.data);
	sbuf_free(&parts);
	sbuf_adds(h, "</dl>\n</header>\n<main>\n<h2>Messages</h2>\n<ol>\n");
	files = files_json_member(root, "files");
	if (files != NULL && files->type != KORE_JSON_TYPE_ARRAY)
		files = NULL;
	if ((it = files_json_member(root, "messages")) != NULL &&
	    it->type == KORE_JSON_TYPE_ARRAY) {
		TAILQ_FOREACH(it, &it->data.items, list)
			if (it->type == KORE_JSON_TYPE_OBJECT)
				files_html_message(h, it, files);
	}
	sbuf_adds(h, "</ol>\n</main>\n<footer><p>Generated ");
	fileutil_html(h, files_json_str(root, "generated") ? files_json_str(root, "generated") : "");
	sbuf_adds(h, ". Attached files are in the folder “files” next to this page.</p></footer>\n"
	    "</body>\n</html>\n");
}

/* Builds the zip at path; 0 on failure (logged). */
static int
files_transcript_zip(struct vbreq *r, const char *path, struct kore_json_item *root,
    struct sbuf *html)
{
	struct kore_json_item	*files, *f;
	zip_t			*z;
	zip_source_t		*src;
	zip_int64_t		 idx;
	const char		*name, *sha;
	char			 blob[PATH_MAX];
	struct sbuf		 zn;
	int			 err;

	if ((z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err)) == NULL) {
		vb_log(LOG_ERR, "req %s: transcript: zip_open %d", r->reqid, err);
		return (0);
	}
	if ((src = zip_source_buffer(z, html->data, html->len, 0)) == NULL ||
	    zip_file_add(z, "transcript.html", src, ZIP_FL_ENC_UTF_8) < 0) {
		zip_source_free(src);
		goto fail;
	}
	files = files_json_member(root, "files");
	if (files != NULL && files->type == KORE_JSON_TYPE_ARRAY) {
		TAILQ_FOREACH(f, &files->data.items, list) {
			if (f->type != KORE_JSON_TYPE_OBJECT ||
			    (name = files_json_str(f, "name")) == NULL ||
			    (sha = files_json_str(f, "sha256")) == NULL || strlen(sha) != 64 ||
			    strspn(sha, "0123456789abcdef") != 64)
				goto fail;
			files_blob_path(blob, sizeof(blob), r->files->tenant, sha);
			sbuf_init(&zn);
			fileutil_zip_name(&zn, files_json_int(f, "id"), name);
			sbuf_addc(&zn, '\0');
			if ((src = zip_source_file(z, blob, 0, -1)) == NULL ||
			    (idx = zip_file_add(z, zn.data, src, ZIP_FL_ENC_UTF_8)) < 0) {
				zip_source_free(src);
				sbuf_free(&zn);
				goto fail;
			}
			sbuf_free(&zn);
			/* Images and office files are compressed already. */
			(void)zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
		}
	}
	if (zip_close(z) == 0)
		return (1);
	vb_log(LOG_ERR, "req %s: transcript: zip_close: %s", r->reqid,
	    zip_error_strerror(zip_get_error(z)));
	zip_discard(z);
	return (0);
fail:
	vb_log(LOG_ERR, "req %s: transcript: %s", r->reqid, zip_error_strerror(zip_get_error(z)));
	zip_discard(z);
	return (0);
}

static void
files_transcript_answer(struct vbreq *r, const char *res)
{
	struct kore_json	 json;
	struct sbuf		 html;
	char			 path[PATH_MAX], name[64];
	int			 fd, ok = 0;

	kore_json_init(&json, res, strlen(res));
	sbuf_init(&html);
	(void)snprintf(path, sizeof(path), "%s/tmp/tr-XXXXXX", files_root);
	if (kore_json_parse(&json) && json.root != NULL &&
	    json.root->type == KORE_JSON_TYPE_OBJECT && (fd = mkstemp(path)) != -1) {
		(void)close(fd);
		files_transcript_html(&html, json.root);
		ok = files_transcript_zip(r, path, json.root, &html);
		fd = ok ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		(void)unlink(path);
		if (fd != -1) {
			(void)snprintf(name, sizeof(name), "transcript-%lld.zip",
			    (long long)r->path_id[0]);
			files_send(r, fd, "application/zip", name, 0);
		} else {
			ok = 0;
		}
	}
	if (!ok)
		vb_error(r, 500, "internal", "The transcript could not be made");
	sbuf_free(&html);
	kore_json_cleanup(&json);
}

/* GET /api/conversations/:id/transcript: a zip of the page and the files. */
int
files_transcript(struct vbreq *r)
{
	int	rc;

	switch (r->step) {
	case 0:
		if ((rc = files_who(r, 1, 1)) != FILES_GO)
			return (rc);
		/* FALLTHROUGH */
	case 1:
		if (r->step == 1 && !files_who_done(r))
			return (VB_DONE);
		return (files_call(r, Q_TRANSCRIPT, 2));
	case 2:
		if (vb_db_error(r))
			return (VB_DONE);
		if (db_value(r->job, 0, 0, 0) == NULL) {
			vb_error(r, 404, "not_found", "No such conversation");
			return (VB_DONE);
		}
		files_transcript_answer(r, db_value(r->job, 0, 0, 0));
		return (VB_DONE);
	}
	fatal("files_transcript: step %d", r->step);
}

/* Site settings (admin) ------------------------------------------------------------ */

/* PUT /api/sites/:id/files {enabled, max_bytes, types}: validated, audited. */
int
files_settings_put(struct vbreq *r)
{
	struct kore_json_item	*en, *max, *types, *e;
	const char		*list[16], *err = NULL;
	struct db_job		*j;
	struct sbuf		 b;
	char			 id[24];
	size_t			 n = 0;
	int64_t			 mb = 0;
	int			 ok;

	if (r->step == 1) {
		if (!vb_db_error(r)) {
			const char *v = db_value(r->job, 0, 0, 0);
			sbuf_init(&b);
			sbuf_adds(&b, "{\"files\":");
			sbuf_adds(&b, v ? v : "null");
			sbuf_addc(&b, '}');
			vb_json(r, 200, b.data, b.len);
			sbuf_free(&b);
		}
		return (VB_DONE);
	}
	if (!vb_body_json(r))
		return (VB_DONE);
	en = vb_field(r, "enabled", 0);
	max = vb_field(r, "max_bytes", 0);
	types = vb_field(r, "types", 0);
	ok = en != NULL && en->type == KORE_JSON_TYPE_LITERAL &&
	    (en->data.literal == KORE_JSON_TRUE || en->data.literal == KORE_JSON_FALSE);
	if (ok && max != NULL && !files_item_int(max, &mb))
		mb = 0;
	ok = ok && types != NULL && types->type == KORE_JSON_TYPE_ARRAY;
	if (ok) {
		TAILQ_FOREACH(e, &types->data.items, list) {
			if (n >= sizeof(list) / sizeof(list[0]) || e->type != KORE_JSON_TYPE_STRING) {
				ok = 0;
				break;
			}
			list[n++] = e->data.string;
		}
	}
	sbuf_init(&b);
	if (!ok) {
		err = "enabled (true or false), max_bytes (a number) and types (a list) are required";
	} else if (fileutil_settings(en->data.literal == KORE_JSON_TRUE, mb, list, n, &b, &err)) {
		sbuf_addc(&b, '\0');
		(void)snprintf(id, sizeof(id), "%lld", (long long)r->path_id[0]);
		j = vb_job(r);
		db_add(j, Q_SITE_FILES_SAVE, 2, id, b.data);
		sbuf_free(&b);
		return (vb_db_submit(r, j, 1));
	}
	sbuf_free(&b);
	vb_error(r, 422, "invalid", err);
	return (VB_DONE);
}
