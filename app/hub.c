/*
 * The real-time hub: widget sessions and the WebSocket endpoint.
 *
 * Truth first: a chat message is committed in PostgreSQL, with its
 * conversation's next sequence number, before anyone is told. Then the sender
 * gets an ack, this worker's subscribers get the message at once, and a
 * Redis publish carries it to every other worker and node, tagged with our
 * origin so we skip our own. Redis down delays delivery to other workers and
 * nodes; nothing is lost, because clients resume with the last sequence they
 * saw and the server replays from PostgreSQL. Clients drop duplicates by seq.
 *
 * Ownership: a struct hub_conn hangs off the connection's hdlr_extra from the
 * handshake until the disconnect; database jobs started for it hold a
 * reference (pending), and the struct is freed when both are gone.
 */

#include <strings.h>

#include <sodium.h>

#include "vb.h"
#include "queries.h"
#include "wsframe.h"
#include "cbframe.h"
#include "cbstore.h"

#include <jansson.h>

#define HUB_CHANNEL	"vb:hub"
#define HUB_BUCKETS	4096
#define HUB_SUBS_MAX	64	/* conversations per connection */
#define HUB_SUBS_SYS	4	/* and the staff channels (negative keys) */
#define HUB_RATE	5	/* messages per second, sustained */
#define HUB_BURST	20
#define HUB_SEEN_MS	30000		/* presence touch at most this often */

/*
 * Subscription keys: a conversation is its id; a staff member's own channel
 * is -user_id; an organisation's live board (supervisors) lies far below.
 */
#define HUB_BOARD(t)	(-(INT64_C(1) << 52) - (t))
/* Every staff connection of an organisation: its follow-up list changed. */
#define HUB_FOLLOWUPS(t)	(-(INT64_C(1) << 53) - (t))

enum hub_kind { HUB_STAFF = 1, HUB_CUSTOMER };

struct hub_conn {
	struct connection	*c;
	enum hub_kind		 kind;
	int64_t			 tenant_id;
	int64_t			 who;		/* user id or customer id */
	char			 addr[64];
	int64_t			 subs[HUB_SUBS_MAX + HUB_SUBS_SYS];
	int			 nsubs;
	double			 tokens;	/* send rate limit */
	u_int64_t		 tokens_at;
	u_int64_t		 seen_at;	/* staff presence last told */
	int			 pending;
	int			 closed;
	/* Co-browsing (issue 5): the conversation whose page this customer
	 * connection may send (0: none), its snapshot limit and byte budget;
	 * staff connections: a budget for pointer and drawing frames. */
	int64_t			 cb_conv;
	int64_t			 cb_limit;
	int64_t			 cb_snap_id;
	int64_t			 cb_snap_bytes;
	int64_t			 cb_refused_id;
	double			 cb_tokens;
	u_int64_t		 cb_tokens_at;
	/* The stored session's buffer (the site stores sessions), and for
	 * staff: whether they may send pointer frames to the customer, per
	 * conversation, until a time (hub_cb_may). */
	struct cbstore		*cb_store;
	int64_t			 cb_may_conv[4];
	u_int64_t		 cb_may_until[4];
	int			 cb_may_ok[4];
};

struct hub_sub {
	int64_t			 conv;
	struct hub_conn		*hc;
	struct hub_sub		*next;
};

struct hub_op {
	struct hub_conn		*hc;
	int64_t			 conv;
	int64_t			 tenant;
	int			 customer;
	const char		*reply;		/* type of the confirmation frame */
	int			 tries;		/* a batched send, retried */
	char			 client_id[72];
};

static struct hub_sub	*hub_index[HUB_BUCKETS];
static char		 hub_origin[48];

void	hub_connect(struct connection *);
void	hub_message(struct connection *, u_int8_t, void *, size_t);
void	hub_disconnect(struct connection *);

static void	hub_deliver(int64_t, const char *, size_t, struct hub_conn *, int);
static void	hub_route(int64_t);
static void	hub_route_submit(int64_t);
static void	hub_presence(struct hub_conn *);
static void	hub_cb_seen(struct hub_conn *, int64_t, const char *, size_t);
struct hub_in;
static void	hub_customer_op(struct hub_conn *, struct hub_in *, const char *);
static void	hub_cb_store_end(struct hub_conn *);
static void	hub_leg_orphan(struct hub_conn *);
static void	hub_leg_drop(int64_t);

/* Subscriptions ------------------------------------------------------------ */

static struct hub_sub **
hub_bucket(int64_t conv)
{
	return (&hub_index[(u_int64_t)conv % HUB_BUCKETS]);
}

static int
hub_subscribed(struct hub_conn *hc, int64_t conv)
{
	int	i;

	for (i = 0; i < hc->nsubs; i++)
		if (hc->subs[i] == conv)
			return (1);
	return (0);
}

static int
hub_sub_convs(struct hub_conn *hc)
{
	int	i, n = 0;

	for (i = 0; i < hc->nsubs; i++)
		if (hc->subs[i] > 0)
			n++;
	return (n);
}

static int
hub_sub_add(struct hub_conn *hc, int64_t conv)
{
	struct hub_sub	*s;

	if (hub_subscribed(hc, conv))
		return (1);
	/* The staff's own channels never take a conversation's place. */
	if (hc->nsubs >= HUB_SUBS_MAX + HUB_SUBS_SYS ||
	    (conv > 0 && hub_sub_convs(hc) >= HUB_SUBS_MAX))
		return (0);
	hc->subs[hc->nsubs++] = conv;
	s = kore_calloc(1, sizeof(*s));
	s->conv = conv;
	s->hc = hc;
	s->next = *hub_bucket(conv);
	*hub_bucket(conv) = s;
	return (1);
}

static void
hub_sub_unlink(struct hub_conn *hc, int64_t conv)
{
	struct hub_sub	**pp, *s;

	for (pp = hub_bucket(conv); (s = *pp) != NULL; ) {
		if (s->hc == hc && s->conv == conv) {
			*pp = s->next;
			kore_free(s);
		} else {
			pp = &s->next;
		}
	}
}

static void
hub_sub_remove(struct hub_conn *hc, int64_t conv)
{
	int	i;

	for (i = 0; i < hc->nsubs; i++) {
		if (hc->subs[i] == conv) {
			hub_sub_unlink(hc, conv);
			hc->subs[i] = hc->subs[--hc->nsubs];
			return;
		}
	}
}

static void
hub_sub_remove_all(struct hub_conn *hc)
{
	int	i;

	for (i = 0; i < hc->nsubs; i++)
		hub_sub_unlink(hc, hc->subs[i]);
	hc->nsubs = 0;
}

/* Sending ------------------------------------------------------------------ */

static void
hub_send(struct hub_conn *hc, const char *data, size_t len)
{
	if (!hc->closed)
		kore_websocket_send(hc->c, WEBSOCKET_OP_TEXT, data, len);
}

static void
hub_send_error(struct hub_conn *hc, const char *client_id, const char *code,
    const char *msg)
{
	struct sbuf	b;

	sbuf_init(&b);
	sbuf_adds(&b, "{\"type\":\"error\",\"code\":");
	sbuf_json_str(&b, code);
	sbuf_adds(&b, ",\"message\":");
	sbuf_json_str(&b, msg);
	if (client_id != NULL && client_id[0] != '\0') {
		sbuf_adds(&b, ",\"client_id\":");
		sbuf_json_str(&b, client_id);
	}
	sbuf_addc(&b, '}');
	hub_send(hc, b.data, b.len);
	sbuf_free(&b);
}

/*
 * To this worker's subscribers of conv; skip is left out (may be NULL).
 * Staff-only frames (internal notes, whispers) never reach a customer.
 */
static void
hub_deliver(int64_t conv, const char *data, size_t len, struct hub_conn *skip,
    int staff_only)
{
	struct hub_sub	*s;

	for (s = *hub_bucket(conv); s != NULL; s = s->next) {
		if (s->conv != conv || s->hc == skip)
			continue;
		if (staff_only && s->hc->kind != HUB_STAFF)
			continue;
		if (s->hc->cb_conv == conv)
			hub_cb_seen(s->hc, conv, data, len);
		hub_send(s->hc, data, len);
	}
}

/*
 * Everywhere: here at once, elsewhere through Redis as "origin|conv|json",
 * with conv written "sN" when the frame is for staff only.
 */
static void
hub_fanout(int64_t conv, const char *data, size_t len, struct hub_conn *skip,
    int staff_only)
{
	struct sbuf	b;

	hub_deliver(conv, data, len, skip, staff_only);
	sbuf_init(&b);
	sbuf_addf(&b, "%s|%s%lld|", hub_origin, staff_only ? "s" : "", (long long)conv);
	sbuf_add(&b, data, len);
	(void)rds_publish(HUB_CHANNEL, b.data, b.len);
	sbuf_free(&b);
}

/* For other modules: a stored frame to everyone following conv. */
void
hub_publish(int64_t conv, const char *data, size_t len, int staff_only)
{
	hub_fanout(conv, data, len, NULL, staff_only);
}

/* For other modules: a frame for one staff member, wherever connected. */
void
hub_publish_user(int64_t user, const char *data, size_t len)
{
	hub_fanout(-user, data, len, NULL, 1);
}

/* The organisation's consoles refetch their follow-up list (A7). */
void
hub_followups(int64_t tenant)
{
	hub_fanout(HUB_FOLLOWUPS(tenant), "{\"type\":\"followups\"}", 20, NULL, 1);
}

/* Supervisors watching the organisation's live board refetch it. */
static void
hub_board(int64_t tenant)
{
	hub_fanout(HUB_BOARD(tenant), "{\"type\":\"board\"}", 16, NULL, 1);
}

static void
hub_on_publish(const char *data, size_t len)
{
	const char	*p, *q, *end = data + len;
	int64_t		 conv;
	size_t		 olen = strlen(hub_origin);
	int		 staff_only = 0;

	if ((p = memchr(data, '|', len)) == NULL)
		return;
	if ((size_t)(p - data) == olen && memcmp(data, hub_origin, olen) == 0)
		return;
	p++;
	if (p < end && *p == 's') {
		staff_only = 1;
		p++;
	}
	if ((q = memchr(p, '|', (size_t)(end - p))) == NULL || q - p > 20 || q == p)
		return;
	conv = strtoll(p, NULL, 10);
	q++;
	if (conv != 0 && q < end && *q == '{')
		hub_deliver(conv, q, (size_t)(end - q), NULL, staff_only);
}

/* Connection lifetime ------------------------------------------------------ */

static void
hub_release(struct hub_conn *hc)
{
	if (hc->closed && hc->pending == 0)
		kore_free(hc);
}

