/*
 * mrec: recordings of rooms (record.start / record.stop, docs/media.md),
 * built on the recording library (rec.h).
 *
 * A recording belongs to one room (at most one runs per room). It records
 * every participant present when it starts and every one that joins or
 * adds an m-line while it runs: per sending Opus m-line an Ogg Opus file,
 * per sending VP8 m-line a WebM, plus optionally one stereo mix of two
 * named participants' first audio m-lines. Each recorded m-line carries a
 * tap (room_tap) whose fn feeds the library; rec_rtp / rec_mix_rtp only
 * copy into the library's queues, so the packet path stays cheap, and a
 * room without a recording has no tap at all (nothing allocated).
 *
 * Closing a file blocks (the library flushes, fsyncs and hashes it), so
 * finished streams go to one closer thread; it posts each result back to
 * the loop through an eventfd, and the loop sends the recording.file or
 * recording.failed event. A stream ends when its participant goes or its
 * tap is replaced, the mix and everything else when the recording stops
 * (record.stop, room.destroy, shutdown).
 *
 * Ownership: room -> struct mrec (while it runs) -> live streams (tapped).
 * A finished stream belongs to the closer queue, then the done list; the
 * struct mrec lives on after stopping until its last stream is reported.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "media.h"
#include "mrec.h"
#include "rec.h"

enum mrec_kind { MREC_AUDIO, MREC_VIDEO, MREC_MIX };

struct mrec_stream {
	TAILQ_ENTRY(mrec_stream) entry;
	struct mrec		*rec;
	enum mrec_kind		 kind;
	char			 participant[MEDIA_ID_MAX + 1];	/* "" mix */
	char			 path[PATH_MAX];
	struct rec		*r;
	struct rec_mix		*m;
	/* While tapped: the participant's m-line, and the mix it also feeds. */
	struct peer		*p;
	int			 ti;
	struct mrec_stream	*mix;
	int			 channel;
	uint64_t		 packets;
	uint64_t		 first_ms;	/* unix ms of the first packet */
	/* The closer thread's result. */
	int			 rc;
	struct rec_info		 info;
};

TAILQ_HEAD(mrec_streams, mrec_stream);

struct mrec {
	TAILQ_ENTRY(mrec)	 entry;
	char			 id[MEDIA_ID_MAX + 1];
	char			 room[MEDIA_ID_MAX + 1];
	char			 dir[MREC_DIR_MAX + 1];
	char			 left[MEDIA_ID_MAX + 1];	/* mix: "" none */
	char			 right[MEDIA_ID_MAX + 1];
	struct room		*r;		/* NULL once stopped */
	struct mrec_stream	*mix;
	struct mrec_streams	 live;		/* tapped streams */
	uint64_t		 started_ms;
	unsigned		 pending;	/* streams not yet reported */
	unsigned		 files, failed;
};

static TAILQ_HEAD(, mrec)	 mrecs = TAILQ_HEAD_INITIALIZER(mrecs);

/* The closer thread: todo (loop -> thread), done (thread -> loop). */
static struct {
	pthread_mutex_t		 lock;
	pthread_cond_t		 work;
	pthread_cond_t		 idle;
	struct mrec_streams	 todo, done;
	int			 busy;
	int			 started;
	int			 quit;
	pthread_t		 thread;
	int			 efd;
} mq = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
	.todo = TAILQ_HEAD_INITIALIZER(mq.todo),
	.done = TAILQ_HEAD_INITIALIZER(mq.done),
	.efd = -1,
};

