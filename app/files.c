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
 * Copying a body Kore spooled to disk and writing a transcript zip run on
 * Kore task threads, off the event loop. Download and transcript answers
 * are memory-mapped files streamed by Kore, with headers that keep uploaded
 * content inert on our origin (nosniff, CSP sandbox, attachment unless an
 * image is asked for inline).
 *
 * Who asks: a customer by widget token (Authorization: Bearer; on GET also
 * ?token= so that the panel can render plain links), else staff with a full
 * session (CSRF header checked here for POST, as these routes are public to
 * the dispatcher) and console.agent; the conversation rule is the hub's.
 */

#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
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

#include <kore/tasks.h>

#define FILES_SNIFF_MAX		(256 * 1024)	/* bytes libmagic sees */
#define FILES_RATE_MAX		20		/* uploads per conversation per minute */
#define FILES_GO		2		/* who is known: carry on now */

/*
 * Work that would stall the worker's event loop runs on one of Kore's task
 * threads: copying and hashing a body Kore spooled to disk, and writing a
 * transcript zip. The thread touches only this struct (plain libc and
 * libzip, no Kore calls); Kore does not free a request while its task runs.
 */
struct files_task {
	struct kore_task	 task;		/* first: Kore casts to it */
	/* spool: body fd in, temp fd out, results */
	int			 in_fd;
	int			 out_fd;
	unsigned char		*head;
	size_t			 headlen;
	int64_t			 size;
	char			 sha[65];
	/* zip */
	char			 path[PATH_MAX];
	struct sbuf		 html;
	char			 (*blobs)[PATH_MAX];
	char			 **names;
	size_t			 nfiles;
	char			 err[160];
	int			 ok;
	int			 started;
};

struct files_req {
	struct files_task *task;
	char		*settings;	/* the site's limits, from the check */
	char		tmp[PATH_MAX];	/* the upload's temporary file */
	int		tmp_fd;
	unsigned char	*head;
	size_t		headlen;
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
	/* Left-overs of a worker that died mid-upload. */
	(void)fileutil_tmp_sweep(tmp, time(NULL), 3600);
	files_magic = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS |
	    MAGIC_NO_CHECK_TAR);
	if (files_magic == NULL || magic_load(files_magic, NULL) != 0)
		fatal("files: libmagic: %s", files_magic ? magic_error(files_magic) : "open");
}

static void
files_task_free(struct files_task *ft)
{
	size_t	i;

	if (ft->started)
		kore_task_destroy(&ft->task);
	sbuf_free(&ft->html);
	for (i = 0; i < ft->nfiles; i++)
		free(ft->names[i]);
	free(ft->names);
	free(ft->blobs);
	kore_free(ft);
}

void
files_free(struct vbreq *r)
{
	struct files_req	*fr = r->files;

	if (fr == NULL)
		return;
	/* Never free under a running thread: leak instead (cannot happen). */
	if (fr->task != NULL && fr->task->started && !kore_task_finished(&fr->task->task))
		return;
	if (fr->task != NULL)
		files_task_free(fr->task);
	if (fr->tmp_fd != -1)
		(void)close(fr->tmp_fd);
	if (fr->tmp[0] != '\0')
		(void)unlink(fr->tmp);
	kore_free(fr->head);
	kore_free(fr->settings);
	kore_free(fr);
	r->files = NULL;
}

static struct files_req *
files_req(struct vbreq *r)
{
	if (r->files == NULL) {
		r->files = kore_calloc(1, sizeof(*r->files));
		r->files->tmp_fd = -1;
	}
	return (r->files);
}

/* Runs fn on a task thread; the handler resumes at step next. */
static int
files_task_start(struct vbreq *r, struct files_task *ft, int (*fn)(struct kore_task *),
    int next)
{
	r->files->task = ft;
	ft->started = 1;
	kore_task_create(&ft->task, fn);
	kore_task_bind_request(&ft->task, r->req);
	r->step = next;
	http_request_sleep(r->req);
	kore_task_run(&ft->task);
	return (VB_WAIT);
}