void
hub_connect(struct connection *c)
{
	struct hub_conn	*hc = c->hdlr_extra;

	hc->c = c;
	hc->tokens = HUB_BURST;
	hc->tokens_at = kore_time_ms();
	ops_websockets(1);
	/* Staff follow their own channel (negative key) for offers. */
	if (hc->kind == HUB_STAFF) {
		(void)hub_sub_add(hc, -hc->who);
		(void)hub_sub_add(hc, HUB_FOLLOWUPS(hc->tenant_id));
	}
	hub_presence(hc);
	hub_send(hc, "{\"type\":\"hello\"}", 16);
}

void
hub_disconnect(struct connection *c)
{
	struct hub_conn	*hc = c->hdlr_extra;

	if (hc == NULL)
		return;
	c->hdlr_extra = NULL;
	hub_cb_store_end(hc);
	hub_sub_remove_all(hc);
	hub_leg_orphan(hc);
	hc->closed = 1;
	ops_websockets(-1);
	hub_release(hc);
}

static struct db_job *
hub_job(struct hub_conn *hc, const char *reqid)
{
	struct db_job	*j;

	j = db_job_new();
	db_job_tenant(j, hc->tenant_id, hc->kind == HUB_STAFF ? hc->who : 0,
	    hc->addr, reqid);
	return (j);
}

static struct hub_op *
hub_op_new(struct hub_conn *hc, int64_t conv, const char *client_id)
{
	struct hub_op	*op;

	op = kore_calloc(1, sizeof(*op));
	op->hc = hc;
	op->conv = conv;
	op->tenant = hc->tenant_id;
	op->customer = hc->kind == HUB_CUSTOMER;
	if (client_id != NULL)
		kore_strlcpy(op->client_id, client_id, sizeof(op->client_id));
	hc->pending++;
	return (op);
}

/* Ends an operation; 1 when its connection is still there to answer. */
static int
hub_op_live(struct hub_op *op)
{
	struct hub_conn	*hc = op->hc;

	hc->pending--;
	if (hc->closed) {
		hub_release(hc);
		return (0);
	}
	return (1);
}

static void
hub_job_error(struct hub_conn *hc, struct db_job *j, const char *client_id)
{
	if (j->sqlstate[0] == 'V')
		hub_send_error(hc, client_id, j->errhint ? j->errhint : "invalid", j->errmsg);
	else if (strncmp(j->sqlstate, "08", 2) == 0)
		hub_send_error(hc, client_id, "unavailable", "The database is unavailable; retry");
	else {
		vb_log(LOG_NOTICE, "hub: database error %s: %s", j->sqlstate,
		    j->errmsg ? j->errmsg : "");
		hub_send_error(hc, client_id, "internal", "Something went wrong on our side");
	}
}

/*
 * Starts a job for an operation of hc; when the database cannot take it,
 * the client hears so at once (with client_id for a send).
 */
static void
hub_submit(struct hub_conn *hc, struct db_job *j, db_cb cb, struct hub_op *op)
{
	if (db_submit(j, cb, op))
		return;
	db_job_free(j);
	(void)hub_op_live(op);
	hub_send_error(hc, op->client_id, "unavailable",
	    "The server is busy or its database unavailable; try again shortly");
	kore_free(op);
}

/* Messages from clients ------------------------------------------------------ */

struct hub_in {
	struct wsframe		 w;		/* checked by wsframe.c */
	const char		*raw;		/* the frame as received */
	size_t			 rawlen;
};

/* A token bucket per connection: a flood gets a clear notice, not a cut. */
static int
hub_rate_ok(struct hub_conn *hc)
{
	u_int64_t	now = kore_time_ms();

	hc->tokens += (double)(now - hc->tokens_at) * HUB_RATE / 1000.0;
	if (hc->tokens > HUB_BURST)
		hc->tokens = HUB_BURST;
	hc->tokens_at = now;
	if (hc->tokens < 1.0)
		return (0);
	hc->tokens -= 1.0;
	return (1);
}

/*
 * Sends are stored in batches, in lanes: a conversation always uses the same
 * lane of its worker, and a lane has at most one batch in flight, so one
 * sender's messages are numbered in the order they were sent. While a lane's
 * batch is being committed, new sends for it gather and then go together in
 * one transaction (vb_message_post_batch, one subtransaction per message).
 * An idle lane sends at once, so a quiet server adds no delay; under load
 * one commit carries many messages.
 */
#define HUB_BATCH_MAX		48	/* under PostgreSQL's 64 cached subxids */
#define HUB_LANES		4	/* batches in flight per worker, at most */

struct hub_batch {
	struct hub_op		*ops[HUB_BATCH_MAX];
	size_t			 beg[HUB_BATCH_MAX];	/* item i in json */
	size_t			 end[HUB_BATCH_MAX];
	int			 n;
	int			 lane;
	struct sbuf		 json;
	struct hub_batch	*next;		/* waiting in its lane */
};

struct hub_lane {
	struct hub_batch	*head;		/* waiting, oldest first */
	struct hub_batch	*tail;
	int			 busy;		/* a batch in flight */
};

static struct hub_lane	 hub_lanes[HUB_LANES];

static void	hub_batch_flush(int);

static struct hub_batch	*hub_batch_new(int);

/* The batch of conv's lane that takes its next item. */
static struct hub_batch *
hub_batch_open(int64_t conv)
{
	struct hub_lane		*l;
	struct hub_batch	*b;
	int			 lane = (int)((u_int64_t)conv % HUB_LANES);

	l = &hub_lanes[lane];
	if ((b = l->tail) == NULL || b->n == HUB_BATCH_MAX) {
		b = hub_batch_new(lane);
		if (l->tail != NULL)
			l->tail->next = b;
		else
			l->head = b;
		l->tail = b;
	}
	if (b->n > 0)
		sbuf_addc(&b->json, ',');
	b->beg[b->n] = b->json.len;
	return (b);
}

static void
hub_batch_item(struct hub_batch *b, struct hub_conn *hc, struct hub_in *in)
{
	struct sbuf	*s = &b->json;

	sbuf_addf(s, "{\"t\":\"%lld\",\"u\":\"", (long long)hc->tenant_id);
	if (hc->kind == HUB_STAFF)
		sbuf_addf(s, "%lld", (long long)hc->who);
	sbuf_adds(s, "\",\"a\":");
	sbuf_json_str(s, hc->addr);
	sbuf_adds(s, ",\"r\":");
	sbuf_json_str(s, in->w.client_id);
	sbuf_addf(s, ",\"conv\":%lld,\"kind\":\"%s\",\"sender\":%lld,\"client\":",
	    (long long)in->w.conv, hc->kind == HUB_STAFF ? "staff" : "customer",
	    (long long)hc->who);
	sbuf_json_str(s, in->w.client_id);
	sbuf_adds(s, ",\"body\":");
	sbuf_json_str(s, in->w.text);
	if (in->w.subject > 0)
		sbuf_addf(s, ",\"subject\":%lld", (long long)in->w.subject);
	sbuf_addc(s, '}');
	b->end[b->n] = s->len;
}

static struct hub_batch *
hub_batch_new(int lane)
{
	struct hub_batch	*b;

	b = kore_calloc(1, sizeof(*b));
	b->lane = lane;
	sbuf_init(&b->json);
	sbuf_addc(&b->json, '[');
	return (b);
}

static void
hub_batch_free(struct hub_batch *b)
{
	sbuf_free(&b->json);
	kore_free(b);
}

/* One message stored: the sender hears its seq, everyone hears it. */
static void
hub_batch_stored(struct hub_op *op, const char *msg, const char *seq, int queued)
{
	struct sbuf	b;

	if (hub_op_live(op)) {
		sbuf_init(&b);
		sbuf_addf(&b, "{\"type\":\"ack\",\"conversation_id\":%lld,\"seq\":%s,"
		    "\"client_id\":", (long long)op->conv, seq);
		sbuf_json_str(&b, op->client_id);
		sbuf_addc(&b, '}');
		hub_send(op->hc, b.data, b.len);
		sbuf_free(&b);
	}
	/* Stored, so everyone hears of it, even if the sender has gone. */
	hub_fanout(op->conv, msg, strlen(msg), NULL, 0);
	/* A customer's first words may have queued the chat. */
	if (op->customer && queued)
		hub_route(op->tenant);
}

/* One message refused: its sender hears why, as for a single send. */
static void
hub_batch_refused(struct hub_op *op, const char *state, const char *msg,
    const char *hint)
{
	if (!hub_op_live(op)) {
		kore_free(op);
		return;
	}
	if (state[0] == 'V')
		hub_send_error(op->hc, op->client_id,
		    hint != NULL && hint[0] != '\0' ? hint : "invalid", msg);
	else if (strncmp(state, "08", 2) == 0)
		hub_send_error(op->hc, op->client_id, "unavailable",
		    "The database is unavailable; retry");
	else {
		vb_log(LOG_NOTICE, "hub: send refused %s: %s", state, msg ? msg : "");
		hub_send_error(op->hc, op->client_id, "internal",
		    "Something went wrong on our side");
	}
	kore_free(op);
}

/*
 * A deadlock or serialization victim (SQLSTATE class 40) is tried again on
 * its own: the message was not stored and the client has not been answered.
 */
static void
hub_batch_retry(struct hub_batch *b, int i)
{
	struct hub_batch	*nb;

	nb = hub_batch_open(b->ops[i]->conv);
	sbuf_add(&nb->json, b->json.data + b->beg[i], b->end[i] - b->beg[i]);
	nb->end[nb->n] = nb->json.len;
	nb->ops[nb->n++] = b->ops[i];
	b->ops[i] = NULL;
}

static void
hub_batch_done(struct db_job *j, void *arg)
{
	struct hub_batch	*b = arg;
	const char		*v, *frame, *state;
	int			 i, k, n;

	hub_lanes[b->lane].busy = 0;
	n = j->failed ? 0 : db_rows(j, 0);
	for (i = 0; i < n; i++) {
		if ((v = db_value(j, 0, i, 0)) == NULL ||
		    (k = atoi(v)) < 0 || k >= b->n || b->ops[k] == NULL)
			continue;
		frame = db_value(j, 0, i, 1);
		state = db_value(j, 0, i, 4);
		if (frame != NULL && db_value(j, 0, i, 2) != NULL) {
			hub_batch_stored(b->ops[k], frame, db_value(j, 0, i, 2),
			    db_value(j, 0, i, 3) != NULL && db_value(j, 0, i, 3)[0] == 't');
			kore_free(b->ops[k]);
			b->ops[k] = NULL;
		} else if (state != NULL && strncmp(state, "40", 2) == 0 &&
		    b->ops[k]->tries++ < 3) {
			hub_batch_retry(b, k);
		} else {
			hub_batch_refused(b->ops[k], state ? state : "XX000",
			    db_value(j, 0, i, 5), db_value(j, 0, i, 6));
			b->ops[k] = NULL;
		}
	}
	/* The whole transaction failed, or an item had no answer. */
	for (i = 0; i < b->n; i++) {
		if (b->ops[i] == NULL)
			continue;
		hub_batch_refused(b->ops[i], j->failed ? j->sqlstate : "XX000",
		    j->failed ? j->errmsg : "no answer for this message", NULL);
	}
	i = b->lane;
	hub_batch_free(b);
	db_job_free(j);
	hub_batch_flush(i);
}

