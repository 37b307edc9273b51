/*
 * Redis for Kore workers: one hiredis async connection per worker, driven by
 * Kore's epoll loop. The connection object starts with a struct kore_event so
 * the loop can dispatch on it. When Redis goes away, pending commands complete
 * with ok = 0 (callers answer 503), and a timer reconnects every second.
 */

#include <sys/epoll.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "vb.h"

struct rds_conn {
	struct kore_event	evt;
	redisAsyncContext	*ac;
	int			events;
	int			connected;
};

struct rds_pending {
	rds_cb		cb;
	void		*arg;		/* NULL once the caller went away */
};

static struct rds_conn	 rds_c;		/* commands */
static struct rds_conn	 rds_s;		/* pub/sub subscriber */
static char		*rds_channel;
static void		(*rds_on_message)(const char *, size_t);
static char		*rds_path;
static char		*rds_host;
static int		 rds_port;
static struct kore_timer *rds_timer;

static void	rds_connect(void);

static void
rds_sched(struct rds_conn *c)
{
	if (c->ac == NULL)
		return;
	kore_platform_event_schedule(c->ac->c.fd, c->events, 0, c);
}

static void rds_add_read(void *p) { struct rds_conn *c = p; c->events |= EPOLLIN; rds_sched(c); }
static void rds_subscribe(void);
static void rds_del_read(void *p) { struct rds_conn *c = p; c->events &= ~EPOLLIN; rds_sched(c); }
static void rds_add_write(void *p) { struct rds_conn *c = p; c->events |= EPOLLOUT; rds_sched(c); }
static void rds_del_write(void *p) { struct rds_conn *c = p; c->events &= ~EPOLLOUT; rds_sched(c); }

static void
rds_cleanup(void *p)
{
	struct rds_conn	*c = p;

	c->events = 0;
	c->ac = NULL;
	c->connected = 0;
}

static void
rds_handle(void *arg, int error)
{
	struct rds_conn	*c = arg;
	int		 flags = c->evt.flags;

	c->evt.flags = 0;
	if (c->ac == NULL)
		return;
	if (error || (flags & KORE_EVENT_READ))
		redisAsyncHandleRead(c->ac);
	if (c->ac != NULL && (flags & KORE_EVENT_WRITE))
		redisAsyncHandleWrite(c->ac);
}

static struct rds_conn *
rds_of(const redisAsyncContext *ac)
{
	return (ac->ev.data);
}

static void
rds_on_connect(const redisAsyncContext *ac, int status)
{
	struct rds_conn	*c = rds_of(ac);

	if (status != REDIS_OK) {
		vb_log(LOG_NOTICE, "redis: connect failed");
		c->connected = 0;
		c->ac = NULL;
		return;
	}
	c->connected = 1;
	vb_log(LOG_INFO, "redis: connected%s", c == &rds_s ? " (subscriber)" : "");
	if (c == &rds_s)
		rds_subscribe();
}

static void
rds_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rds_conn	*c = rds_of(ac);

	(void)status;
	c->connected = 0;
	c->ac = NULL;
	vb_log(LOG_NOTICE, "redis: disconnected%s", c == &rds_s ? " (subscriber)" : "");
}

static void	rds_connect_one(struct rds_conn *);

static void
rds_connect(void)
{
	rds_connect_one(&rds_c);
	if (rds_channel != NULL)
		rds_connect_one(&rds_s);
}

static void
rds_connect_one(struct rds_conn *c)
{
	redisAsyncContext	*ac;

	if (c->ac != NULL)
		return;
	ac = rds_path ? redisAsyncConnectUnix(rds_path) :
	    redisAsyncConnect(rds_host, rds_port);
	if (ac == NULL)
		return;
	if (ac->err) {
		redisAsyncFree(ac);
		return;
	}
	c->ac = ac;
	c->events = 0;
	c->evt.type = KORE_TYPE_PGSQL_CONN;
	c->evt.handle = rds_handle;
	ac->ev.data = c;
	ac->ev.addRead = rds_add_read;
	ac->ev.delRead = rds_del_read;
	ac->ev.addWrite = rds_add_write;
	ac->ev.delWrite = rds_del_write;
	ac->ev.cleanup = rds_cleanup;
	redisAsyncSetConnectCallback(ac, rds_on_connect);
	redisAsyncSetDisconnectCallback(ac, rds_on_disconnect);
	/* hiredis asked for write readiness before our hooks were set. */
	rds_add_write(c);
	rds_add_read(c);
}