/* On resume: the finished task, or NULL when the wake-up was early. */
static struct files_task *
files_task_done(struct vbreq *r)
{
	struct files_task	*ft = r->files->task;

	if (ft == NULL)
		fatal("files: no task");
	if (!kore_task_finished(&ft->task)) {
		http_request_sleep(r->req);
		return (NULL);
	}
	return (ft);
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

/* Hashes and copies in to out from the start; keeps the first bytes. */
static int
files_copy(int in, int out, unsigned char *head, size_t *headlen, int64_t *size, char *sha)
{
	crypto_hash_sha256_state	 st;
	unsigned char			 buf[65536], dig[crypto_hash_sha256_BYTES];
	ssize_t				 n;
	off_t				 off = 0;
	size_t				 k;

	*headlen = 0;
	crypto_hash_sha256_init(&st);
	for (;;) {
		if ((n = pread(in, buf, sizeof(buf), off)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (*headlen < FILES_SNIFF_MAX) {
			k = MIN((size_t)n, FILES_SNIFF_MAX - *headlen);
			memcpy(head + *headlen, buf, k);
			*headlen += k;
		}
		crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
		if (!files_write_all(out, buf, (size_t)n))
			return (0);
		off += n;
	}
	if (n == -1 || fsync(out) == -1)
		return (0);
	crypto_hash_sha256_final(&st, dig);
	util_hex(dig, sizeof(dig), sha);
	*size = off;
	return (1);
}

static int
files_task_spool(struct kore_task *t)
{
	struct files_task	*ft = (struct files_task *)t;

	ft->ok = files_copy(ft->in_fd, ft->out_fd, ft->head, &ft->headlen, &ft->size, ft->sha);
	if (!ft->ok)
		(void)snprintf(ft->err, sizeof(ft->err), "%s", strerror(errno));
	return (KORE_RESULT_OK);
}

/* A body Kore kept in memory: small, copied here at once. */
static int
files_spool_memory(struct vbreq *r)
{
	struct files_req	*fr = r->files;
	crypto_hash_sha256_state st;
	unsigned char		 buf[65536], dig[crypto_hash_sha256_BYTES];
	ssize_t			 n;
	size_t			 k;

	crypto_hash_sha256_init(&st);
	if (http_body_rewind(r->req) != KORE_RESULT_OK)
		return (0);
	while ((n = http_body_read(r->req, buf, sizeof(buf))) > 0) {
		if (fr->headlen < FILES_SNIFF_MAX) {
			k = MIN((size_t)n, FILES_SNIFF_MAX - fr->headlen);
			memcpy(fr->head + fr->headlen, buf, k);
			fr->headlen += k;
		}
		crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
		if (!files_write_all(fr->tmp_fd, buf, (size_t)n))
			return (0);
		fr->size += n;
	}
	if (n == -1 || fsync(fr->tmp_fd) == -1)
		return (0);
	crypto_hash_sha256_final(&st, dig);
	util_hex(dig, sizeof(dig), fr->sha);
	return (1);
}

/* Forgets the temporary file (after a rename, or to drop it). */
static void
files_tmp_drop(struct files_req *fr, int unlink_it)
{
	if (fr->tmp_fd != -1)
		(void)close(fr->tmp_fd);
	fr->tmp_fd = -1;
	if (unlink_it && fr->tmp[0] != '\0')
		(void)unlink(fr->tmp);
	fr->tmp[0] = '\0';
}

/*
 * Starts storing the body: refuses empty and oversized bodies before
 * copying anything, then copies to a temporary file — at once when Kore kept
 * the body in memory, on a task thread when it spooled it to disk.
 * VB_DONE (refused, answered), VB_WAIT (thread; resume at next) or
 * FILES_GO (copied; go on with files_store_finish).
 */
static int
files_store_start(struct vbreq *r, int next)
{
	struct files_req	*fr = r->files;
	struct files_task	*ft;
	int64_t			 max;

	(void)files_allowed(fr->settings, NULL, &max);
	if (r->req->http_body_length == 0) {
		vb_error(r, 400, "empty_file", "The file is empty");
		return (VB_DONE);
	}
	if ((int64_t)r->req->http_body_length > max) {
		vb_error(r, 413, "too_large", "The file is larger than this chat allows");
		return (VB_DONE);
	}
	(void)snprintf(fr->tmp, sizeof(fr->tmp), "%s/tmp/up-XXXXXX", files_root);
	if ((fr->tmp_fd = mkstemp(fr->tmp)) == -1) {
		vb_log(LOG_ERR, "req %s: files: mkstemp: %s", r->reqid, strerror(errno));
		fr->tmp[0] = '\0';
		vb_error(r, 500, "internal", "Something went wrong on our side");
		return (VB_DONE);
	}
	fr->head = kore_malloc(FILES_SNIFF_MAX);
	if (r->req->http_body_fd == -1) {
		if (files_spool_memory(r))
			return (FILES_GO);
		vb_log(LOG_ERR, "req %s: files: spool: %s", r->reqid, strerror(errno));
		files_tmp_drop(fr, 1);
		vb_error(r, 500, "internal", "Something went wrong on our side");
		return (VB_DONE);
	}
	ft = kore_calloc(1, sizeof(*ft));
	sbuf_init(&ft->html);
	ft->in_fd = r->req->http_body_fd;
	ft->out_fd = fr->tmp_fd;
	ft->head = fr->head;
	return (files_task_start(r, ft, files_task_spool, next));
}

/* After a threaded copy: its results into the request; 0 on error (answered). */
static int
files_store_copied(struct vbreq *r, struct files_task *ft)
{
	struct files_req	*fr = r->files;

	if (!ft->ok) {
		vb_log(LOG_ERR, "req %s: files: spool: %s", r->reqid, ft->err);
		files_tmp_drop(fr, 1);
		vb_error(r, 500, "internal", "Something went wrong on our side");
		return (0);
	}
	fr->headlen = ft->headlen;
	fr->size = ft->size;
	memcpy(fr->sha, ft->sha, sizeof(fr->sha));
	return (1);
}

/*
 * Sniffs the copied body, checks it against the site's settings and moves
 * it to its content address. 1 with the blob in place; 0 with the error
 * answered and nothing kept.
 */
static int
files_store_finish(struct vbreq *r)
{
	struct files_req	*fr = r->files;
	const char		*sniffed;
	char			 dst[PATH_MAX], name[sizeof(fr->name)];
	int64_t			 max;
	int			 rc;

	(void)files_allowed(fr->settings, NULL, &max);
	if (fr->size == 0) {
		vb_error(r, 400, "empty_file", "The file is empty");
		goto fail;
	}
	if (fr->size > max) {
		vb_error(r, 413, "too_large", "The file is larger than this chat allows");
		goto fail;
	}
	sniffed = magic_buffer(files_magic, fr->head, fr->headlen);
	rc = fileutil_match(sniffed, fr->name, name, sizeof(name), &fr->type);
	if (rc == FILE_MISMATCH) {
		vb_error(r, 415, "type_mismatch",
		    "The file's content does not match its name");
		goto fail;
	}
	if (rc != FILE_OK || !files_allowed(fr->settings, fr->type->mime, &max)) {
		vb_error(r, 415, "type_not_allowed", "This type of file is not allowed here");
		goto fail;
	}
	kore_strlcpy(fr->name, name, sizeof(fr->name));
	files_blob_path(dst, sizeof(dst), fr->tenant, fr->sha);
	if (!files_mkdirs(fr->tenant, fr->sha) || rename(fr->tmp, dst) == -1) {
		vb_log(LOG_ERR, "req %s: files: store %s: %s", r->reqid, dst, strerror(errno));
		vb_error(r, 500, "internal", "Something went wrong on our side");
		goto fail;
	}
	files_tmp_drop(fr, 0);
	return (1);
fail:
	files_tmp_drop(fr, 1);
	return (0);
}

/* Records the stored file and its message. */
static int
files_record(struct vbreq *r)
{
	struct files_req	*fr = r->files;
	struct db_job		*j;
	char			 conv[24], who[24], size[24];

	(void)snprintf(conv, sizeof(conv), "%lld", (long long)r->path_id[0]);
	(void)snprintf(who, sizeof(who), "%lld", (long long)fr->who);
	(void)snprintf(size, sizeof(size), "%lld", (long long)fr->size);
	j = files_job(r);
	db_add(j, Q_FILE_ADD, 7, conv, files_kind(r), who, fr->name, fr->type->mime,
	    size, fr->sha);
	return (vb_db_submit(r, j, 4));
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
 * Steps: 0 name and who; 1 widget token looked up; 2 rate limit answered;
 * 3 access, open conversation and limits answered: copy the body (5 when
 * on a thread), sniff, store and record it; 4 answered and fanned out.
 */
int
files_upload(struct vbreq *r)
{
	struct files_req	*fr;
	struct files_task	*ft;
	char			 raw[1024];
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
		if (db_value(r->job, 0, 0, 0) == NULL) {
			vb_error(r, 500, "internal", "Something went wrong on our side");
			return (VB_DONE);
		}
		r->files->settings = kore_strdup(db_value(r->job, 0, 0, 0));
		if ((rc = files_store_start(r, 5)) != FILES_GO)
			return (rc);
		if (!files_store_finish(r))
			return (VB_DONE);
		return (files_record(r));
	case 5:
		if ((ft = files_task_done(r)) == NULL)
			return (VB_WAIT);
		if (!files_store_copied(r, ft) || !files_store_finish(r))
			return (VB_DONE);
		return (files_record(r));
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

/* On a task thread: writes the zip (page, then the files stored as they are). */
static int
files_task_zip(struct kore_task *t)
{
	struct files_task	*ft = (struct files_task *)t;
	zip_t			*z;
	zip_source_t		*src;
	zip_int64_t		 idx;
	size_t			 i;
	int			 err;

	if ((z = zip_open(ft->path, ZIP_CREATE | ZIP_TRUNCATE, &err)) == NULL) {
		(void)snprintf(ft->err, sizeof(ft->err), "zip_open: error %d", err);
		return (KORE_RESULT_OK);
	}
	if ((src = zip_source_buffer(z, ft->html.data, ft->html.len, 0)) == NULL ||
	    zip_file_add(z, "transcript.html", src, ZIP_FL_ENC_UTF_8) < 0) {
		zip_source_free(src);
		goto fail;
	}
	for (i = 0; i < ft->nfiles; i++) {
		if ((src = zip_source_file(z, ft->blobs[i], 0, -1)) == NULL ||
		    (idx = zip_file_add(z, ft->names[i], src, ZIP_FL_ENC_UTF_8)) < 0) {
			zip_source_free(src);
			goto fail;
		}
		/* Images and office files are compressed already. */
		(void)zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
	}
	if (zip_close(z) == 0) {
		ft->ok = 1;
		return (KORE_RESULT_OK);
	}
fail:
	(void)snprintf(ft->err, sizeof(ft->err), "%s", zip_error_strerror(zip_get_error(z)));
	zip_discard(z);
	return (KORE_RESULT_OK);
}

/* The files of the transcript into the task: blob paths and entry names. */
static int
files_zip_list(struct vbreq *r, struct files_task *ft, struct kore_json_item *root)
{
	struct kore_json_item	*files, *f;
	const char		*name, *sha;
	struct sbuf		 zn;
	size_t			 n = 0;

	files = files_json_member(root, "files");
	if (files == NULL || files->type != KORE_JSON_TYPE_ARRAY)
		return (1);
	TAILQ_FOREACH(f, &files->data.items, list)
		n++;
	if (n == 0)
		return (1);
	if ((ft->blobs = calloc(n, sizeof(*ft->blobs))) == NULL ||
	    (ft->names = calloc(n, sizeof(*ft->names))) == NULL)
		fatal("files: out of memory");
	TAILQ_FOREACH(f, &files->data.items, list) {
		if (f->type != KORE_JSON_TYPE_OBJECT ||
		    (name = files_json_str(f, "name")) == NULL ||
		    (sha = files_json_str(f, "sha256")) == NULL || strlen(sha) != 64 ||
		    strspn(sha, "0123456789abcdef") != 64)
			return (0);
		files_blob_path(ft->blobs[ft->nfiles], PATH_MAX, r->files->tenant, sha);
		sbuf_init(&zn);
		fileutil_zip_name(&zn, files_json_int(f, "id"), name);
		sbuf_addc(&zn, '\0');
		ft->names[ft->nfiles++] = zn.data;	/* the task frees it */
	}
	return (1);
}

/* Prepares the page and the list, then builds the zip on a task thread. */
static int
files_transcript_start(struct vbreq *r, const char *res, int next)
{
	struct kore_json	 json;
	struct files_task	*ft;
	int			 fd, ok;

	ft = kore_calloc(1, sizeof(*ft));
	sbuf_init(&ft->html);
	r->files->task = ft;
	kore_json_init(&json, res, strlen(res));
	ok = kore_json_parse(&json) && json.root != NULL &&
	    json.root->type == KORE_JSON_TYPE_OBJECT;
	if (ok) {
		files_transcript_html(&ft->html, json.root);
		ok = files_zip_list(r, ft, json.root);
	}
	kore_json_cleanup(&json);
	(void)snprintf(ft->path, sizeof(ft->path), "%s/tmp/tr-XXXXXX", files_root);
	if (!ok || (fd = mkstemp(ft->path)) == -1) {
		vb_log(LOG_ERR, "req %s: transcript: cannot start", r->reqid);
		vb_error(r, 500, "internal", "The transcript could not be made");
		return (VB_DONE);
	}
	(void)close(fd);
	kore_strlcpy(r->files->tmp, ft->path, sizeof(r->files->tmp));	/* removed at the end */
	r->files->task = NULL;
	return (files_task_start(r, ft, files_task_zip, next));
}

static void
files_transcript_send(struct vbreq *r, struct files_task *ft)
{
	char	name[64];
	int	fd;

	fd = ft->ok ? open(ft->path, O_RDONLY | O_CLOEXEC) : -1;
	(void)unlink(ft->path);
	r->files->tmp[0] = '\0';
	if (fd == -1) {
		vb_log(LOG_ERR, "req %s: transcript: %s", r->reqid, ft->err[0] ? ft->err : "open");
		vb_error(r, 500, "internal", "The transcript could not be made");
		return;
	}
	(void)snprintf(name, sizeof(name), "transcript-%lld.zip", (long long)r->path_id[0]);
	files_send(r, fd, "application/zip", name, 0);
}

/* GET /api/conversations/:id/transcript: a zip of the page and the files. */
int
files_transcript(struct vbreq *r)
{
	struct files_task	*ft;
	int			 rc;

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
		return (files_transcript_start(r, db_value(r->job, 0, 0, 0), 3));
	case 3:
		if ((ft = files_task_done(r)) == NULL)
			return (VB_WAIT);
		files_transcript_send(r, ft);
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