/* Sends the lane's oldest waiting batch, unless one is in flight. */
static void
hub_batch_flush(int lane)
{
	struct hub_lane		*l = &hub_lanes[lane];
	struct hub_batch	*b;
	struct db_job		*j;
	int			 i;

	if (l->busy || (b = l->head) == NULL)
		return;
	if ((l->head = b->next) == NULL)
		l->tail = NULL;
	sbuf_addc(&b->json, ']');
	sbuf_addc(&b->json, '\0');
	j = db_job_new();
	db_add(j, Q_MESSAGE_POST_BATCH, 1, b->json.data);
	if (db_submit(j, hub_batch_done, b)) {
		l->busy = 1;
		return;
	}
	db_job_free(j);
	for (i = 0; i < b->n; i++)
		hub_batch_refused(b->ops[i], "08000",
		    "The server is busy or its database unavailable; try again shortly", NULL);
	hub_batch_free(b);
	hub_batch_flush(lane);
}

static void
hub_in_send(struct hub_conn *hc, struct hub_in *in)
{
	struct hub_batch	*b;
	struct hub_op		*op;

	if (in->w.conv <= 0 || !in->w.client_id_ok) {
		hub_send_error(hc, in->w.client_id, "invalid",
		    "send needs conversation_id and a client_id of 1-64 URL-safe characters");
		return;
	}
	if (!in->w.text_ok) {
		hub_send_error(hc, in->w.client_id, "invalid", "text must be 1 to 4000 characters");
		return;
	}
	if (in->w.subject < 0 || (in->w.subject > 0 && hc->kind != HUB_CUSTOMER)) {
		hub_send_error(hc, in->w.client_id, "invalid_subject",
		    "subject_id must be the id of one of the site's subjects");
		return;
	}
	if (!hub_rate_ok(hc)) {
		hub_send_error(hc, in->w.client_id, "rate_limited",
		    "You are sending messages too fast; wait a moment");
		return;
	}
	op = hub_op_new(hc, in->w.conv, in->w.client_id);
	b = hub_batch_open(in->w.conv);
	hub_batch_item(b, hc, in);
	b->ops[b->n++] = op;
	hub_batch_flush(b->lane);
}

/* Access is checked and the backlog read in one transaction. */
static void
hub_subscribe_done(struct db_job *j, void *arg)
{
	struct hub_op	*op = arg;
	struct hub_conn	*hc = op->hc;
	const char	*v;
	char		 done[128];
	int		 i, n;

	if (hub_op_live(op)) {
		if (j->failed) {
			hub_job_error(hc, j, NULL);
		} else if (!hub_sub_add(hc, op->conv)) {
			hub_send_error(hc, NULL, "too_many", "Too many conversations on one connection");
		} else {
			n = db_rows(j, 1);
			for (i = 0; i < n; i++)
				if ((v = db_value(j, 1, i, 0)) != NULL)
					hub_send(hc, v, strlen(v));
			/*
			 * Staff also get the internal notes and whispers;
			 * customers how far the staff have read.
			 */
			n = db_rows(j, 2);
			for (i = 0; i < n; i++)
				if ((v = db_value(j, 2, i, 0)) != NULL)
					hub_send(hc, v, strlen(v));
			/* A live call (issue 4): its state, so a page that
			 * (re)joins the chat can take part again. */
			n = db_rows(j, 3);
			for (i = 0; i < n; i++)
				if ((v = db_value(j, 3, i, 0)) != NULL)
					hub_send(hc, v, strlen(v));
			(void)snprintf(done, sizeof(done), "{\"type\":\"subscribed\","
			    "\"conversation_id\":%lld,\"last_seq\":%s}", (long long)op->conv,
			    db_value(j, 0, 0, 0) ? db_value(j, 0, 0, 0) : "0");
			hub_send(hc, done, strlen(done));
		}
	}
	kore_free(op);
	db_job_free(j);
}

static void
hub_in_subscribe(struct hub_conn *hc, struct hub_in *in)
{
	struct db_job	*j;
	struct hub_op	*op;
	char		 conv[24], who[24], after[24], after_note[24];

	if (in->w.conv <= 0 || in->w.after < 0 || in->w.after_note < 0) {
		hub_send_error(hc, NULL, "invalid", "subscribe needs conversation_id and after_seq >= 0");
		return;
	}
	(void)snprintf(conv, sizeof(conv), "%lld", (long long)in->w.conv);
	(void)snprintf(who, sizeof(who), "%lld", (long long)hc->who);
	(void)snprintf(after, sizeof(after), "%lld", (long long)in->w.after);
	op = hub_op_new(hc, in->w.conv, NULL);
	j = hub_job(hc, "");
	db_add(j, Q_CONVERSATION_ACCESS, 3, conv, hc->kind == HUB_STAFF ? "staff" : "customer", who);
	db_add(j, Q_MESSAGES_AFTER, 2, conv, after);
	if (hc->kind == HUB_STAFF) {
		(void)snprintf(after_note, sizeof(after_note), "%lld", (long long)in->w.after_note);
		db_add(j, Q_NOTES_AFTER, 2, conv, after_note);
	} else {
		db_add(j, Q_READ_MARK, 1, conv);
	}
	db_add(j, Q_CALL_LIVE, 1, conv);
	hub_submit(hc, j, hub_subscribe_done, op);
}

/* Typing is ephemeral: never stored, only to those already following. */
static void
hub_in_typing(struct hub_conn *hc, struct hub_in *in)
{
	char	buf[160];
	int	n;

	if (!hub_subscribed(hc, in->w.conv)) {
		hub_send_error(hc, NULL, "not_subscribed", "Subscribe to the conversation first");
		return;
	}
	n = snprintf(buf, sizeof(buf), "{\"type\":\"typing\",\"conversation_id\":%lld,"
	    "\"sender\":{\"kind\":\"%s\",\"id\":%lld}}", (long long)in->w.conv,
	    hc->kind == HUB_STAFF ? "staff" : "customer", (long long)hc->who);
	hub_fanout(in->w.conv, buf, (size_t)n, hc, 0);
}

static void
hub_presence_done(struct db_job *j, void *arg)
{
	(void)arg;
	db_job_free(j);
}

/* Staff presence: a console that is connected touches seen_at now and then. */
static void
hub_presence(struct hub_conn *hc)
{
	struct db_job	*j;
	u_int64_t	 now = kore_time_ms();

	if (hc->kind != HUB_STAFF || (hc->seen_at != 0 && now - hc->seen_at < HUB_SEEN_MS))
		return;
	hc->seen_at = now;
	j = hub_job(hc, "");
	db_add(j, Q_STAFF_OP, 2, "presence", "{}");
	if (!db_submit(j, hub_presence_done, NULL))
		db_job_free(j);
}

static void
hub_in_ping(struct hub_conn *hc, struct hub_in *in)
{
	(void)in;
	hub_presence(hc);
	hub_send(hc, "{\"type\":\"pong\"}", 15);
}

static void
hub_in_unsubscribe(struct hub_conn *hc, struct hub_in *in)
{
	char	buf[96];
	int	n;

	if (in->w.conv <= 0) {
		hub_send_error(hc, NULL, "invalid", "conversation_id is required");
		return;
	}
	hub_sub_remove(hc, in->w.conv);
	n = snprintf(buf, sizeof(buf), "{\"type\":\"unsubscribed\",\"conversation_id\":%lld}",
	    (long long)in->w.conv);
	hub_send(hc, buf, (size_t)n);
}

/* Routing ------------------------------------------------------------------ */

/* Waiting customers hear their new place in the queue (W5). */
static void
hub_positions(struct db_job *j, int stmt)
{
	char	buf[192];
	int	i, n;

	for (i = 0; !j->failed && i < db_rows(j, stmt); i++) {
		n = snprintf(buf, sizeof(buf), "{\"type\":\"queue\",\"conversation_id\":%s,"
		    "\"position\":%s,\"estimated_wait_s\":%s}", db_value(j, stmt, i, 0),
		    db_value(j, stmt, i, 1),
		    db_value(j, stmt, i, 2) ? db_value(j, stmt, i, 2) : "null");
		if (n > 0 && (size_t)n < sizeof(buf))
			hub_fanout(strtoll(db_value(j, stmt, i, 0), NULL, 10), buf, (size_t)n, NULL, 0);
	}
}

/*
 * Routing passes are coalesced per organisation and worker: one pass in
 * flight, and routing events that arrive meanwhile (accepts, new contacts,
 * agents getting ready — up to a thousand a second) make exactly one more
 * pass when it ends, which sees all of them. Passes of one organisation
 * are serialised in PostgreSQL anyway (vb_acd_lock); without this, every
 * event queued a whole pass behind the others.
 */
struct hub_rt {
	int64_t			 tenant;
	int			 again;		/* events since the pass began */
	struct hub_rt		*next;
};

static struct hub_rt	*hub_rt_index[HUB_BUCKETS];

static struct hub_rt **
hub_rt_slot(int64_t tenant)
{
	struct hub_rt	**p;

	p = &hub_rt_index[(u_int64_t)tenant % HUB_BUCKETS];
	while (*p != NULL && (*p)->tenant != tenant)
		p = &(*p)->next;
	return (p);
}

/* 1 when a pass may start now (none in flight); else it is remembered. */
static int
hub_rt_begin(int64_t tenant)
{
	struct hub_rt	**p, *rt;

	if (*(p = hub_rt_slot(tenant)) != NULL) {
		(*p)->again = 1;
		return (0);
	}
	rt = kore_calloc(1, sizeof(*rt));
	rt->tenant = tenant;
	*p = rt;
	return (1);
}

/* The pass ended: 1 when events came meanwhile and another must run. */
static int
hub_rt_end(int64_t tenant)
{
	struct hub_rt	**p, *rt;

	if ((rt = *(p = hub_rt_slot(tenant))) == NULL)
		return (0);
	if (rt->again) {
		rt->again = 0;
		return (1);
	}
	*p = rt->next;
	kore_free(rt);
	return (0);
}

