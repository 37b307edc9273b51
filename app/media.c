/*
 * The media relay's control socket, from a Kore worker (issue 4; protocol in
 * docs/media.md). Each worker keeps one non-blocking connection to
 * $VB_MEDIA_SOCK, driven by Kore's epoll loop like the Redis connections
 * (rds.c); a timer reconnects every second while it is down. Requests carry
 * an id and a callback; the relay answers in order and the callback gets
 * the answer (or NULL when the relay went away or did not answer within
 * MEDIA_TIMEOUT_MS: the caller tells its client, nothing waits forever).
 *
 * The relay's instance is its "epoch" ("started:pid" from hello). When the
 * socket closes or the epoch changes, every room is gone: the hub is told
 * (hub_media_restart) so browsers in a call make ICE-restart offers, which
 * create the rooms again. Events go to the hub (hub_media_event), except
 * recording.file, handled here by the worker that started that recording.
 */

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include <jansson.h>

#include "vb.h"
#include "queries.h"

#define MEDIA_LINE_MAX		(1024 * 1024)
#define MEDIA_OUT_MAX		(4 * 1024 * 1024)
#define MEDIA_TIMEOUT_MS	5000
#define MEDIA_RECS		256	/* recordings this worker remembers */
#define MEDIA_SWEEP_S		30

struct media_pending {
	int64_t			 id;
	media_cb		 cb;
	void			*arg;
	u_int64_t		 at;
	struct media_pending	*next;
};

struct media_rec {
	char			 id[72];
	int64_t			 tenant;
	int64_t			 call;
};

static struct {
	struct kore_event	 evt;
	int			 fd;
	int			 up;		/* hello answered */
	int			 lost;		/* a connection was lost since */
	struct sbuf		 out;
	size_t			 out_off;
	struct sbuf		 in;
	struct media_pending	*head, *tail;
	int64_t			 next_id;
	char			 epoch[64];
	char			 path[108];
	struct media_rec	 recs[MEDIA_RECS];
	int			 nrec;
} media = { .fd = -1 };

static void	media_close(const char *);
static void	media_flush(void);

const char *
media_epoch(void)
{
	return (media.up && media.epoch[0] != '\0' ? media.epoch : NULL);
}

static void
media_sched(void)
{
	if (media.fd == -1)
		return;
	kore_platform_event_schedule(media.fd, EPOLLIN | EPOLLRDHUP |
	    (media.out.len > media.out_off ? EPOLLOUT : 0), 0, &media);
}

/* Queues one request line; 0 when it cannot be sent now. */
static int
media_send(json_t *req, int64_t id)
{
	char	*line;

	if (media.fd == -1 || media.out.len - media.out_off > MEDIA_OUT_MAX)
		return (0);
	json_object_set_new(req, "id", json_integer(id));
	if ((line = json_dumps(req, JSON_COMPACT)) == NULL)
		return (0);
	sbuf_adds(&media.out, line);
	sbuf_addc(&media.out, '\n');
	free(line);
	media_flush();
	return (media.fd != -1);
}

static int
media_request_raw(json_t *req, media_cb cb, void *arg)
{
	struct media_pending	*p;
	int64_t			 id = ++media.next_id;

	if (!media_send(req, id))
		return (0);
	p = kore_calloc(1, sizeof(*p));
	p->id = id;
	p->cb = cb;
	p->arg = arg;
	p->at = kore_time_ms();
	if (media.tail != NULL)
		media.tail->next = p;
	else
		media.head = p;
	media.tail = p;
	return (1);
}

/*
 * Sends req (a JSON object; the reference is taken) to the relay; cb gets
 * the answer, or NULL when the relay is gone. 0 (cb never called) when the
 * relay is not connected now.
 */
int
media_request(json_t *req, media_cb cb, void *arg)
{
	int	ok;

	ok = media.up && media_request_raw(req, cb, arg);
	json_decref(req);
	return (ok);
}

/* Every waiting request hears that the relay is gone. */
static void
media_fail_all(void)
{
	struct media_pending	*p;

	while ((p = media.head) != NULL) {
		media.head = p->next;
		if (media.head == NULL)
			media.tail = NULL;
		if (p->cb != NULL)
			p->cb(NULL, p->arg);
		kore_free(p);
	}
}

static void
media_close(const char *why)
{
	if (media.fd == -1)
		return;
	vb_log(LOG_NOTICE, "media: relay connection closed: %s", why);
	(void)close(media.fd);
	media.fd = -1;
	if (media.up)
		media.lost = 1;
	media.up = 0;
	sbuf_reset(&media.out);
	media.out_off = 0;
	sbuf_reset(&media.in);
	media_fail_all();
}

