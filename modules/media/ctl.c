/*
 * The control socket: a unix stream socket speaking newline-delimited
 * JSON (docs/media.md). Each request carries an "id" echoed in its
 * answer; events ("event" instead of "id") go to every connected client.
 * This is the only place that allocates freely (Jansson, buffers).
 */
#define _GNU_SOURCE	/* recvmmsg, sendmmsg, accept4 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "media.h"
#include "mrec.h"

#define CTL_MAX_CLIENTS	16
#define CTL_MAX_LINE	(1024 * 1024)
#define CTL_MAX_OUT	(8 * 1024 * 1024)
#define CTL_ANSWER	(32 * 1024)

struct ctl_client {
	int	 fd;
	char	*in;
	size_t	 inlen, incap;
	char	*out;
	size_t	 outlen, outcap;
	int	 wantout;
};

struct ctl_err {
	const char	*code;
	char		 msg[256];
};

struct ctl_cmd {
	const char	*name;
	json_t		*(*fn)(json_t *, struct ctl_err *);
};

static int			 ctl_fd = -1;
static struct ctl_client	 clients[CTL_MAX_CLIENTS];
static char			 ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static json_t	*ctl_hello(json_t *, struct ctl_err *);
static json_t	*ctl_room_create(json_t *, struct ctl_err *);
static json_t	*ctl_room_destroy(json_t *, struct ctl_err *);
static json_t	*ctl_peer_add(json_t *, struct ctl_err *);
static json_t	*ctl_peer_update(json_t *, struct ctl_err *);
static json_t	*ctl_peer_remove(json_t *, struct ctl_err *);
static json_t	*ctl_forward_set(json_t *, struct ctl_err *);
static json_t	*ctl_stats(json_t *, struct ctl_err *);
static json_t	*ctl_record_start(json_t *, struct ctl_err *);
static json_t	*ctl_record_stop(json_t *, struct ctl_err *);

static const struct ctl_cmd ctl_cmds[] = {
	{ "hello",		ctl_hello },
	{ "room.create",	ctl_room_create },
	{ "room.destroy",	ctl_room_destroy },
	{ "participant.add",	ctl_peer_add },
	{ "participant.update",	ctl_peer_update },
	{ "participant.remove",	ctl_peer_remove },
	{ "forward.set",	ctl_forward_set },
	{ "stats",		ctl_stats },
	{ "record.start",	ctl_record_start },
	{ "record.stop",	ctl_record_stop },
	{ NULL,			NULL },
};