static void
hub_positions_done(struct db_job *j, void *arg)
{
	if (j->failed)
		vb_log(LOG_NOTICE, "acd positions: %s", j->errmsg);
	else if (db_rows(j, 0) > 0)
		hub_board((int64_t)(intptr_t)arg);
	hub_positions(j, 0);
	db_job_free(j);
}

/*
 * The positions that changed go to the customers, in a job of their own
 * after the pass committed (0029): computing them takes no routing lock, so
 * the next pass never waits for them.
 */
static void
hub_positions_submit(int64_t tenant)
{
	struct db_job	*j;

	j = db_job_new();
	db_job_tenant(j, tenant, 0, "acd", "");
	db_add(j, Q_ACD_POSITIONS, 0);
	if (!db_submit(j, hub_positions_done, (void *)(intptr_t)tenant))
		db_job_free(j);
}

/* Offers made by a routing pass go to each agent's own channel. */
static void
hub_route_done(struct db_job *j, void *arg)
{
	char	buf[256];
	int	i, n;
	int64_t	tenant = (int64_t)(intptr_t)arg;

	if (j->failed)
		vb_log(LOG_NOTICE, "acd route: %s", j->errmsg);
	else {
		hub_positions_submit(tenant);
		if (db_rows(j, 0) > 0)
			hub_board(tenant);
	}
	for (i = 0; !j->failed && i < db_rows(j, 0); i++) {
		n = snprintf(buf, sizeof(buf), "{\"type\":\"offer\",\"conversation_id\":%s,"
		    "\"expires_at\":\"%s\"}", db_value(j, 0, i, 0), db_value(j, 0, i, 2));
		if (n > 0 && (size_t)n < sizeof(buf))
			hub_fanout(-strtoll(db_value(j, 0, i, 1), NULL, 10), buf, (size_t)n, NULL, 1);
	}
	db_job_free(j);
	if (hub_rt_end(tenant))
		hub_route_submit(tenant);
}

/* One routing pass for an organisation; run on every routing event. */
void
hub_route_tenant(int64_t tenant)
{
	hub_route(tenant);
}

static void
hub_route_submit(int64_t tenant)
{
	struct db_job	*j;

	j = db_job_new();
	db_job_tenant(j, tenant, 0, "acd", "");
	db_add(j, Q_ACD_ROUTE, 0);
	if (!db_submit(j, hub_route_done, (void *)(intptr_t)tenant)) {
		db_job_free(j);
		/* Not queued (database down): the next event or tick retries. */
		while (hub_rt_end(tenant))
			;
	}
}

static void
hub_route(int64_t tenant)
{
	if (hub_rt_begin(tenant))
		hub_route_submit(tenant);
}

static void
hub_tick_done(struct db_job *j, void *arg)
{
	int	i;

	(void)arg;
	for (i = 0; !j->failed && i < db_rows(j, 0); i++)
		hub_route(strtoll(db_value(j, 0, i, 0), NULL, 10));
	db_job_free(j);
}

/* Every second: expire unanswered offers, route where contacts wait. */
static void
hub_tick(void *arg, u_int64_t now)
{
	struct db_job	*j;

	(void)arg;
	(void)now;
	hub_leg_drop(0);
	j = db_job_new();
	db_add(j, Q_ACD_TICK, 0);
	if (!db_submit(j, hub_tick_done, j))
		db_job_free(j);
}

/* Staff frames: agent state and answers to offers -------------------------- */

static void
hub_staff_done(struct db_job *j, void *arg)
{
	struct hub_op	*op = arg;
	struct hub_conn	*hc = op->hc;
	const char	*v, *sys;
	char		 buf[160];
	int		 i, n, fup;

	sys = NULL;
	if (!j->failed && strcmp(op->reply, "accepted") == 0)
		sys = db_value(j, 0, 0, 0);
	/* "NAME ended the chat" reaches the customer too. */
	if (!j->failed && strcmp(op->reply, "finished") == 0)
		sys = db_value(j, 0, 0, 1);
	/* A follow-up ended from its chat tab: no wrap-up; the lists change. */
	fup = !j->failed && strcmp(op->reply, "finished") == 0 &&
	    db_value(j, 0, 0, 0) != NULL && strcmp(db_value(j, 0, 0, 0), "followup") == 0;
	if (hub_op_live(op)) {
		if (j->failed) {
			hub_job_error(hc, j, NULL);
		} else {
			if (sys != NULL && strcmp(op->reply, "accepted") == 0 &&
			    hub_sub_add(hc, op->conv)) {
				for (i = 0; i < db_rows(j, 2); i++)
					if ((v = db_value(j, 2, i, 0)) != NULL)
						hub_send(hc, v, strlen(v));
			}
			n = snprintf(buf, sizeof(buf), "{\"type\":\"%s\",\"conversation_id\":%lld%s}",
			    op->reply, (long long)op->conv, fup ? ",\"followup\":true" : "");
			hub_send(hc, buf, (size_t)n);
		}
	}
	if (fup)
		hub_followups(op->tenant);
	/* The join and end lines reach the customer wherever they are connected. */
	if (sys != NULL)
		hub_fanout(op->conv, sys, strlen(sys), NULL, 0);
	if (!j->failed) {
		hub_route(op->tenant);
		hub_board(op->tenant);
	}
	kore_free(op);
	db_job_free(j);
}

static void
hub_staff_job(struct hub_conn *hc, struct hub_in *in, const char *reply,
    const char *q, const char *p1, const char *p2)
{
	struct db_job	*j;
	struct hub_op	*op;
	char		 conv[24];

	if (hc->kind != HUB_STAFF) {
		hub_send_error(hc, NULL, "forbidden", "Only staff can do this");
		return;
	}
	(void)snprintf(conv, sizeof(conv), "%lld", (long long)in->w.conv);
	op = hub_op_new(hc, in->w.conv, NULL);
	op->reply = reply;
	j = hub_job(hc, "");
	if (strcmp(reply, "state") == 0) {
		db_add(j, q, 2, p1, p2);
	} else {
		db_add(j, q, 1, conv);
		if (strcmp(reply, "accepted") == 0) {
			/* Pipelined after the accept: nothing runs if it fails. */
			db_add(j, Q_CONVERSATION_ACCESS, 3, conv, "staff", p1);
			db_add(j, Q_MESSAGES_AFTER, 2, conv, "0");
		}
	}
	hub_submit(hc, j, hub_staff_done, op);
}

static void
hub_in_state(struct hub_conn *hc, struct hub_in *in)
{
	if (!wsframe_state_ok(&in->w)) {
		hub_send_error(hc, NULL, "invalid", "state is ready, not_ready (with a reason) or offline");
		return;
	}
	hub_staff_job(hc, in, "state", Q_ACD_STATE, in->w.state, in->w.reason);
}

static void
hub_in_answer(struct hub_conn *hc, struct hub_in *in, const char *reply, const char *q)
{
	char	who[24];

	if (in->w.conv <= 0) {
		hub_send_error(hc, NULL, "invalid", "conversation_id is required");
		return;
	}
	(void)snprintf(who, sizeof(who), "%lld", (long long)hc->who);
	hub_staff_job(hc, in, reply, q, who, NULL);
}

static void hub_in_accept(struct hub_conn *hc, struct hub_in *in) { hub_in_answer(hc, in, "accepted", Q_ACD_ACCEPT); }
static void hub_in_decline(struct hub_conn *hc, struct hub_in *in) { hub_in_answer(hc, in, "declined", Q_ACD_DECLINE); }

/*
 * "finish": staff end a chat they answered; a customer ends their own (W6):
 * while waiting that is leaving the queue, with an agent the agent is told.
 */
static void
hub_in_finish(struct hub_conn *hc, struct hub_in *in)
{
	if (hc->kind == HUB_CUSTOMER)
		hub_customer_op(hc, in, Q_CUSTOMER_END);
	else
		hub_in_answer(hc, in, "finished", Q_ACD_FINISH);
}

/*
 * Console operations (notes, whispers, barge, transfer, invite, join, take,
 * wrap-up, staff messages, the live board): the frame goes as it came to
 * vb_staff_op, which checks it and answers rows of effects (see
 * sql/migrations/0015_console.sql) that are carried out here, in order.
 */
enum hub_fx { FX_REPLY, FX_CONV, FX_STAFF, FX_USER, FX_SUB, FX_UNSUB, FX_WATCH,
    FX_ROUTE, FX_BOARD, FX_CB_ON, FX_CB_OFF, FX_MEDIA };

static const struct {
	const char	*name;
	enum hub_fx	 fx;
} hub_fx_names[] = {
	{ "reply", FX_REPLY }, { "conv", FX_CONV }, { "staff", FX_STAFF },
	{ "user", FX_USER }, { "sub", FX_SUB }, { "unsub", FX_UNSUB },
	{ "watch", FX_WATCH }, { "route", FX_ROUTE }, { "board", FX_BOARD },
	{ "cb_on", FX_CB_ON }, { "cb_off", FX_CB_OFF }, { "media", FX_MEDIA },
};

static int
hub_fx_lookup(const char *name, enum hub_fx *fx)
{
	size_t	i;

	for (i = 0; name != NULL && i < sizeof(hub_fx_names) / sizeof(hub_fx_names[0]); i++) {
		if (strcmp(hub_fx_names[i].name, name) == 0) {
			*fx = hub_fx_names[i].fx;
			return (1);
		}
	}
	return (0);
}

static void	hub_cb_fx(struct hub_conn *, int, int64_t, const char *, size_t);
static void	hub_call_media(int64_t, int64_t, const char *);

/* One effect; hc is NULL when the asking connection has gone. */
static void
hub_fx_run(struct hub_conn *hc, int64_t tenant, enum hub_fx fx, int64_t id,
    const char *frame)
{
	size_t	len = frame != NULL ? strlen(frame) : 0;

	switch (fx) {
	case FX_REPLY:
		if (hc != NULL && frame != NULL)
			hub_send(hc, frame, len);
		break;
	case FX_CONV:
	case FX_STAFF:
		if (frame != NULL && id > 0)
			hub_fanout(id, frame, len, NULL, fx == FX_STAFF);
		break;
	case FX_USER:
		if (frame != NULL && id > 0)
			hub_fanout(-id, frame, len, NULL, 1);
		break;
	case FX_SUB:
		if (hc != NULL && id > 0 && !hub_sub_add(hc, id))
			hub_send_error(hc, NULL, "too_many", "Too many conversations on one connection");
		break;
	case FX_UNSUB:
		if (hc != NULL && id > 0)
			hub_sub_remove(hc, id);
		break;
	case FX_WATCH:
		if (hc != NULL && !hub_sub_add(hc, HUB_BOARD(tenant)))
			hub_send_error(hc, NULL, "too_many", "Too many subscriptions on one connection");
		break;
	case FX_ROUTE:
		hub_route(tenant);
		break;
	case FX_BOARD:
		hub_board(tenant);
		break;
	case FX_CB_ON:
	case FX_CB_OFF:
		hub_cb_fx(hc, fx == FX_CB_ON, id, frame, len);
		break;
	case FX_MEDIA:
		hub_call_media(tenant, id, frame);
		break;
	}
}