static void
media_flush(void)
{
	ssize_t	n;

	while (media.fd != -1 && media.out.len > media.out_off) {
		n = write(media.fd, media.out.data + media.out_off, media.out.len - media.out_off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN)
				break;
			media_close(strerror(errno));
			return;
		}
		media.out_off += (size_t)n;
	}
	if (media.out_off == media.out.len) {
		sbuf_reset(&media.out);
		media.out_off = 0;
	}
	media_sched();
}

/* The hello answer: a new relay instance means every room is gone. */
static void
media_hello_done(json_t *ans, void *arg)
{
	json_t	*st, *pid;
	char	 ep[64];

	(void)arg;
	if (ans == NULL)
		return;
	st = json_object_get(ans, "started");
	pid = json_object_get(ans, "pid");
	if (!json_is_true(json_object_get(ans, "ok")) || !json_is_integer(st) ||
	    !json_is_integer(pid)) {
		media_close("bad hello answer");
		return;
	}
	(void)snprintf(ep, sizeof(ep), "%lld:%lld", (long long)json_integer_value(st),
	    (long long)json_integer_value(pid));
	media.up = 1;
	if (media.epoch[0] != '\0' && (media.lost || strcmp(ep, media.epoch) != 0)) {
		kore_strlcpy(media.epoch, ep, sizeof(media.epoch));
		media.lost = 0;
		vb_log(LOG_NOTICE, "media: relay restarted (%s): calls restart ICE", ep);
		hub_media_restart();
		return;
	}
	media.lost = 0;
	kore_strlcpy(media.epoch, ep, sizeof(media.epoch));
}

static void
media_connect(void)
{
	struct sockaddr_un	 sun;
	json_t			*req;
	int			 fd;

	if (media.fd != -1 || media.path[0] == '\0')
		return;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	kore_strlcpy(sun.sun_path, media.path, sizeof(sun.sun_path));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 && errno != EINPROGRESS &&
	    errno != EAGAIN) {
		(void)close(fd);
		if (media.up || media.epoch[0] != '\0')
			media.lost = 1;
		return;
	}
	media.fd = fd;
	media.up = 0;
	req = json_pack("{s:s}", "cmd", "hello");
	if (req != NULL)
		(void)media_request_raw(req, media_hello_done, NULL);
	json_decref(req);
	media_sched();
}

/* recording.file: the database learns of the file (vb_recording_add). */
static void
media_rec_done(struct db_job *j, void *arg)
{
	(void)arg;
	if (j->failed)
		vb_log(LOG_ERR, "media: recording file not recorded: %s: %s", j->sqlstate,
		    j->errmsg ? j->errmsg : "");
	db_job_free(j);
}

static const char *
media_jstr(json_t *o, const char *k)
{
	json_t	*v = json_object_get(o, k);

	return (json_is_string(v) ? json_string_value(v) : NULL);
}

static void
media_rec_file(json_t *ev)
{
	const char	*id, *path, *var, *part, *kind, *mime, *sha;
	char		 call[24], tenant[24], started[24], dur[24], bytes[24], prefix[PATH_MAX];
	struct db_job	*j;
	size_t		 pl;
	int		 i;

	if ((id = media_jstr(ev, "recording")) == NULL || (path = media_jstr(ev, "path")) == NULL)
		return;
	for (i = 0; i < media.nrec; i++)
		if (strcmp(media.recs[i].id, id) == 0)
			break;
	if (i == media.nrec)
		return;		/* another worker's */
	var = getenv("VB_VAR");
	(void)snprintf(prefix, sizeof(prefix), "%s/recordings/", var != NULL ? var : ".");
	pl = strlen(prefix);
	if (strncmp(path, prefix, pl) != 0) {
		vb_log(LOG_ERR, "media: recording %s outside %s: %s", id, prefix, path);
		return;
	}
	part = media_jstr(ev, "participant");
	kind = media_jstr(ev, "kind");
	mime = media_jstr(ev, "mime");
	sha = media_jstr(ev, "sha256");
	(void)snprintf(call, sizeof(call), "%lld", (long long)media.recs[i].call);
	(void)snprintf(tenant, sizeof(tenant), "%lld", (long long)media.recs[i].tenant);
	(void)snprintf(started, sizeof(started), "%lld",
	    (long long)json_integer_value(json_object_get(ev, "started")));
	(void)snprintf(dur, sizeof(dur), "%lld",
	    (long long)json_integer_value(json_object_get(ev, "duration_ms")));
	(void)snprintf(bytes, sizeof(bytes), "%lld",
	    (long long)json_integer_value(json_object_get(ev, "bytes")));
	j = db_job_new();
	db_job_tenant(j, media.recs[i].tenant, 0, "media", "");
	db_add(j, Q_CALL_RECORDING_FILE, 9, call, part, kind, path + pl, mime, started, dur,
	    bytes, sha);
	if (!db_submit(j, media_rec_done, j)) {
		vb_log(LOG_ERR, "media: recording file %s not recorded: database busy", path);
		db_job_free(j);
	}
	(void)tenant;
}