static json_t *
ctl_fail(struct ctl_err *e, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static json_t *
ctl_fail(struct ctl_err *e, const char *code, const char *fmt, ...)
{
	va_list		ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return (NULL);
}

/* Identifiers: 1..64 printable ASCII characters, no spaces or quotes. */
static const char *
ctl_id(json_t *req, const char *key, struct ctl_err *e)
{
	const char	*s, *c;
	json_t		*v = json_object_get(req, key);

	if (!json_is_string(v)) {
		ctl_fail(e, "bad_request", "\"%s\" must be a string", key);
		return (NULL);
	}
	s = json_string_value(v);
	if (json_string_length(v) == 0 || json_string_length(v) > MEDIA_ID_MAX ||
	    strlen(s) != json_string_length(v)) {
		ctl_fail(e, "bad_request", "\"%s\" must have 1 to %d characters",
		    key, MEDIA_ID_MAX);
		return (NULL);
	}
	for (c = s; *c != '\0'; c++) {
		if (!isgraph((unsigned char)*c) || *c == '"' || *c == '\\') {
			ctl_fail(e, "bad_request", "\"%s\" has a character "
			    "that is not allowed", key);
			return (NULL);
		}
	}
	return (s);
}

static struct room *
ctl_room(json_t *req, struct ctl_err *e)
{
	const char	*id;
	struct room	*r;

	if ((id = ctl_id(req, "room", e)) == NULL)
		return (NULL);
	if ((r = room_find(id)) == NULL)
		ctl_fail(e, "not_found", "no room \"%s\"", id);
	return (r);
}

static struct peer *
ctl_peer(json_t *req, const char *key, struct room **rp, struct ctl_err *e)
{
	const char	*id;
	struct room	*r;
	struct peer	*p;

	if ((r = ctl_room(req, e)) == NULL || (id = ctl_id(req, key, e)) == NULL)
		return (NULL);
	if ((p = room_peer(r, id)) == NULL)
		ctl_fail(e, "not_found", "no participant \"%s\" in room \"%s\"",
		    id, r->id);
	if (rp != NULL)
		*rp = r;
	return (p);
}

static json_t *
ctl_hello(json_t *req, struct ctl_err *e)
{
	return (json_pack("{s:s, s:I, s:i, s:i, s:s, s:s}",
	    "version", MEDIA_VERSION, "started", (json_int_t)media.started,
	    "pid", (int)getpid(), "port", media.conf.port,
	    "address", media.conf.addr, "fingerprint", dtls_fingerprint()));
}

static json_t *
ctl_room_create(json_t *req, struct ctl_err *e)
{
	const char	*id;

	if ((id = ctl_id(req, "room", e)) == NULL)
		return (NULL);
	if (room_find(id) != NULL)
		return (ctl_fail(e, "exists", "room \"%s\" exists", id));
	if (room_create(id) == NULL)
		return (ctl_fail(e, "internal", "out of memory"));
	return (json_object());
}

static json_t *
ctl_room_destroy(json_t *req, struct ctl_err *e)
{
	struct room	*r;

	if ((r = ctl_room(req, e)) == NULL)
		return (NULL);
	room_destroy(r);
	return (json_object());
}

static const char *
ctl_offer(json_t *req, size_t *len, struct ctl_err *e)
{
	json_t	*v = json_object_get(req, "offer");

	if (!json_is_string(v)) {
		ctl_fail(e, "bad_request", "\"offer\" must be a string");
		return (NULL);
	}
	*len = json_string_length(v);
	if (*len > SDP_MAX_LEN) {
		ctl_fail(e, "bad_offer", "offer larger than %d bytes",
		    SDP_MAX_LEN);
		return (NULL);
	}
	return (json_string_value(v));
}

static json_t *
ctl_answer(struct peer *p, const char *offer, size_t len, int *restart,
    struct ctl_err *e)
{
	static char	 answer[CTL_ANSWER];
	char		 err[200];

	if (peer_offer(p, offer, len, answer, sizeof(answer), err, sizeof(err),
	    restart) == -1)
		return (ctl_fail(e, "bad_offer", "%s", err));
	return (json_pack("{s:s, s:s}", "answer", answer, "state",
	    peer_state_name(p->state)));
}

static json_t *
ctl_peer_add(json_t *req, struct ctl_err *e)
{
	struct room	*r;
	struct peer	*p;
	const char	*id, *offer;
	size_t		 len;
	json_t		*res;
	int		 restart;

	if ((r = ctl_room(req, e)) == NULL ||
	    (id = ctl_id(req, "participant", e)) == NULL ||
	    (offer = ctl_offer(req, &len, e)) == NULL)
		return (NULL);
	if (room_peer(r, id) != NULL)
		return (ctl_fail(e, "exists", "participant \"%s\" exists", id));
	if ((p = room_peer_add(r, id)) == NULL)
		return (ctl_fail(e, "internal", "out of memory"));
	if ((res = ctl_answer(p, offer, len, &restart, e)) == NULL)
		room_peer_gone(p);
	else
		mrec_peer(p);	/* joins a running recording */
	return (res);
}

static json_t *
ctl_peer_update(json_t *req, struct ctl_err *e)
{
	struct peer	*p;
	const char	*offer;
	size_t		 len;
	json_t		*res;
	int		 restart;

	if ((p = ctl_peer(req, "participant", NULL, e)) == NULL ||
	    (offer = ctl_offer(req, &len, e)) == NULL)
		return (NULL);
	if ((res = ctl_answer(p, offer, len, &restart, e)) != NULL) {
		json_object_set_new(res, "ice_restart", json_boolean(restart));
		mrec_peer(p);	/* new m-lines of a recorded room */
	}
	return (res);
}

static json_t *
ctl_peer_remove(json_t *req, struct ctl_err *e)
{
	struct peer	*p;

	if ((p = ctl_peer(req, "participant", NULL, e)) == NULL)
		return (NULL);
	room_peer_gone(p);
	return (json_object());
}

static int
ctl_mid(struct peer *p, const char *mid)
{
	int	i;

	for (i = 0; i < p->ntracks; i++)
		if (strcmp(p->tracks[i].mid, mid) == 0)
			return (i);
	return (-1);
}

struct ctl_rule {
	struct peer	*to, *from;
	int		 ti, fi;
};

/* One rule: {"to", "mid", "from" (null: nothing), "from_mid"}. */
static int
ctl_rule(struct room *r, json_t *j, struct ctl_rule *ru, struct ctl_err *e)
{
	const char	*to, *mid, *from, *fmid;
	struct track	*qt, *pt;

	memset(ru, 0, sizeof(*ru));
	if (!json_is_object(j)) {
		ctl_fail(e, "bad_request", "each rule must be an object");
		return (-1);
	}
	if ((to = ctl_id(j, "to", e)) == NULL || (mid = ctl_id(j, "mid", e)) ==
	    NULL)
		return (-1);
	if ((ru->to = room_peer(r, to)) == NULL) {
		ctl_fail(e, "not_found", "no participant \"%s\"", to);
		return (-1);
	}
	if ((ru->ti = ctl_mid(ru->to, mid)) == -1) {
		ctl_fail(e, "not_found", "\"%s\" has no mid \"%s\"", to, mid);
		return (-1);
	}
	if (json_is_null(json_object_get(j, "from")) ||
	    json_object_get(j, "from") == NULL)
		return (0);
	if ((from = ctl_id(j, "from", e)) == NULL ||
	    (fmid = ctl_id(j, "from_mid", e)) == NULL)
		return (-1);
	if ((ru->from = room_peer(r, from)) == NULL) {
		ctl_fail(e, "not_found", "no participant \"%s\"", from);
		return (-1);
	}
	if (ru->from == ru->to) {
		ctl_fail(e, "bad_request", "a participant cannot receive itself");
		return (-1);
	}
	if ((ru->fi = ctl_mid(ru->from, fmid)) == -1) {
		ctl_fail(e, "not_found", "\"%s\" has no mid \"%s\"", from, fmid);
		return (-1);
	}
	qt = &ru->to->tracks[ru->ti];
	pt = &ru->from->tracks[ru->fi];
	if (!qt->active || !pt->active || qt->kind != pt->kind ||
	    qt->codec != pt->codec) {
		ctl_fail(e, "bad_request", "%s/%s cannot carry %s/%s (inactive, "
		    "or another kind or codec)", to, mid, from, fmid);
		return (-1);
	}
	return (0);
}

/* All rules are checked before any is applied. */
static json_t *
ctl_forward_set(json_t *req, struct ctl_err *e)
{
	struct ctl_rule	 rules[64];
	struct room	*r;
	json_t		*arr;
	size_t		 i, n;
	char		 err[128];

	if ((r = ctl_room(req, e)) == NULL)
		return (NULL);
	arr = json_object_get(req, "rules");
	if (!json_is_array(arr) || json_array_size(arr) > 64)
		return (ctl_fail(e, "bad_request",
		    "\"rules\" must be an array of at most 64 rules"));
	n = json_array_size(arr);
	for (i = 0; i < n; i++)
		if (ctl_rule(r, json_array_get(arr, i), &rules[i], e) == -1)
			return (NULL);
	for (i = 0; i < n; i++)
		if (room_subscribe(rules[i].to, rules[i].ti, rules[i].from,
		    rules[i].fi, err, sizeof(err)) == -1)
			return (ctl_fail(e, "rejected", "rule %zu: %s", i, err));
	return (json_object());
}

static json_t *
ctl_track_stats(struct track *t)
{
	json_t	*in, *out, *src = json_null();

	in = json_pack("{s:I, s:I, s:I, s:I, s:f, s:I}",
	    "ssrc", (json_int_t)t->cur_ssrc, "packets", (json_int_t)t->in_packets,
	    "bytes", (json_int_t)t->in_bytes,
	    "lost", (json_int_t)rtp_seq_lost(&t->stats),
	    "fraction_lost", t->stats.fraction / 256.0,
	    "jitter", (json_int_t)(t->clock ? (uint64_t)(t->stats.jitter >> 4) *
	    1000 / t->clock : 0));
	if (t->kind == SDP_VIDEO)
		json_object_set_new(in, "remb_bps", json_integer(
		    (json_int_t)t->remb_bps));
	if (t->src != NULL)
		src = json_pack("{s:s, s:s}", "participant", t->src->id, "mid",
		    t->src->tracks[t->src_track].mid);
	out = json_pack("{s:I, s:o, s:I, s:I, s:I, s:f, s:I, s:I, s:I}",
	    "ssrc", (json_int_t)t->out_ssrc, "source", src,
	    "packets", (json_int_t)t->out_packets,
	    "bytes", (json_int_t)t->out_bytes,
	    "remote_lost", (json_int_t)t->rlost,
	    "remote_fraction_lost", t->rfraction / 256.0,
	    "nacks", (json_int_t)t->nacks, "retransmits",
	    (json_int_t)t->retransmits, "switches", (json_int_t)t->rw.switches);
	return (json_pack("{s:s, s:s, s:s, s:b, s:o, s:o}", "mid", t->mid,
	    "kind", t->kind == SDP_AUDIO ? "audio" : t->kind == SDP_VIDEO ?
	    "video" : "other", "codec", t->codec == SDP_CODEC_OPUS ? "opus" :
	    t->codec == SDP_CODEC_VP8 ? "vp8" : t->codec == SDP_CODEC_H264 ?
	    "h264" : "none", "active", t->active, "in", in, "out", out));
}

static json_t *
ctl_peer_stats(struct peer *p)
{
	json_t	*tracks = json_array(), *o;
	char	 addr[80];
	int	 i;

	for (i = 0; i < p->ntracks; i++)
		json_array_append_new(tracks, ctl_track_stats(&p->tracks[i]));
	o = json_pack("{s:s, s:s, s:s, s:I, s:{s:I, s:I, s:I}, s:{s:I, s:I}, "
	    "s:o}", "participant", p->id, "state", peer_state_name(p->state),
	    "srtp", sec_profile_name(p->sec.profile), "rtt_ms",
	    (json_int_t)p->rtt_ms, "rx", "packets", (json_int_t)p->rx_packets,
	    "bytes", (json_int_t)p->rx_bytes, "dropped",
	    (json_int_t)p->rx_dropped, "tx", "packets",
	    (json_int_t)p->tx_packets, "bytes", (json_int_t)p->tx_bytes,
	    "tracks", tracks);
	if (peer_address(p, addr, sizeof(addr)) != NULL)
		json_object_set_new(o, "address", json_string(addr));
	else
		json_object_set_new(o, "address", json_null());
	return (o);
}

static json_t *
ctl_stats(json_t *req, struct ctl_err *e)
{
	struct room	*r, *only = NULL;
	struct peer	*p;
	json_t		*rooms = json_array(), *ps;

	if (json_object_get(req, "room") != NULL &&
	    (only = ctl_room(req, e)) == NULL) {
		json_decref(rooms);
		return (NULL);
	}
	TAILQ_FOREACH(r, &media.rooms, entry) {
		if (only != NULL && r != only)
			continue;
		ps = json_array();
		TAILQ_FOREACH(p, &r->peers, entry)
			json_array_append_new(ps, ctl_peer_stats(p));
		json_array_append_new(rooms, json_pack("{s:s, s:o, s:o}", "room",
		    r->id, "participants", ps, "recordings", mrec_stats(r)));
	}
	return (json_pack("{s:o, s:I, s:I}", "rooms", rooms, "garbage",
	    (json_int_t)media.garbage, "send_drops", (json_int_t)net_drops()));
}

/*
 * record.start: {"room", "recording", "dir", "mix": {"left", "right"}}.
 * Everything is checked before the directory or any file is created.
 */
static json_t *
ctl_record_start(json_t *req, struct ctl_err *e)
{
	struct room	*r;
	struct mrec	*mr;
	const char	*id, *dir, *left = NULL, *right = NULL;
	json_t		*mix, *d;
	char		 err[256];

	if ((r = ctl_room(req, e)) == NULL ||
	    (id = ctl_id(req, "recording", e)) == NULL)
		return (NULL);
	d = json_object_get(req, "dir");
	if (!json_is_string(d) || strlen(json_string_value(d)) !=
	    json_string_length(d))
		return (ctl_fail(e, "bad_request", "\"dir\" must be a string"));
	dir = json_string_value(d);
	if (mrec_dir_ok(dir, err, sizeof(err)) == -1)
		return (ctl_fail(e, "bad_request", "%s", err));
	mix = json_object_get(req, "mix");
	if (mix != NULL && !json_is_null(mix)) {
		if (!json_is_object(mix))
			return (ctl_fail(e, "bad_request",
			    "\"mix\" must be an object {left, right}"));
		if ((left = ctl_id(mix, "left", e)) == NULL ||
		    (right = ctl_id(mix, "right", e)) == NULL)
			return (NULL);
		if (strcmp(left, right) == 0)
			return (ctl_fail(e, "bad_request",
			    "the mix needs two different participants"));
	}
	if ((mr = mrec_find(id)) != NULL)
		return (ctl_fail(e, "exists", "recording \"%s\" runs", id));
	if (r->rec != NULL)
		return (ctl_fail(e, "exists", "room \"%s\" is being recorded",
		    r->id));
	err[0] = '\0';
	if (mrec_start(r, id, dir, left, right, err, sizeof(err)) == -1)
		return (ctl_fail(e, "internal", "%s", err));
	return (json_object());
}

/* record.stop: ok at once; the files are reported by events. */
static json_t *
ctl_record_stop(json_t *req, struct ctl_err *e)
{
	struct room	*r;
	const char	*id;

	if ((r = ctl_room(req, e)) == NULL ||
	    (id = ctl_id(req, "recording", e)) == NULL)
		return (NULL);
	if (r->rec == NULL || r->rec != mrec_find(id))
		return (ctl_fail(e, "not_found", "room \"%s\" has no running "
		    "recording \"%s\"", r->id, id));
	mrec_stop(r->rec);
	return (json_object());
}

static void
ctl_drop(struct ctl_client *c)
{
	if (c->fd == -1)
		return;
	epoll_ctl(media.ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void
ctl_events(struct ctl_client *c)
{
	struct epoll_event	ev;
	int			want = c->outlen > 0;

	if (want == c->wantout)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
	ev.data.fd = c->fd;
	epoll_ctl(media.ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->wantout = want;
}

static void
ctl_flush(struct ctl_client *c)
{
	ssize_t	n;

	while (c->outlen > 0) {
		n = write(c->fd, c->out, c->outlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			ctl_drop(c);
			return;
		}
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
	ctl_events(c);
}

/* Queues one JSON line (and steals j). A client that reads nothing goes. */
static void
ctl_send(struct ctl_client *c, json_t *j)
{
	char	*s, *nb;
	size_t	 len, need;

	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL)
		return;
	len = strlen(s);
	need = c->outlen + len + 1;
	if (need > CTL_MAX_OUT) {
		free(s);
		media_log("control client too slow, dropped");
		ctl_drop(c);
		return;
	}
	if (need > c->outcap) {
		if ((nb = realloc(c->out, need * 2)) == NULL) {
			free(s);
			ctl_drop(c);
			return;
		}
		c->out = nb;
		c->outcap = need * 2;
	}
	memcpy(c->out + c->outlen, s, len);
	c->out[c->outlen + len] = '\n';
	c->outlen += len + 1;
	free(s);
	ctl_flush(c);
}

static void
ctl_request(struct ctl_client *c, const char *line, size_t len)
{
	const struct ctl_cmd	*cmd;
	struct ctl_err		 e;
	json_error_t		 jerr;
	json_t			*req, *res, *id;
	const char		*name;

	memset(&e, 0, sizeof(e));
	if ((req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL || !json_is_object(req)) {
		json_decref(req);
		ctl_send(c, json_pack("{s:n, s:b, s:{s:s, s:s}}", "id", "ok", 0,
		    "error", "code", "bad_json", "message",
		    "each line must be one JSON object"));
		return;
	}
	id = json_object_get(req, "id");
	id = id != NULL ? json_incref(id) : json_null();
	name = json_string_value(json_object_get(req, "cmd"));
	for (cmd = ctl_cmds; cmd->name != NULL; cmd++)
		if (name != NULL && strcmp(cmd->name, name) == 0)
			break;
	if (cmd->name == NULL)
		res = ctl_fail(&e, "unknown_command", "unknown \"cmd\"");
	else
		res = cmd->fn(req, &e);
	json_decref(req);
	if (res == NULL) {
		res = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code",
		    e.code ? e.code : "internal", "message", e.msg);
	} else
		json_object_set_new(res, "ok", json_true());
	json_object_set_new(res, "id", id);
	ctl_send(c, res);
	/* PLIs and the like that the command produced. */
	net_flush();
}

static void
ctl_read(struct ctl_client *c)
{
	char	*nl, *nb;
	size_t	 used;
	ssize_t	 n;

	for (;;) {
		if (c->incap - c->inlen < 65536) {
			if (c->incap >= CTL_MAX_LINE + 65536) {
				media_log("control line too long, client dropped");
				ctl_drop(c);
				return;
			}
			if ((nb = realloc(c->in, c->incap + 65536)) == NULL) {
				ctl_drop(c);
				return;
			}
			c->in = nb;
			c->incap += 65536;
		}
		n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			ctl_drop(c);
			return;
		}
		c->inlen += (size_t)n;
		used = 0;
		while ((nl = memchr(c->in + used, '\n', c->inlen - used)) !=
		    NULL) {
			if (nl > c->in + used)
				ctl_request(c, c->in + used, nl - (c->in + used));
			if (c->fd == -1)
				return;
			used = nl - c->in + 1;
		}
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
	}
}

int
ctl_open(const char *path)
{
	struct sockaddr_un	sun;
	struct epoll_event	ev;
	int			fd, i;

	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		clients[i].fd = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return (-1);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	snprintf(ctl_path, sizeof(ctl_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return (-1);
	unlink(path);
	/* Only this user (the app runs as the same user) may connect. */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0600) == -1 || listen(fd, 16) == -1) {
		close(fd);
		return (-1);
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = fd;
	if (epoll_ctl(media.ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		close(fd);
		return (-1);
	}
	ctl_fd = fd;
	return (fd);
}

int
ctl_owns(int fd)
{
	return (fd == ctl_fd);
}

void
ctl_accept(void)
{
	struct epoll_event	ev;
	int			fd, i;

	while ((fd = accept4(ctl_fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		for (i = 0; i < CTL_MAX_CLIENTS; i++)
			if (clients[i].fd == -1)
				break;
		if (i == CTL_MAX_CLIENTS) {
			media_log("too many control clients");
			close(fd);
			continue;
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.fd = fd;
		if (epoll_ctl(media.ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
			close(fd);
			continue;
		}
		memset(&clients[i], 0, sizeof(clients[i]));
		clients[i].fd = fd;
	}
}

void
ctl_io(int fd, uint32_t events)
{
	int	i;

	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		if (clients[i].fd == fd)
			break;
	if (i == CTL_MAX_CLIENTS) {
		epoll_ctl(media.ep, EPOLL_CTL_DEL, fd, NULL);
		return;
	}
	if (events & EPOLLOUT)
		ctl_flush(&clients[i]);
	if (clients[i].fd != -1 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		ctl_read(&clients[i]);
}

void
ctl_event_peer(const char *name, const struct peer *p, const char *reason)
{
	json_t	*ev;
	char	 addr[80];
	int	 i;

	for (i = 0; i < CTL_MAX_CLIENTS; i++) {
		if (clients[i].fd == -1)
			continue;
		ev = json_pack("{s:s, s:s, s:s, s:s}", "event", name, "room",
		    p->room->id, "participant", p->id, "state",
		    peer_state_name(p->state));
		if (reason != NULL)
			json_object_set_new(ev, "reason", json_string(reason));
		if (p->srtp)
			json_object_set_new(ev, "srtp", json_string(
			    sec_profile_name(p->sec.profile)));
		if (peer_address(p, addr, sizeof(addr)) != NULL)
			json_object_set_new(ev, "address", json_string(addr));
		ctl_send(&clients[i], ev);
	}
}

void
ctl_event(json_t *ev)
{
	int	i;

	for (i = 0; i < CTL_MAX_CLIENTS; i++) {
		if (clients[i].fd == -1)
			continue;
		ctl_send(&clients[i], json_incref(ev));
	}
	json_decref(ev);
}

/* Shutdown: what is queued (the last events) goes out, 2 s at most. */
void
ctl_close_all(void)
{
	struct pollfd	pfd;
	uint64_t	end = media_now_us() + 2000000;
	int		i;

	for (i = 0; i < CTL_MAX_CLIENTS; i++) {
		while (clients[i].fd != -1 && clients[i].outlen > 0 &&
		    media_now_us() < end) {
			pfd.fd = clients[i].fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, 100) == 1)
				ctl_flush(&clients[i]);
		}
		if (clients[i].fd != -1)
			ctl_drop(&clients[i]);
	}
	if (ctl_fd != -1) {
		close(ctl_fd);
		unlink(ctl_path);
	}
}