static void
hub_op_done(struct db_job *j, void *arg)
{
	struct hub_op	*op = arg;
	struct hub_conn	*hc = op->hc;
	enum hub_fx	 fx;
	const char	*id;
	int		 i, live;

	live = hub_op_live(op);
	if (j->failed) {
		if (live)
			hub_job_error(hc, j, op->client_id);
	} else {
		for (i = 0; i < db_rows(j, 0); i++) {
			if (!hub_fx_lookup(db_value(j, 0, i, 0), &fx))
				continue;
			id = db_value(j, 0, i, 1);
			hub_fx_run(live ? hc : NULL, op->tenant, fx,
			    id != NULL ? strtoll(id, NULL, 10) : 0, db_value(j, 0, i, 2));
		}
	}
	kore_free(op);
	db_job_free(j);
}

static void
hub_in_op(struct hub_conn *hc, struct hub_in *in)
{
	struct db_job	*j;
	struct hub_op	*op;
	char		*frame;

	if (hc->kind != HUB_STAFF) {
		hub_send_error(hc, NULL, "forbidden", "Only staff can do this");
		return;
	}
	if (in->w.client_id != NULL && !hub_rate_ok(hc)) {
		hub_send_error(hc, in->w.client_id, "rate_limited",
		    "You are sending messages too fast; wait a moment");
		return;
	}
	/* The frame was valid JSON to Jansson; PostgreSQL checks it again. */
	frame = kore_malloc(in->rawlen + 1);
	memcpy(frame, in->raw, in->rawlen);
	frame[in->rawlen] = '\0';
	op = hub_op_new(hc, in->w.conv, in->w.client_id_ok ? in->w.client_id : NULL);
	j = hub_job(hc, op->client_id);
	db_add(j, Q_STAFF_OP, 2, in->w.type_name, frame);
	kore_free(frame);
	hub_submit(hc, j, hub_op_done, op);
}

/* Left the queue: the contact is on the organisation's follow-up list. */
static void
hub_leave_done(struct db_job *j, void *arg)
{
	struct hub_op	*op = arg;
	int64_t		 tenant = op->tenant;
	int		 ok = !j->failed;

	hub_op_done(j, arg);
	if (ok)
		hub_followups(tenant);
}

/* A customer's own conversation: leave its queue or end it. */
static void
hub_customer_op(struct hub_conn *hc, struct hub_in *in, const char *q)
{
	struct db_job	*j;
	struct hub_op	*op;
	char		 conv[24], who[24];

	if (in->w.conv <= 0) {
		hub_send_error(hc, NULL, "invalid", "conversation_id is required");
		return;
	}
	(void)snprintf(conv, sizeof(conv), "%lld", (long long)in->w.conv);
	(void)snprintf(who, sizeof(who), "%lld", (long long)hc->who);
	op = hub_op_new(hc, in->w.conv, NULL);
	j = hub_job(hc, "");
	db_add(j, q, 2, conv, who);
	hub_submit(hc, j, hub_leave_done, op);
}

/* A customer leaves the queue before anyone answered (W5, A7). */
static void
hub_in_leave_queue(struct hub_conn *hc, struct hub_in *in)
{
	if (hc->kind != HUB_CUSTOMER) {
		hub_send_error(hc, NULL, "forbidden", "Only the customer leaves the queue");
		return;
	}
	hub_customer_op(hc, in, Q_LEAVE_QUEUE);
}


/* Co-browsing (issue 5) ------------------------------------------------------
 *
 * The customer's page (rrweb events, masked in their browser) comes as
 * cobrowse_data frames and goes to the staff following the conversation
 * only, never back to a customer. Lifecycle frames ("cobrowse": request,
 * consent, stop, control grants) and control actions go through the
 * database (sql/migrations/0021_cobrowse.sql), which checks them, writes the
 * conversation's record and the audit log, and answers effects; cb_on lets
 * this customer connection send page data for the conversation, cb_off (or
 * the "ended" frame reaching it from anywhere) stops it. Pointer and drawing
 * frames of staff are ephemeral, like typing. Refusals are logged.
 */
#define HUB_CB_RATE	(2 * 1024 * 1024)	/* page bytes per second, sustained */
#define HUB_CB_BURST	(16 * 1024 * 1024)
#define HUB_CB_LIVE_RATE 60			/* pointer frames per second */
#define HUB_CB_LIVE_BURST 120

static void
hub_cb_refuse(struct hub_conn *hc, int64_t conv, const char *code, const char *msg)
{
	vb_log(LOG_NOTICE, "cobrowse: refused %s %lld conversation %lld: %s",
	    hc->kind == HUB_STAFF ? "user" : "customer", (long long)hc->who,
	    (long long)conv, code);
	hub_send_error(hc, NULL, code, msg);
}

/* A token bucket of cost units (bytes or frames) per second. */
static int
hub_cb_budget(struct hub_conn *hc, double cost, double rate, double burst)
{
	u_int64_t	now = kore_time_ms();

	if (hc->cb_tokens_at == 0)
		hc->cb_tokens = burst;
	else
		hc->cb_tokens += (double)(now - hc->cb_tokens_at) * rate / 1000.0;
	if (hc->cb_tokens > burst)
		hc->cb_tokens = burst;
	hc->cb_tokens_at = now;
	if (hc->cb_tokens < cost)
		return (0);
	hc->cb_tokens -= cost;
	return (1);
}

/* cb_on / cb_off for the customer connection that asked (frame: its reply). */
static void
hub_cb_fx(struct hub_conn *hc, int on, int64_t conv, const char *frame, size_t len)
{
	int64_t		 limit, session;

	if (hc == NULL || hc->kind != HUB_CUSTOMER || conv <= 0)
		return;
	if (!on) {
		if (hc->cb_conv == conv) {
			hc->cb_conv = 0;
			hub_cb_store_end(hc);
		}
		return;
	}
	if (frame == NULL)
		return;
	limit = cbframe_limit(frame, len);
	hc->cb_conv = conv;
	hc->cb_limit = limit > 0 ? limit : 8388608;
	hc->cb_snap_id = hc->cb_refused_id = hc->cb_snap_bytes = 0;
	hub_cb_store_end(hc);
	if ((session = cbframe_store(frame, len)) > 0)
		hc->cb_store = cbstore_new(session, conv);
	hub_send(hc, frame, len);
}

/*
 * A frame on its way to a customer connection that sends page data: the
 * session's end, wherever it was decided, stops this connection too.
 */
static void
hub_cb_seen(struct hub_conn *hc, int64_t conv, const char *data, size_t len)
{
	static const char	ended[] = "{\"op\": \"ended\", \"type\": \"cobrowse\"";

	if (hc->kind == HUB_CUSTOMER && len > sizeof(ended) - 1 &&
	    memcmp(data, ended, sizeof(ended) - 1) == 0) {
		hc->cb_conv = 0;
		hub_cb_store_end(hc);
	}
	(void)conv;
}

/*
 * Session storage (the site's choice, 0025): the page data the agents got,
 * compressed as it comes (cbstore.c), goes to the database in chunks every
 * 512 KiB or 3 seconds, and when the session or the connection ends.
 */
static void
hub_cb_store_done(struct db_job *j, void *arg)
{
	(void)arg;
	if (j->failed)
		vb_log(LOG_NOTICE, "cobrowse: a stored chunk was refused: %s",
		    j->errhint ? j->errhint : j->sqlstate);
	db_job_free(j);
}

static void
hub_cb_store_flush(struct hub_conn *hc)
{
	struct db_job	*j;
	unsigned char	*z;
	char		*hex, who[24], session[24], raw_s[24];
	size_t		 zlen, raw;

	if (hc->cb_store == NULL || (z = cbstore_take(hc->cb_store, &zlen, &raw)) == NULL)
		return;
	hex = kore_malloc(zlen * 2 + 3);
	hex[0] = '\\';
	hex[1] = 'x';
	(void)sodium_bin2hex(hex + 2, zlen * 2 + 1, z, zlen);
	(void)snprintf(who, sizeof(who), "%lld", (long long)hc->who);
	(void)snprintf(session, sizeof(session), "%lld", (long long)cbstore_session(hc->cb_store));
	(void)snprintf(raw_s, sizeof(raw_s), "%zu", raw);
	j = hub_job(hc, "");
	db_add(j, Q_COBROWSE_STORE, 4, who, session, hex, raw_s);
	kore_free(hex);
	if (!db_submit(j, hub_cb_store_done, NULL)) {
		vb_log(LOG_NOTICE, "cobrowse: a stored chunk of session %s was lost (database busy)", session);
		db_job_free(j);
	}
}

static void
hub_cb_store_end(struct hub_conn *hc)
{
	if (hc->cb_store == NULL)
		return;
	hub_cb_store_flush(hc);
	cbstore_free(hc->cb_store);
	hc->cb_store = NULL;
}

/* A refusal by the database (no consent, no grant, not in the chat) is logged. */
static void
hub_cb_done(struct db_job *j, void *arg)
{
	struct hub_op	*op = arg;

	if (j->failed)
		vb_log(LOG_NOTICE, "cobrowse: refused %s %lld conversation %lld: %s",
		    op->customer ? "customer" : "user", (long long)op->hc->who,
		    (long long)op->conv, j->errhint ? j->errhint : j->sqlstate);
	hub_op_done(j, arg);
}

/* Lifecycle: the database checks who may do what and answers effects. */
static void
hub_in_cobrowse(struct hub_conn *hc, struct hub_in *in)
{
	struct db_job	*j;
	struct hub_op	*op;
	char		*frame, who[24];

	if (!cbframe_op_ok(&in->w, hc->kind == HUB_STAFF ? CB_STAFF : CB_CUSTOMER)) {
		hub_cb_refuse(hc, in->w.conv, "invalid",
		    "cobrowse needs conversation_id and an op you may send");
		return;
	}
	if (!hub_rate_ok(hc)) {
		hub_send_error(hc, NULL, "rate_limited", "Too many requests; wait a moment");
		return;
	}
	frame = kore_malloc(in->rawlen + 1);
	memcpy(frame, in->raw, in->rawlen);
	frame[in->rawlen] = '\0';
	(void)snprintf(who, sizeof(who), "%lld", (long long)hc->who);
	op = hub_op_new(hc, in->w.conv, NULL);
	j = hub_job(hc, "");
	db_add(j, Q_COBROWSE_OP, 3, hc->kind == HUB_STAFF ? "staff" : "customer", who, frame);
	kore_free(frame);
	hub_submit(hc, j, hub_cb_done, op);
}