static void
media_answer(json_t *msg)
{
	struct media_pending	*p, *prev = NULL;
	json_t			*id = json_object_get(msg, "id");

	for (p = media.head; json_is_integer(id) && p != NULL; prev = p, p = p->next)
		if (p->id == json_integer_value(id))
			break;
	if (p == NULL)
		return;
	if (prev != NULL)
		prev->next = p->next;
	else
		media.head = p->next;
	if (media.tail == p)
		media.tail = prev;
	if (p->cb != NULL)
		p->cb(msg, p->arg);
	kore_free(p);
}

static void
media_read(void)
{
	char	 buf[16384], *nl;
	ssize_t	 n;
	size_t	 off, l;
	json_t	*msg;
	json_error_t err;

	for (;;) {
		n = read(media.fd, buf, sizeof(buf));
		if (n == 0) {
			media_close("the relay closed it");
			return;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				media_close(strerror(errno));
			return;
		}
		sbuf_add(&media.in, buf, (size_t)n);
		off = 0;
		while (off < media.in.len &&
		    (nl = memchr(media.in.data + off, '\n', media.in.len - off)) != NULL) {
			l = (size_t)(nl - (media.in.data + off));
			msg = json_loadb(media.in.data + off, l, 0, &err);
			off += l + 1;
			if (msg == NULL || !json_is_object(msg)) {
				vb_log(LOG_NOTICE, "media: a line from the relay is not JSON");
			} else if (json_is_string(json_object_get(msg, "event"))) {
				if (strcmp(media_jstr(msg, "event"), "recording.file") == 0)
					media_rec_file(msg);
				else
					hub_media_event(msg);
			} else {
				media_answer(msg);
			}
			json_decref(msg);
			if (media.fd == -1)
				return;
		}
		if (off > 0) {
			memmove(media.in.data, media.in.data + off, media.in.len - off);
			media.in.len -= off;
		}
		if (media.in.len > MEDIA_LINE_MAX) {
			media_close("a line longer than 1 MiB");
			return;
		}
	}
}

static void
media_handle(void *arg, int error)
{
	int	flags = media.evt.flags;

	(void)arg;
	media.evt.flags = 0;
	if (media.fd == -1)
		return;
	if (flags & KORE_EVENT_WRITE)
		media_flush();
	if (media.fd != -1 && (error || (flags & KORE_EVENT_READ)))
		media_read();
	if (media.fd != -1 && error)
		media_close("socket error");
}

/* The relay's rooms of no live call go (a chat closed under a call). */
static void
media_sweep_done(struct db_job *j, void *arg)
{
	json_t	*req;
	int	 i;

	(void)arg;
	if (j->failed)
		vb_log(LOG_NOTICE, "media: sweep: %s", j->errmsg ? j->errmsg : j->sqlstate);
	for (i = 0; !j->failed && i < db_rows(j, 0); i++) {
		req = json_pack("{s:s,s:s}", "cmd", "room.destroy", "room", db_value(j, 0, i, 0));
		if (req != NULL)
			(void)media_request(req, NULL, NULL);
	}
	db_job_free(j);
}

static void
media_sweep_stats(json_t *ans, void *arg)
{
	struct db_job	*j;
	struct sbuf	 arr;
	json_t		*rooms, *r;
	const char	*name;
	size_t		 i;
	int		 n = 0;

	(void)arg;
	rooms = json_object_get(ans, "rooms");
	if (!json_is_array(rooms) || json_array_size(rooms) == 0)
		return;
	sbuf_init(&arr);
	sbuf_addc(&arr, '{');
	json_array_foreach(rooms, i, r) {
		if ((name = json_string_value(json_object_get(r, "room"))) == NULL)
			continue;
		if (n++ > 0)
			sbuf_addc(&arr, ',');
		sbuf_pg_elem(&arr, name);
	}
	sbuf_addc(&arr, '}');
	sbuf_addc(&arr, '\0');
	j = db_job_new();
	db_add(j, Q_CALL_ROOMS_STALE, 1, arr.data);
	/* A job with a NULL argument counts as orphaned (db.c): give it one. */
	if (!db_submit(j, media_sweep_done, j))
		db_job_free(j);
	sbuf_free(&arr);
}

/*
 * Every second: reconnect; a relay that stopped answering counts as gone.
 * Every MEDIA_SWEEP_S (worker 1 only): rooms of ended calls are destroyed.
 */