static void
rds_tick(void *arg, u_int64_t now)
{
	(void)arg;
	(void)now;
	rds_connect();
}

/* url: unix:///path/to/sock or redis://host:port */
void
rds_init(const char *url)
{
	const char	*p;
	char		*colon;

	if (strncmp(url, "unix://", 7) == 0) {
		rds_path = kore_strdup(url + 7);
	} else {
		p = strncmp(url, "redis://", 8) == 0 ? url + 8 : url;
		rds_host = kore_strdup(p);
		rds_port = 6379;
		if ((colon = strrchr(rds_host, ':')) != NULL) {
			*colon = '\0';
			rds_port = atoi(colon + 1);
		}
	}
	rds_connect();
	if (rds_timer == NULL)
		rds_timer = kore_timer_add(rds_tick, 1000, NULL, 0);
}

int
rds_up(void)
{
	return (rds_c.connected);
}

static void
rds_reply(redisAsyncContext *ac, void *r, void *priv)
{
	struct rds_pending	*p = priv;
	redisReply		*reply = r;
	struct rds_result	 res;
	size_t			 i;

	(void)ac;
	memset(&res, 0, sizeof(res));
	if (reply != NULL && reply->type != REDIS_REPLY_ERROR) {
		res.ok = 1;
		if (reply->type == REDIS_REPLY_INTEGER) {
			res.ints[0] = reply->integer;
			res.nints = 1;
		} else if (reply->type == REDIS_REPLY_ARRAY) {
			for (i = 0; i < reply->elements && i < RDS_INTS; i++) {
				if (reply->element[i]->type == REDIS_REPLY_INTEGER)
					res.ints[i] = reply->element[i]->integer;
				else if (reply->element[i]->type == REDIS_REPLY_STRING)
					res.ints[i] = strtoll(reply->element[i]->str, NULL, 10);
			}
			res.nints = (int)i;
		} else if (reply->type == REDIS_REPLY_STRING) {
			res.ints[0] = strtoll(reply->str, NULL, 10);
			res.nints = 1;
		}
	}
	if (p->arg != NULL)
		p->cb(&res, p->arg);
	kore_free(p);
}

struct rds_pending *
rds_commandv(rds_cb cb, void *arg, const char *fmt, va_list ap)
{
	struct rds_pending	*p;
	int			 rc;

	if (!rds_c.connected || rds_c.ac == NULL)
		return (NULL);
	p = kore_calloc(1, sizeof(*p));
	p->cb = cb;
	p->arg = arg;
	rc = redisvAsyncCommand(rds_c.ac, rds_reply, p, fmt, ap);
	if (rc != REDIS_OK) {
		kore_free(p);
		return (NULL);
	}
	return (p);
}

void
rds_orphan(struct rds_pending *p)
{
	p->arg = NULL;
}

/* Messages on our channel; the subscription reply itself is skipped. */
static void
rds_sub_reply(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;

	(void)ac;
	(void)priv;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
		return;
	if (reply->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(reply->element[0]->str, "message") != 0 ||
	    reply->element[2]->type != REDIS_REPLY_STRING)
		return;
	rds_on_message(reply->element[2]->str, reply->element[2]->len);
}

static void
rds_subscribe(void)
{
	if (rds_s.ac != NULL && rds_channel != NULL)
		(void)redisAsyncCommand(rds_s.ac, rds_sub_reply, NULL, "SUBSCRIBE %s",
		    rds_channel);
}

/*
 * Follows one pub/sub channel on a connection of its own; cb gets each
 * message. Resubscribes after every reconnect.
 */
void
rds_listen(const char *channel, void (*cb)(const char *, size_t))
{
	rds_channel = kore_strdup(channel);
	rds_on_message = cb;
	rds_connect_one(&rds_s);
}

/* Fire and forget: a lost publish only delays delivery (clients resume). */
int
rds_publish(const char *channel, const char *data, size_t len)
{
	if (!rds_c.connected || rds_c.ac == NULL)
		return (0);
	return (redisAsyncCommand(rds_c.ac, NULL, NULL, "PUBLISH %s %b", channel,
	    data, len) == REDIS_OK);
}