/* Page data from the consenting customer, to the staff only. */
static void
hub_in_cobrowse_data(struct hub_conn *hc, struct hub_in *in)
{
	struct cbdata	 d;
	char		*out, buf[192];
	size_t		 len;
	int		 n;

	if (hc->kind != HUB_CUSTOMER) {
		hub_cb_refuse(hc, in->w.conv, "forbidden", "Only the customer shares their page");
		return;
	}
	if (!cbframe_data(&in->w, &d)) {
		hub_cb_refuse(hc, in->w.conv, "invalid", "cobrowse_data needs conversation_id, "
		    "id, part, parts and data of 1 to 61440 bytes");
		return;
	}
	if (hc->cb_conv == 0 || hc->cb_conv != in->w.conv || !hub_subscribed(hc, in->w.conv)) {
		hub_cb_refuse(hc, in->w.conv, "not_consented",
		    "Co-browsing is not running for this conversation");
		return;
	}
	if (d.snap) {
		if (d.id != hc->cb_snap_id) {
			hc->cb_snap_id = d.id;
			hc->cb_snap_bytes = 0;
		}
		if (hc->cb_refused_id == d.id)
			return;
		hc->cb_snap_bytes += (int64_t)d.len;
		if (hc->cb_snap_bytes > hc->cb_limit) {
			hc->cb_refused_id = d.id;
			hub_cb_refuse(hc, in->w.conv, "snapshot_too_large",
			    "This page is too large to share");
			n = snprintf(buf, sizeof(buf), "{\"type\":\"cobrowse\",\"op\":\"too_large\","
			    "\"conversation_id\":%lld,\"limit\":%lld}", (long long)in->w.conv,
			    (long long)hc->cb_limit);
			hub_fanout(in->w.conv, buf, (size_t)n, hc, 1);
			return;
		}
	}
	if (!hub_cb_budget(hc, (double)d.len, HUB_CB_RATE, HUB_CB_BURST)) {
		hub_cb_refuse(hc, in->w.conv, "rate_limited", "The page changes too fast to share");
		return;
	}
	if ((out = cbframe_data_out(in->w.conv, &d, &len)) == NULL)
		return;
	hub_fanout(in->w.conv, out, len, hc, 1);
	free(out);
	if (hc->cb_store != NULL && cbstore_add(hc->cb_store, &d, kore_time_ms()))
		hub_cb_store_flush(hc);
}

/*
 * Pointer, drawing and pushed documents reach the customer only from staff
 * in the chat (conversation_staff: the assigned agent, colleagues who
 * joined, a supervisor who barged), never from a silent monitor. The
 * database answers once; a yes holds for HUB_CB_MAY_MS, so a leave or
 * transfer takes effect within that time; a no for HUB_CB_MAYNOT_MS (a
 * supervisor who barges may point at once).
 */
#define HUB_CB_MAY_MS	2000
#define HUB_CB_MAYNOT_MS 300
#define HUB_CB_MAY_N	(sizeof(((struct hub_conn *)0)->cb_may_conv) / sizeof(int64_t))

struct hub_cblive {
	struct hub_op	 op;		/* first: hub_op_live takes it */
	char		*out;
	size_t		 len;
};

/* 1: may, 0: may not, -1: not known (ask the database). */
static int
hub_cb_may(struct hub_conn *hc, int64_t conv)
{
	u_int64_t	now = kore_time_ms();
	size_t		i;

	for (i = 0; i < HUB_CB_MAY_N; i++)
		if (hc->cb_may_conv[i] == conv && hc->cb_may_until[i] > now)
			return (hc->cb_may_ok[i]);
	return (-1);
}

static void
hub_cb_may_set(struct hub_conn *hc, int64_t conv, int ok)
{
	size_t	i, slot = 0;

	for (i = 0; i < HUB_CB_MAY_N; i++) {
		if (hc->cb_may_conv[i] == conv) {
			slot = i;
			break;
		}
		if (hc->cb_may_until[i] < hc->cb_may_until[slot])
			slot = i;
	}
	hc->cb_may_conv[slot] = conv;
	hc->cb_may_until[slot] = kore_time_ms() + (ok ? HUB_CB_MAY_MS : HUB_CB_MAYNOT_MS);
	hc->cb_may_ok[slot] = ok;
}

static void
hub_cb_live_done(struct db_job *j, void *arg)
{
	struct hub_cblive	*l = arg;
	struct hub_conn		*hc = l->op.hc;
	int			 ok = !j->failed, no;

	no = j->failed && j->errhint != NULL && strcmp(j->errhint, "forbidden") == 0;
	if (hub_op_live(&l->op)) {
		if (ok || no)
			hub_cb_may_set(hc, l->op.conv, ok);
		if (ok)
			hub_fanout(l->op.conv, l->out, l->len, hc, 0);
		else if (no)
			hub_cb_refuse(hc, l->op.conv, "forbidden", j->errmsg);
		else
			hub_job_error(hc, j, NULL);
	}
	free(l->out);
	kore_free(l);
	db_job_free(j);
}

/* An agent's pointer, click, drawing or pushed document: to everyone else. */
static void
hub_in_cobrowse_live(struct hub_conn *hc, struct hub_in *in)
{
	struct hub_cblive	*l;
	struct db_job		*j;
	char			*out, conv[24];
	size_t			 len;

	if (hc->kind != HUB_STAFF) {
		hub_cb_refuse(hc, in->w.conv, "forbidden", "Only staff point and draw");
		return;
	}
	if (!hub_subscribed(hc, in->w.conv)) {
		hub_cb_refuse(hc, in->w.conv, "not_subscribed", "Subscribe to the conversation first");
		return;
	}
	if ((out = cbframe_live(&in->w, hc->who, &len)) == NULL) {
		hub_send_error(hc, NULL, "invalid", "cobrowse_live needs a kind and its "
		    "coordinates, points, url or file_id");
		return;
	}
	if (!hub_cb_budget(hc, 1.0, HUB_CB_LIVE_RATE, HUB_CB_LIVE_BURST)) {
		free(out);
		return;
	}
	switch (hub_cb_may(hc, in->w.conv)) {
	case 1:
		hub_fanout(in->w.conv, out, len, hc, 0);
		break;
	case 0:
		hub_cb_refuse(hc, in->w.conv, "forbidden",
		    "Only staff in the chat point, draw or send to the customer");
		break;
	default:
		l = kore_calloc(1, sizeof(*l));
		l->op.hc = hc;
		l->op.conv = in->w.conv;
		l->op.tenant = hc->tenant_id;
		l->out = out;
		l->len = len;
		hc->pending++;
		(void)snprintf(conv, sizeof(conv), "%lld", (long long)in->w.conv);
		j = hub_job(hc, "");
		db_add(j, Q_COBROWSE_LIVE_OK, 1, conv);
		if (!db_submit(j, hub_cb_live_done, l)) {
			db_job_free(j);
			(void)hub_op_live(&l->op);
			hub_send_error(hc, NULL, "unavailable",
			    "The server is busy or its database unavailable; try again shortly");
			free(l->out);
			kore_free(l);
		}
		return;
	}
	free(out);
}

/* A click or fill on the customer's page: only under a current grant. */
static void
hub_in_cobrowse_control(struct hub_conn *hc, struct hub_in *in)
{
	struct db_job	*j;
	struct hub_op	*op;
	char		*frame, who[24];

	if (hc->kind != HUB_STAFF) {
		hub_cb_refuse(hc, in->w.conv, "forbidden", "Only staff use remote control");
		return;
	}
	if (!cbframe_control_ok(&in->w)) {
		hub_send_error(hc, NULL, "invalid", "cobrowse_control needs conversation_id, "
		    "node and action click, or fill with a value of up to 1000 characters");
		return;
	}
	if (!hub_rate_ok(hc)) {
		hub_send_error(hc, NULL, "rate_limited", "Too many actions; wait a moment");
		return;
	}
	frame = kore_malloc(in->rawlen + 1);
	memcpy(frame, in->raw, in->rawlen);
	frame[in->rawlen] = '\0';
	(void)snprintf(who, sizeof(who), "%lld", (long long)hc->who);
	op = hub_op_new(hc, in->w.conv, NULL);
	j = hub_job(hc, "");
	db_add(j, Q_COBROWSE_CONTROL, 2, who, frame);
	kore_free(frame);
	hub_submit(hc, j, hub_cb_done, op);
}

/* Calls (issue 4) --------------------------------------------------------------
 *
 * "call" frames (docs/websocket.md, "Calls"): the lifecycle ops go to
 * vb_call_op (sql/migrations/0027_callsig.sql), which checks who may do what
 * and answers effects; "media" effects are relay commands (media.c): the
 * forwarding rules recomputed from the call's state after every change,
 * recording, room.destroy. An offer is checked by vb_call_offer, given to
 * the relay (room.create, participant.add, or participant.update when the
 * participant exists), its answer goes to that browser only, and
 * vb_call_joined stores its m-lines and answers the new rules.
 *
 * Legs: the (room, participant) pairs whose offers this worker gave to the
 * relay, with the connection that sent them. They decide which worker acts
 * on a relay event (every worker gets every event), and who is told to
 * restart ICE when the relay restarts. A leg whose connection closed stays
 * HUB_LEG_ORPHAN_MS: if the relay then loses that participant, the call ends.
 */
#define HUB_LEG_ORPHAN_MS	120000

struct hub_leg {
	int64_t			 call;
	int64_t			 conv;
	int64_t			 tenant;
	char			 room[32];
	char			 part[24];
	struct hub_conn		*hc;		/* NULL: the connection closed */
	u_int64_t		 orphan_at;
	struct hub_leg		*next;
};

static struct hub_leg	*hub_legs;

struct hub_call {
	struct hub_op		*op;
	int64_t			 call;
	int			 updating;
	char			 room[32];
	char			 part[24];
	char			 mids[WSCALL_MIDS_MAX];
	char			*sdp;
};

static struct hub_leg *
hub_leg_find(const char *room, const char *part)
{
	struct hub_leg	*l;

	for (l = hub_legs; l != NULL; l = l->next)
		if (strcmp(l->room, room) == 0 && strcmp(l->part, part) == 0)
			return (l);
	return (NULL);
}