static void
media_tick(void *arg, u_int64_t now)
{
	static u_int64_t	swept;
	json_t			*req;

	(void)arg;
	if (media.head != NULL && now - media.head->at > MEDIA_TIMEOUT_MS)
		media_close("no answer within 5 seconds");
	media_connect();
	if (media.up && (worker == NULL || worker->id == 1) && now - swept > MEDIA_SWEEP_S * 1000) {
		swept = now;
		if ((req = json_pack("{s:s}", "cmd", "stats")) != NULL)
			(void)media_request(req, media_sweep_stats, NULL);
	}
}

/* A relay command's answer, for commands nobody waits for. */
static void
media_cmd_done(json_t *ans, void *arg)
{
	json_t	*e;

	(void)arg;
	if (ans == NULL || json_is_true(json_object_get(ans, "ok")))
		return;
	e = json_object_get(ans, "error");
	vb_log(LOG_NOTICE, "media: command refused: %s: %s",
	    media_jstr(e, "code") ? media_jstr(e, "code") : "?",
	    media_jstr(e, "message") ? media_jstr(e, "message") : "");
}

struct media_recstart {
	char	 id[72];
	int64_t	 tenant;
	int64_t	 call;
};

static void
media_recstart_done(json_t *ans, void *arg)
{
	struct media_recstart	*rs = arg;
	struct media_rec	*r;

	if (ans != NULL && json_is_true(json_object_get(ans, "ok"))) {
		if (media.nrec == MEDIA_RECS) {
			memmove(&media.recs[0], &media.recs[1], sizeof(media.recs[0]) * (MEDIA_RECS - 1));
			media.nrec--;
		}
		r = &media.recs[media.nrec++];
		kore_strlcpy(r->id, rs->id, sizeof(r->id));
		r->tenant = rs->tenant;
		r->call = rs->call;
	} else {
		media_cmd_done(ans, NULL);
	}
	kore_free(rs);
}

/* mkdir -p of dir (absolute), mode 0700. */
static void
media_mkdirs(const char *dir)
{
	char	 p[PATH_MAX];
	size_t	 i;

	if (kore_strlcpy(p, dir, sizeof(p)) >= sizeof(p))
		return;
	for (i = 1; p[i] != '\0'; i++) {
		if (p[i] != '/')
			continue;
		p[i] = '\0';
		(void)mkdir(p, 0700);
		p[i] = '/';
	}
	(void)mkdir(p, 0700);
}

/*
 * A command the database decided on (effect "media" of vb_call_op): sent
 * as is, except record.start, whose dir is made absolute under $VB_VAR and
 * created, and whose files this worker will register. Nobody waits for the
 * answer; refusals are logged.
 */
void
media_command(int64_t tenant, int64_t call, const char *cmdjson)
{
	struct media_recstart	*rs;
	json_t			*req;
	json_error_t		 err;
	const char		*cmd, *dir, *rid, *var;
	char			 full[PATH_MAX];

	if (!media.up || cmdjson == NULL)
		return;
	if ((req = json_loads(cmdjson, 0, &err)) == NULL)
		return;
	if ((cmd = media_jstr(req, "cmd")) != NULL && strcmp(cmd, "record.start") == 0 &&
	    (dir = media_jstr(req, "dir")) != NULL && (rid = media_jstr(req, "recording")) != NULL) {
		var = getenv("VB_VAR");
		(void)snprintf(full, sizeof(full), "%s/%s", var != NULL ? var : ".", dir);
		media_mkdirs(full);
		json_object_set_new(req, "dir", json_string(full));
		rs = kore_calloc(1, sizeof(*rs));
		kore_strlcpy(rs->id, rid, sizeof(rs->id));
		rs->tenant = tenant;
		rs->call = call;
		if (!media_request(req, media_recstart_done, rs))
			kore_free(rs);
		return;
	}
	/* A room that was never created (nobody offered) is no news. */
	(void)media_request(req, cmd != NULL && strcmp(cmd, "room.destroy") == 0 ? NULL :
	    media_cmd_done, NULL);
}

void
media_init(void)
{
	const char	*sock = getenv("VB_MEDIA_SOCK");

	sbuf_init(&media.out);
	sbuf_init(&media.in);
	media.evt.type = KORE_TYPE_PGSQL_CONN;
	media.evt.handle = media_handle;
	if (sock == NULL || *sock == '\0' || strlen(sock) >= sizeof(media.path)) {
		vb_log(LOG_NOTICE, "media: VB_MEDIA_SOCK is not set: calls are off");
		return;
	}
	kore_strlcpy(media.path, sock, sizeof(media.path));
	media_connect();
	(void)kore_timer_add(media_tick, 1000, NULL, 0);
}