static uint64_t
mrec_unix_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static void *
mrec_closer(void *arg)
{
	struct mrec_stream	*s;
	uint64_t		 one = 1;

	pthread_mutex_lock(&mq.lock);
	for (;;) {
		while (TAILQ_EMPTY(&mq.todo) && !mq.quit)
			pthread_cond_wait(&mq.work, &mq.lock);
		if ((s = TAILQ_FIRST(&mq.todo)) == NULL)
			break;
		TAILQ_REMOVE(&mq.todo, s, entry);
		mq.busy = 1;
		pthread_mutex_unlock(&mq.lock);

		if (s->kind == MREC_MIX)
			s->rc = rec_mix_close(s->m, &s->info);
		else
			s->rc = rec_close(s->r, &s->info);
		s->r = NULL;
		s->m = NULL;
		/* A stream that never got a packet leaves no file. */
		if (s->packets == 0 && s->rc == 0 && s->info.bytes > 0)
			unlink(s->path);

		pthread_mutex_lock(&mq.lock);
		TAILQ_INSERT_TAIL(&mq.done, s, entry);
		mq.busy = 0;
		if (write(mq.efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
			media_log("recording: eventfd: %s", strerror(errno));
		if (TAILQ_EMPTY(&mq.todo))
			pthread_cond_broadcast(&mq.idle);
	}
	pthread_mutex_unlock(&mq.lock);
	return (NULL);
}

int
mrec_init(void)
{
	struct epoll_event	ev;

	if ((mq.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return (-1);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = mq.efd;
	return (epoll_ctl(media.ep, EPOLL_CTL_ADD, mq.efd, &ev));
}

int
mrec_owns(int fd)
{
	return (fd == mq.efd);
}

static int
mrec_thread(void)
{
	if (mq.started)
		return (0);
	if (pthread_create(&mq.thread, NULL, mrec_closer, NULL) != 0)
		return (-1);
	mq.started = 1;
	return (0);
}

/* Hands a stream that no longer gets packets to the closer thread. */
static void
mrec_finish(struct mrec_stream *s)
{
	pthread_mutex_lock(&mq.lock);
	TAILQ_INSERT_TAIL(&mq.todo, s, entry);
	pthread_cond_signal(&mq.work);
	pthread_mutex_unlock(&mq.lock);
}

static const char *const mrec_kinds[] = {
	[MREC_AUDIO] = "audio", [MREC_VIDEO] = "video", [MREC_MIX] = "mix",
};

static void
mrec_free(struct mrec *mr)
{
	TAILQ_REMOVE(&mrecs, mr, entry);
	free(mr);
}

/* One finished stream: its event, and the recording's end. */
static void
mrec_report(struct mrec_stream *s)
{
	struct mrec	*mr = s->rec;
	json_t		*ev, *who;

	who = s->kind == MREC_MIX ? json_null() : json_string(s->participant);
	if (s->packets == 0) {
		/* Never got a packet: the closer removed the file. */
		json_decref(who);
	} else if (s->rc == -1) {
		mr->failed++;
		ev = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "event",
		    "recording.failed", "room", mr->room, "recording", mr->id,
		    "participant", who, "kind", mrec_kinds[s->kind], "reason",
		    "the file could not be completed (disk full, or the disk "
		    "fell too far behind)");
		media_log("recording %s: %s failed", mr->id, s->path);
		ctl_event(ev);
	} else if (s->info.bytes == 0) {
		/* Video without a single key frame: nothing that plays. */
		mr->failed++;
		ctl_event(json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "event",
		    "recording.failed", "room", mr->room, "recording", mr->id,
		    "participant", who, "kind", mrec_kinds[s->kind], "reason",
		    "no key frame was received"));
	} else {
		mr->files++;
		ctl_event(json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:I, "
		    "s:I, s:I, s:s}", "event", "recording.file", "room", mr->room,
		    "recording", mr->id, "participant", who, "kind",
		    mrec_kinds[s->kind], "path", s->path, "mime",
		    s->kind == MREC_VIDEO ? "video/webm" : "audio/ogg",
		    "started", (json_int_t)s->first_ms,
		    "duration_ms", (json_int_t)s->info.duration_ms,
		    "bytes", (json_int_t)s->info.bytes, "sha256", s->info.sha256));
	}
	free(s);
	if (--mr->pending == 0 && mr->r == NULL) {
		ctl_event(json_pack("{s:s, s:s, s:s, s:i, s:i}", "event",
		    "recording.done", "room", mr->room, "recording", mr->id,
		    "files", mr->files, "failed", mr->failed));
		mrec_free(mr);
	}
}

/* The loop's side of the eventfd: report what the closer finished. */
void
mrec_io(void)
{
	struct mrec_streams	 done;
	struct mrec_stream	*s;
	uint64_t		 n;

	while (read(mq.efd, &n, sizeof(n)) > 0)
		;
	TAILQ_INIT(&done);
	pthread_mutex_lock(&mq.lock);
	TAILQ_CONCAT(&done, &mq.done, entry);
	pthread_mutex_unlock(&mq.lock);
	while ((s = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, s, entry);
		mrec_report(s);
	}
}

/* The packet path of a recorded m-line. */
static void
mrec_tap_fn(void *arg, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct mrec_stream	*s = arg, *mx = s->mix;

	if (s->packets++ == 0)
		s->first_ms = mrec_unix_ms();
	if (s->kind == MREC_VIDEO) {
		rec_rtp(s->r, pkt, len, now);
		/* The recorder waits for a key frame (start, or a loss). */
		if (rec_want_keyframe(s->r) && s->p != NULL)
			peer_pli(s->p, s->ti, now);
		return;
	}
	rec_rtp(s->r, pkt, len, now);
	if (mx != NULL) {
		if (mx->packets++ == 0)
			mx->first_ms = mrec_unix_ms();
		rec_mix_rtp(mx->m, s->channel, pkt, len, now);
	}
}

/* The tap was removed (participant gone, recording stopped). */
static void
mrec_tap_close(void *arg)
{
	struct mrec_stream	*s = arg;

	TAILQ_REMOVE(&s->rec->live, s, entry);
	s->p = NULL;
	s->mix = NULL;
	mrec_finish(s);
}

/*
 * File names: "<recording>_<participant>_<mid>.ogg" (or .webm),
 * "<recording>_mix.ogg". Identifiers keep [A-Za-z0-9.-]; any other byte
 * is written %XX, so names are safe and distinct ids give distinct names.
 * A participant that comes back under the same id gets "_2", "_3", ...
 */
static void
mrec_name_part(char *out, size_t cap, const char *id)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 n = strlen(out);
	unsigned char		 c;

	for (; *id != '\0' && n + 4 < cap; id++) {
		c = (unsigned char)*id;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-') {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
}

static int
mrec_exists(const char *path)
{
	char		 part[PATH_MAX + 8];
	struct stat	 st;

	snprintf(part, sizeof(part), "%s.part", path);
	return (stat(path, &st) == 0 || stat(part, &st) == 0);
}

static int
mrec_path(struct mrec *mr, const char *who, const char *mid, const char *ext,
    char *path, size_t cap)
{
	char	base[PATH_MAX];
	int	i;

	base[0] = '\0';
	mrec_name_part(base, sizeof(base), mr->id);
	strncat(base, "_", sizeof(base) - strlen(base) - 1);
	mrec_name_part(base, sizeof(base), who);
	if (mid != NULL) {
		strncat(base, "_", sizeof(base) - strlen(base) - 1);
		mrec_name_part(base, sizeof(base), mid);
	}
	for (i = 1; i < 100; i++) {
		if (i == 1 && (size_t)snprintf(path, cap, "%s/%s.%s", mr->dir,
		    base, ext) >= cap)
			return (-1);
		if (i > 1 && (size_t)snprintf(path, cap, "%s/%s_%d.%s", mr->dir,
		    base, i, ext) >= cap)
			return (-1);
		if (!mrec_exists(path))
			return (0);
	}
	return (-1);
}

static struct mrec_stream *
mrec_stream_new(struct mrec *mr, enum mrec_kind kind, const char *who)
{
	struct mrec_stream	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->rec = mr;
	s->kind = kind;
	s->ti = -1;
	snprintf(s->participant, sizeof(s->participant), "%s", who);
	return (s);
}

/* A stream never opened or opened and never fed: gone without a trace. */
static void
mrec_stream_discard(struct mrec_stream *s)
{
	struct rec_info	info;

	if (s->r != NULL && rec_close(s->r, &info) == 0)
		unlink(s->path);
	if (s->m != NULL && rec_mix_close(s->m, &info) == 0)
		unlink(s->path);
	free(s);
}

static int
mrec_recordable(const struct track *t)
{
	if (!t->active || !sdp_sends(t->dir) || t->tap.fn != NULL)
		return (0);
	return ((t->kind == SDP_AUDIO && t->codec == SDP_CODEC_OPUS) ||
	    (t->kind == SDP_VIDEO && t->codec == SDP_CODEC_VP8));
}

/* The first sending Opus m-line of p: the one the mix takes. */
static int
mrec_first_audio(const struct peer *p)
{
	int	i;

	for (i = 0; i < p->ntracks; i++)
		if (p->tracks[i].active && p->tracks[i].kind == SDP_AUDIO &&
		    p->tracks[i].codec == SDP_CODEC_OPUS &&
		    sdp_sends(p->tracks[i].dir))
			return (i);
	return (-1);
}

/* Opens a file for track ti of p and taps it. */
static int
mrec_track(struct mrec *mr, struct peer *p, int ti, char *err, size_t errlen)
{
	struct track		*t = &p->tracks[ti];
	struct mrec_stream	*s;
	struct media_tap	 tap;
	int			 video = t->kind == SDP_VIDEO;

	if ((s = mrec_stream_new(mr, video ? MREC_VIDEO : MREC_AUDIO,
	    p->id)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	if (mrec_path(mr, p->id, t->mid, video ? "webm" : "ogg", s->path,
	    sizeof(s->path)) == -1) {
		snprintf(err, errlen, "no free file name in %s", mr->dir);
		free(s);
		return (-1);
	}
	if ((s->r = rec_open(s->path, video ? REC_VP8_WEBM : REC_OPUS_OGG, err,
	    errlen)) == NULL) {
		free(s);
		return (-1);
	}
	rec_set_payload_type(s->r, t->pt);
	s->p = p;
	s->ti = ti;
	if (mr->mix != NULL && !video && ti == mrec_first_audio(p) &&
	    (strcmp(p->id, mr->left) == 0 || strcmp(p->id, mr->right) == 0)) {
		s->mix = mr->mix;
		s->channel = strcmp(p->id, mr->left) == 0 ? 0 : 1;
		rec_mix_set_payload_type(mr->mix->m, t->pt);
	}
	tap.fn = mrec_tap_fn;
	tap.close = mrec_tap_close;
	tap.arg = s;
	TAILQ_INSERT_TAIL(&mr->live, s, entry);
	mr->pending++;
	room_tap(p, t->mid, &tap);
	return (0);
}

static void
mrec_event_failed(struct mrec *mr, const char *who, const char *reason)
{
	ctl_event(json_pack("{s:s, s:s, s:s, s:o, s:s}", "event",
	    "recording.failed", "room", mr->room, "recording", mr->id,
	    "participant", who != NULL ? json_string(who) : json_null(),
	    "reason", reason));
}

/*
 * Taps what p sends and is not recorded yet: after participant.add and
 * participant.update (a new m-line, a screen share). A file that cannot
 * be created is reported as recording.failed; the call goes on.
 */
void
mrec_peer(struct peer *p)
{
	struct mrec	*mr = p->room->rec;
	char		 err[256];
	int		 i;

	if (mr == NULL)
		return;
	for (i = 0; i < p->ntracks; i++) {
		if (!mrec_recordable(&p->tracks[i]))
			continue;
		if (mrec_track(mr, p, i, err, sizeof(err)) == -1) {
			media_log("recording %s: %s/%s: %s", mr->id, p->id,
			    p->tracks[i].mid, err);
			mrec_event_failed(mr, p->id, err);
		}
	}
}

/* mkdir -p, each new level 0750. */
static int
mrec_mkdirs(const char *dir, char *err, size_t errlen)
{
	char	 buf[MREC_DIR_MAX + 1], *s;

	snprintf(buf, sizeof(buf), "%s", dir);
	for (s = buf + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		if (s[-1] != '/') {
			*s = '\0';
			if (mkdir(buf, 0750) == -1 && errno != EEXIST) {
				snprintf(err, errlen, "mkdir %s: %s", buf,
				    strerror(errno));
				return (-1);
			}
			if (dir[s - buf] == '\0')
				break;
			*s = '/';
		} else if (*s == '\0')
			break;
	}
	return (0);
}

/* Absolute, no "." or ".." component, printable, not too long. */
int
mrec_dir_ok(const char *dir, char *err, size_t errlen)
{
	const char	*c, *seg;
	size_t		 n;

	if (dir[0] != '/') {
		snprintf(err, errlen, "\"dir\" must be an absolute path");
		return (-1);
	}
	if (strlen(dir) > MREC_DIR_MAX) {
		snprintf(err, errlen, "\"dir\" is longer than %d bytes",
		    MREC_DIR_MAX);
		return (-1);
	}
	for (c = dir; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			snprintf(err, errlen, "\"dir\" has a control character");
			return (-1);
		}
	}
	for (seg = dir + 1; *seg != '\0'; seg += n + (seg[n] == '/')) {
		n = strcspn(seg, "/");
		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.')) {
			snprintf(err, errlen, "\"dir\" must not contain \".\" "
			    "or \"..\"");
			return (-1);
		}
	}
	return (0);
}

struct mrec *
mrec_find(const char *id)
{
	struct mrec	*mr;

	TAILQ_FOREACH(mr, &mrecs, entry)
		if (mr->r != NULL && strcmp(mr->id, id) == 0)
			return (mr);
	return (NULL);
}

/*
 * Starts recording room r. Arguments are checked by the caller; this
 * creates the directory and the files of everyone present. On error
 * nothing stays behind (files opened so far are removed). left/right:
 * NULL for no mix.
 */
int
mrec_start(struct room *r, const char *id, const char *dir, const char *left,
    const char *right, char *err, size_t errlen)
{
	struct mrec		*mr;
	struct mrec_stream	*s;
	struct peer		*p;
	int			 i;

	if (mrec_thread() == -1) {
		snprintf(err, errlen, "cannot start the closer thread");
		return (-1);
	}
	if (mrec_mkdirs(dir, err, errlen) == -1)
		return (-1);
	if ((mr = calloc(1, sizeof(*mr))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	snprintf(mr->id, sizeof(mr->id), "%s", id);
	snprintf(mr->room, sizeof(mr->room), "%s", r->id);
	snprintf(mr->dir, sizeof(mr->dir), "%s", dir);
	while (strlen(mr->dir) > 1 && mr->dir[strlen(mr->dir) - 1] == '/')
		mr->dir[strlen(mr->dir) - 1] = '\0';
	TAILQ_INIT(&mr->live);
	mr->r = r;
	mr->started_ms = mrec_unix_ms();
	if (left != NULL) {
		snprintf(mr->left, sizeof(mr->left), "%s", left);
		snprintf(mr->right, sizeof(mr->right), "%s", right);
		snprintf(err, errlen, "no free file name in %s", mr->dir);
		if ((s = mrec_stream_new(mr, MREC_MIX, "")) == NULL ||
		    mrec_path(mr, "mix", NULL, "ogg", s->path,
		    sizeof(s->path)) == -1 ||
		    (s->m = rec_mix_open(s->path, err, errlen)) == NULL) {
			free(s);
			free(mr);
			return (-1);
		}
		mr->mix = s;
		mr->pending++;
	}
	TAILQ_FOREACH(p, &r->peers, entry) {
		for (i = 0; i < p->ntracks; i++) {
			if (!mrec_recordable(&p->tracks[i]))
				continue;
			if (mrec_track(mr, p, i, err, errlen) == 0)
				continue;
			/* Undo: untap and remove what was opened. */
			while ((s = TAILQ_FIRST(&mr->live)) != NULL) {
				TAILQ_REMOVE(&mr->live, s, entry);
				memset(&s->p->tracks[s->ti].tap, 0,
				    sizeof(struct media_tap));
				mrec_stream_discard(s);
			}
			if (mr->mix != NULL)
				mrec_stream_discard(mr->mix);
			free(mr);
			return (-1);
		}
	}
	TAILQ_INSERT_TAIL(&mrecs, mr, entry);
	r->rec = mr;
	return (0);
}

/*
 * Stops a running recording: every tap goes (its stream to the closer),
 * then the mix. Answers need not wait: the events follow.
 */
void
mrec_stop(struct mrec *mr)
{
	struct mrec_stream	*s;

	if (mr->r == NULL)
		return;
	while ((s = TAILQ_FIRST(&mr->live)) != NULL)
		room_tap(s->p, s->p->tracks[s->ti].mid, NULL);
	if (mr->mix != NULL)
		mrec_finish(mr->mix);
	mr->mix = NULL;
	mr->r->rec = NULL;
	mr->r = NULL;
	if (mr->pending == 0) {
		ctl_event(json_pack("{s:s, s:s, s:s, s:i, s:i}", "event",
		    "recording.done", "room", mr->room, "recording", mr->id,
		    "files", 0, "failed", 0));
		mrec_free(mr);
	}
}

/* For stats: the recording running in room r, or JSON null. */
json_t *
mrec_stats(const struct room *r)
{
	json_t			*a = json_array();
	struct mrec		*mr = r->rec;
	struct mrec_stream	*s;
	int			 n = 0;

	if (mr == NULL)
		return (a);
	TAILQ_FOREACH(s, &mr->live, entry)
		n++;
	json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:i, s:o}",
	    "recording", mr->id, "dir", mr->dir, "started",
	    (json_int_t)mr->started_ms, "streams", n, "mix", mr->mix == NULL ?
	    json_null() : json_pack("{s:s, s:s}", "left", mr->left, "right",
	    mr->right)));
	return (a);
}

/*
 * Shutdown: rooms are destroyed (so every recording is stopped); wait
 * for the closer to finish, at most timeout_ms, and report.
 */
void
mrec_shutdown(int timeout_ms)
{
	struct timespec	 ts;
	int		 rc = 0;

	if (!mq.started)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&mq.lock);
	while ((!TAILQ_EMPTY(&mq.todo) || mq.busy) && rc == 0)
		rc = pthread_cond_timedwait(&mq.idle, &mq.lock, &ts);
	mq.quit = rc == 0;
	pthread_cond_signal(&mq.work);
	pthread_mutex_unlock(&mq.lock);
	if (rc != 0) {
		media_log("recordings still closing after %d ms", timeout_ms);
		mrec_io();
		return;
	}
	pthread_join(mq.thread, NULL);
	mq.started = 0;
	mrec_io();
}