static void
hub_leg_set(struct hub_conn *hc, int64_t call, int64_t conv, int64_t tenant,
    const char *room, const char *part)
{
	struct hub_leg	*l;

	if ((l = hub_leg_find(room, part)) == NULL) {
		l = kore_calloc(1, sizeof(*l));
		kore_strlcpy(l->room, room, sizeof(l->room));
		kore_strlcpy(l->part, part, sizeof(l->part));
		l->next = hub_legs;
		hub_legs = l;
	}
	l->call = call;
	l->conv = conv;
	l->tenant = tenant;
	l->hc = hc->closed ? NULL : hc;
	l->orphan_at = hc->closed ? kore_time_ms() : 0;
}

/* Drops the legs of a call (ended), or with call 0 the expired orphans. */
static void
hub_leg_drop(int64_t call)
{
	struct hub_leg	**pp, *l;
	u_int64_t	  now = kore_time_ms();

	for (pp = &hub_legs; (l = *pp) != NULL; ) {
		if ((call != 0 && l->call == call) ||
		    (call == 0 && l->hc == NULL && now - l->orphan_at > HUB_LEG_ORPHAN_MS)) {
			*pp = l->next;
			kore_free(l);
		} else {
			pp = &l->next;
		}
	}
}

/* A connection closes: its legs become orphans. */
static void
hub_leg_orphan(struct hub_conn *hc)
{
	struct hub_leg	*l;

	for (l = hub_legs; l != NULL; l = l->next) {
		if (l->hc == hc) {
			l->hc = NULL;
			l->orphan_at = kore_time_ms();
		}
	}
}

static void
hub_call_free(struct hub_call *hcall)
{
	free(hcall->sdp);
	kore_free(hcall);
}

/* The end of an offer's handling: its connection may go now. */
static void
hub_call_finish(struct hub_call *hcall)
{
	(void)hub_op_live(hcall->op);
	kore_free(hcall->op);
	hub_call_free(hcall);
}

static void
hub_call_error(struct hub_call *hcall, const char *code, const char *msg)
{
	if (!hcall->op->hc->closed)
		hub_send_error(hcall->op->hc, hcall->op->client_id, code, msg);
	vb_log(LOG_NOTICE, "calls: offer of %s for call %lld refused: %s", hcall->part,
	    (long long)hcall->call, code);
}

static void	hub_call_added(struct json_t *, void *);

static int
hub_call_participant(struct hub_call *hcall, const char *cmd)
{
	json_t	*req;

	req = json_pack("{s:s,s:s,s:s,s:s}", "cmd", cmd, "room", hcall->room,
	    "participant", hcall->part, "offer", hcall->sdp);
	return (req != NULL && media_request(req, hub_call_added, hcall));
}

/* The relay's answer to participant.add / participant.update. */
static void
hub_call_added(struct json_t *ans, void *arg)
{
	struct hub_call	*hcall = arg;
	struct hub_conn	*hc = hcall->op->hc;
	struct db_job	*j;
	struct sbuf	 b;
	const char	*code, *sdp, *epoch;
	char		 call[24], who[24];
	json_t		*e;

	if (ans == NULL) {
		hub_call_error(hcall, "media_unavailable", "The media relay is unavailable; try again");
		hub_call_finish(hcall);
		return;
	}
	if (!json_is_true(json_object_get(ans, "ok"))) {
		e = json_object_get(ans, "error");
		code = json_string_value(json_object_get(e, "code"));
		if (code != NULL && strcmp(code, "exists") == 0 && !hcall->updating) {
			hcall->updating = 1;
			if (hub_call_participant(hcall, "participant.update"))
				return;
			hub_call_error(hcall, "media_unavailable", "The media relay is unavailable; try again");
		} else if (code != NULL && strcmp(code, "bad_offer") == 0) {
			hub_call_error(hcall, "bad_offer", "The relay could not use this offer");
		} else {
			vb_log(LOG_NOTICE, "calls: relay refused %s: %s", hcall->part,
			    code != NULL ? code : "?");
			hub_call_error(hcall, "media_error", "The media relay refused this offer");
		}
		hub_call_finish(hcall);
		return;
	}
	sdp = json_string_value(json_object_get(ans, "answer"));
	if (sdp == NULL || (epoch = media_epoch()) == NULL) {
		hub_call_error(hcall, "media_unavailable", "The media relay is unavailable; try again");
		hub_call_finish(hcall);
		return;
	}
	hub_leg_set(hc, hcall->call, hcall->op->conv, hcall->op->tenant, hcall->room, hcall->part);
	if (!hc->closed) {
		sbuf_init(&b);
		sbuf_addf(&b, "{\"type\":\"call\",\"op\":\"answer\",\"conversation_id\":%lld,"
		    "\"call_id\":%lld,\"sdp\":", (long long)hcall->op->conv, (long long)hcall->call);
		sbuf_json_str(&b, sdp);
		sbuf_addc(&b, '}');
		hub_send(hc, b.data, b.len);
		sbuf_free(&b);
	}
	/* Its m-lines and the rules: the job takes over the op. */
	(void)snprintf(call, sizeof(call), "%lld", (long long)hcall->call);
	(void)snprintf(who, sizeof(who), "%lld", (long long)hc->who);
	j = hub_job(hc, "");
	db_add(j, Q_CALL_JOINED, 5, hc->kind == HUB_STAFF ? "staff" : "customer", who, call,
	    hcall->mids, epoch);
	hub_submit(hc, j, hub_op_done, hcall->op);
	hub_call_free(hcall);
}

/* vb_call_offer said yes: to the relay. */
static void
hub_call_checked(struct db_job *j, void *arg)
{
	struct hub_call	*hcall = arg;
	json_t		*res, *req;
	json_error_t	 err;
	const char	*v, *room, *part;

	if (hcall->op->hc->closed) {
		db_job_free(j);
		hub_call_finish(hcall);
		return;
	}
	if (j->failed) {
		hub_job_error(hcall->op->hc, j, hcall->op->client_id);
		db_job_free(j);
		hub_call_finish(hcall);
		return;
	}
	v = db_value(j, 0, 0, 0);
	res = v != NULL ? json_loads(v, 0, &err) : NULL;
	room = json_string_value(json_object_get(res, "room"));
	part = json_string_value(json_object_get(res, "participant"));
	if (room == NULL || part == NULL ||
	    !json_is_integer(json_object_get(res, "conversation_id"))) {
		json_decref(res);
		db_job_free(j);
		hub_call_error(hcall, "internal", "Something went wrong on our side");
		hub_call_finish(hcall);
		return;
	}
	kore_strlcpy(hcall->room, room, sizeof(hcall->room));
	kore_strlcpy(hcall->part, part, sizeof(hcall->part));
	hcall->op->conv = (int64_t)json_integer_value(json_object_get(res, "conversation_id"));
	json_decref(res);
	db_job_free(j);
	/* After a relay restart the room is gone: create it (exists is fine). */
	req = json_pack("{s:s,s:s}", "cmd", "room.create", "room", hcall->room);
	if (req == NULL || !media_request(req, NULL, NULL) ||
	    !hub_call_participant(hcall, "participant.add")) {
		hub_call_error(hcall, "media_unavailable", "The media relay is unavailable; try again");
		hub_call_finish(hcall);
	}
}

static void
hub_call_offer(struct hub_conn *hc, struct hub_in *in, const struct wscall *wc,
    const char *cid)
{
	struct hub_call	*hcall;
	struct db_job	*j;
	char		 call[24], who[24];

	hcall = kore_calloc(1, sizeof(*hcall));
	if (!wsframe_sdp_mids(wc->sdp, wc->sdp_len, hcall->mids, sizeof(hcall->mids))) {
		kore_free(hcall);
		hub_send_error(hc, cid, "invalid", "The offer needs 1 to 8 m-lines, each with a mid "
		    "of 1-64 letters, digits, '_', '.' or '-', at most two audio and two video");
		return;
	}
	if (media_epoch() == NULL) {
		kore_free(hcall);
		hub_send_error(hc, cid, "media_unavailable", "The media relay is unavailable; try again");
		return;
	}
	if ((hcall->sdp = strndup(wc->sdp, wc->sdp_len)) == NULL)
		fatal("hub_call_offer: out of memory");
	hcall->call = in->w.call;
	hcall->op = hub_op_new(hc, 0, cid);
	(void)snprintf(call, sizeof(call), "%lld", (long long)in->w.call);
	(void)snprintf(who, sizeof(who), "%lld", (long long)hc->who);
	j = hub_job(hc, "");
	db_add(j, Q_CALL_OFFER, 3, hc->kind == HUB_STAFF ? "staff" : "customer", who, call);
	if (db_submit(j, hub_call_checked, hcall))
		return;
	db_job_free(j);
	hub_send_error(hc, cid, "unavailable",
	    "The server is busy or its database unavailable; try again shortly");
	hub_call_finish(hcall);
}

static void
hub_in_call(struct hub_conn *hc, struct hub_in *in)
{
	struct wscall	 wc;
	struct db_job	*j;
	struct hub_op	*op;
	const char	*bad, *cid;
	char		*frame, who[24];

	/* A client_id comes back on errors: the page knows what was refused. */
	cid = in->w.client_id_ok ? in->w.client_id : NULL;
	if ((bad = wsframe_call(&in->w, &wc)) != NULL) {
		hub_send_error(hc, cid, "invalid", bad);
		return;
	}
	if (!hub_rate_ok(hc)) {
		hub_send_error(hc, cid, "rate_limited", "Too many requests; wait a moment");
		return;
	}
	if (wc.op == WSC_OFFER) {
		hub_call_offer(hc, in, &wc, cid);
		return;
	}
	frame = kore_malloc(in->rawlen + 1);
	memcpy(frame, in->raw, in->rawlen);
	frame[in->rawlen] = '\0';
	(void)snprintf(who, sizeof(who), "%lld", (long long)hc->who);
	op = hub_op_new(hc, in->w.conv, cid);
	j = hub_job(hc, "");
	db_add(j, Q_CALL_OP, 4, hc->kind == HUB_STAFF ? "staff" : "customer", who, frame,
	    media_epoch());
	kore_free(frame);
	hub_submit(hc, j, hub_op_done, op);
}

/* A "media" effect: the relay command; an ended call's legs go. */
static void
hub_call_media(int64_t tenant, int64_t call, const char *cmd)
{
	if (cmd == NULL)
		return;
	if (strstr(cmd, "\"room.destroy\"") != NULL)
		hub_leg_drop(call);
	media_command(tenant, call, cmd);
}

static void
hub_lost_done(struct db_job *j, void *arg)
{
	enum hub_fx	 fx;
	const char	*id;
	int64_t		 tenant = (int64_t)(intptr_t)arg;
	int		 i;

	for (i = 0; !j->failed && i < db_rows(j, 0); i++) {
		if (!hub_fx_lookup(db_value(j, 0, i, 0), &fx))
			continue;
		id = db_value(j, 0, i, 1);
		hub_fx_run(NULL, tenant, fx, id != NULL ? strtoll(id, NULL, 10) : 0,
		    db_value(j, 0, i, 2));
	}
	if (j->failed)
		vb_log(LOG_NOTICE, "calls: ending a lost call: %s", j->errmsg ? j->errmsg : "");
	db_job_free(j);
}

/*
 * participant.connected / disconnected: the worker holding the leg tells
 * the conversation (network state of that side); a leg whose browser left
 * the hub, lost by the relay, ends its call.
 */
void
hub_media_event(struct json_t *ev)
{
	const char	*name, *room, *part, *state, *reason;
	struct hub_leg	*l;
	struct db_job	*j;
	struct sbuf	 b;
	char		 call[24];

	name = json_string_value(json_object_get(ev, "event"));
	room = json_string_value(json_object_get(ev, "room"));
	part = json_string_value(json_object_get(ev, "participant"));
	state = json_string_value(json_object_get(ev, "state"));
	reason = json_string_value(json_object_get(ev, "reason"));
	if (name == NULL || room == NULL || part == NULL || (l = hub_leg_find(room, part)) == NULL)
		return;
	if (strcmp(name, "participant.connected") != 0 &&
	    strcmp(name, "participant.disconnected") != 0)
		return;
	if (l->hc == NULL) {
		if (strcmp(name, "participant.disconnected") != 0 || media_epoch() == NULL)
			return;
		(void)snprintf(call, sizeof(call), "%lld", (long long)l->call);
		j = db_job_new();
		db_job_tenant(j, l->tenant, 0, "media", "");
		db_add(j, Q_CALL_LOST, 3, call, part, media_epoch());
		if (!db_submit(j, hub_lost_done, (void *)(intptr_t)l->tenant))
			db_job_free(j);
		return;
	}
	sbuf_init(&b);
	sbuf_addf(&b, "{\"type\":\"call\",\"op\":\"media\",\"conversation_id\":%lld,"
	    "\"call_id\":%lld,\"participant\":", (long long)l->conv, (long long)l->call);
	sbuf_json_str(&b, part);
	sbuf_adds(&b, ",\"state\":");
	sbuf_json_str(&b, state != NULL ? state : "");
	if (reason != NULL) {
		sbuf_adds(&b, ",\"reason\":");
		sbuf_json_str(&b, reason);
	}
	sbuf_addc(&b, '}');
	hub_fanout(l->conv, b.data, b.len, NULL, 0);
	sbuf_free(&b);
}

/*
 * The relay restarted (or came back): its rooms are gone. Each browser in a
 * call through this worker is asked for an ICE-restart offer, which creates
 * the room again; legs without a connection go.
 */
void
hub_media_restart(void)
{
	struct hub_leg	**pp, *l;
	char		  buf[160];
	int		  n;

	for (pp = &hub_legs; (l = *pp) != NULL; ) {
		if (l->hc == NULL) {
			*pp = l->next;
			kore_free(l);
			continue;
		}
		n = snprintf(buf, sizeof(buf), "{\"type\":\"call\",\"op\":\"restart\","
		    "\"conversation_id\":%lld,\"call_id\":%lld}", (long long)l->conv,
		    (long long)l->call);
		hub_send(l->hc, buf, (size_t)n);
		pp = &l->next;
	}
}

/* What to do with each type of frame wsframe.c knows. */
static void (*const hub_types[WSF_NTYPES])(struct hub_conn *, struct hub_in *) = {
	[WSF_NOTE] = hub_in_op,
	[WSF_WHISPER] = hub_in_op,
	[WSF_BARGE] = hub_in_op,
	[WSF_LEAVE] = hub_in_op,
	[WSF_TRANSFER] = hub_in_op,
	[WSF_INVITE] = hub_in_op,
	[WSF_JOIN] = hub_in_op,
	[WSF_TAKE] = hub_in_op,
	[WSF_WRAPUP] = hub_in_op,
	[WSF_DM] = hub_in_op,
	[WSF_WATCH] = hub_in_op,
	[WSF_READ] = hub_in_op,
	[WSF_LEAVE_QUEUE] = hub_in_leave_queue,
	[WSF_UNSUBSCRIBE] = hub_in_unsubscribe,
	[WSF_STATE] = hub_in_state,
	[WSF_ACCEPT] = hub_in_accept,
	[WSF_DECLINE] = hub_in_decline,
	[WSF_FINISH] = hub_in_finish,
	[WSF_SEND] = hub_in_send,
	[WSF_SUBSCRIBE] = hub_in_subscribe,
	[WSF_TYPING] = hub_in_typing,
	[WSF_PING] = hub_in_ping,
	[WSF_COBROWSE] = hub_in_cobrowse,
	[WSF_COBROWSE_DATA] = hub_in_cobrowse_data,
	[WSF_COBROWSE_LIVE] = hub_in_cobrowse_live,
	[WSF_COBROWSE_CONTROL] = hub_in_cobrowse_control,
	[WSF_CALL] = hub_in_call,
};

/*
 * One frame from a client. Anything that is not a JSON object with a known
 * "type" gets an error frame and changes nothing.
 */
void
hub_message(struct connection *c, u_int8_t op, void *data, size_t len)
{
	struct hub_conn	*hc = c->hdlr_extra;
	struct hub_in	 in;

	if (hc == NULL)
		return;
	if (op != WEBSOCKET_OP_TEXT) {
		hub_send_error(hc, NULL, "bad_frame", "Only JSON text frames are understood");
		return;
	}
	switch (wsframe_parse(&in.w, data, len)) {
	case WSF_BAD_JSON:
		hub_send_error(hc, NULL, "bad_json", "A JSON object with a type is required");
		break;
	case WSF_UNKNOWN_TYPE:
		hub_send_error(hc, NULL, "unknown_type", "Unknown message type");
		break;
	case WSF_OK:
		in.raw = data;
		in.rawlen = len;
		hub_types[in.w.type](hc, &in);
		break;
	}
	wsframe_free(&in.w);
}

/* HTTP side ------------------------------------------------------------------ */

static int
hub_origin_ok(struct vbreq *r, const char **origin)
{
	if (!http_request_header(r->req, "origin", origin) || strlen(*origin) > 255 ||
	    !util_origin_valid(*origin))
		return (0);
	return (1);
}

/* Answers carry CORS for the page's origin (added once, by vb_json). */
static void
hub_cors(struct vbreq *r, const char *origin)
{
	kore_strlcpy(r->cors_origin, origin, sizeof(r->cors_origin));
}

/* Preflight for the cross-origin session request of the loader. */
int
hub_widget_preflight(struct vbreq *r)
{
	const char	*origin;

	if (!hub_origin_ok(r, &origin)) {
		vb_error(r, 403, "origin_required", "A valid Origin header is required");
		return (VB_DONE);
	}
	hub_cors(r, origin);
	http_response_header(r->req, "access-control-allow-methods", "POST");
	http_response_header(r->req, "access-control-allow-headers", "content-type");
	http_response_header(r->req, "access-control-max-age", "600");
	vb_json(r, 204, NULL, 0);
	return (VB_DONE);
}

static void
hub_upgrade(struct vbreq *r, enum hub_kind kind, int64_t tenant, int64_t who)
{
	struct hub_conn	*hc;

	hc = kore_calloc(1, sizeof(*hc));
	hc->kind = kind;
	hc->tenant_id = tenant;
	hc->who = who;
	kore_strlcpy(hc->addr, r->addr, sizeof(hc->addr));
	r->req->owner->hdlr_extra = hc;
	r->status = 101;
	kore_websocket_handshake(r->req, "hub_connect", "hub_message", "hub_disconnect");
}

/*
 * GET /ws: staff with their session cookie, customers with ?token= from
 * their widget session. The Origin must be ours: no other site may open a
 * socket with a staff member's cookie (cross-site WebSocket hijacking).
 */
int
hub_ws(struct vbreq *r)
{
	const char	*origin;
	char		 token[64], hash[65];
	struct db_job	*j;
	size_t		 plen;

	switch (r->step) {
	case 0:
		if (!http_request_header(r->req, "sec-websocket-key", &origin) ||
		    !http_request_header(r->req, "upgrade", &origin) ||
		    strcasecmp(origin, "websocket") != 0) {
			vb_error(r, 426, "upgrade_required", "This endpoint speaks WebSocket only");
			return (VB_DONE);
		}
		plen = strlen(vb_public_url());
		if (!http_request_header(r->req, "origin", &origin) ||
		    strncmp(origin, vb_public_url(), plen) != 0 || origin[plen] != '\0') {
			vb_error(r, 403, "origin_not_allowed", "WebSockets are for this site's pages only");
			return (VB_DONE);
		}
		if (r->sess.valid) {
			if (!r->sess.mfa_ok || r->sess.must_change || !vb_has_perm(r, "console.agent")) {
				vb_error(r, 403, "forbidden", "You may not use the console");
				return (VB_DONE);
			}
			hub_upgrade(r, HUB_STAFF, r->sess.tenant_id, r->sess.user_id);
			return (VB_DONE);
		}
		if (route_query(r, "token", token, sizeof(token)) != 1 || !util_token_valid(token, 60)) {
			vb_error(r, 401, "unauthenticated", "A widget token or a staff session is required");
			return (VB_DONE);
		}
		util_sha256_hex(token, strlen(token), hash);
		j = vb_job(r);
		db_add(j, Q_WIDGET_SESSION_GET, 1, hash);
		return (vb_db_submit(r, j, 1));
	case 1:
		if (vb_db_error(r))
			return (VB_DONE);
		if (db_rows(r->job, 0) != 1) {
			vb_error(r, 401, "unauthenticated", "The widget token is unknown or expired");
			return (VB_DONE);
		}
		hub_upgrade(r, HUB_CUSTOMER, strtoll(db_value(r->job, 0, 0, 0), NULL, 10),
		    strtoll(db_value(r->job, 0, 0, 2), NULL, 10));
		return (VB_DONE);
	}
	fatal("hub_ws: step %d", r->step);
}

void
hub_init(void)
{
	char	rnd[24];

	util_random_token(rnd, 12);
	wsframe_seed(randombytes_random());
	(void)snprintf(hub_origin, sizeof(hub_origin), "%s:%d", rnd,
	    worker != NULL ? worker->id : 0);
	rds_listen(HUB_CHANNEL, hub_on_publish);
	(void)kore_timer_add(hub_tick, 1000, NULL, 0);
}
