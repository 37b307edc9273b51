/*
 * chatload: the chat load benchmark of Virtual Branch (make bench).
 *
 * One libwebsockets client context on one libev (epoll) loop, loopback only:
 *
 *  1. Agents: one socket per 63 followed conversations (the server allows 64
 *     subscriptions per connection and a staff socket already follows its own
 *     offer channel), signed in with a vb_session cookie; each subscribes to
 *     its conversations. Then N customers connect with their widget tokens
 *     and subscribe to their own conversation, at most CHAT_INFLIGHT at once.
 *     Reports how many are held open and the server's memory per session
 *     (VmRSS of the Kore workers before and after, divided by N).
 *  2. The customers whose conversation an agent follows send CHAT_RATE
 *     messages a second in total, round-robin, for CHAT_SECONDS. Each
 *     client_id carries its send time: an ack (stored in PostgreSQL) gives
 *     the send -> ack time, the agent's copy the send -> agent time.
 *
 * Inputs (environment): CHAT_URL (http://127.0.0.1:PORT), CHAT_ORIGIN,
 * CHAT_CUSTOMERS (file of "token conversation_id" lines), CHAT_AGENTS (file
 * of vb_session cookie values, one per agent), CHAT_N, CHAT_FOLLOWED,
 * CHAT_RATE, CHAT_SECONDS, CHAT_INFLIGHT, CHAT_CONNECT_TIMEOUT, CHAT_STALL,
 * CHAT_DRAIN, CHAT_SUBS_PER_SOCKET, CHAT_SERVER_PIDS ("pid pid": the Kore
 * workers).
 * Output: "name: value unit" lines on stdout; progress on stderr.
 */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <ev.h>
#include <libwebsockets.h>

#define TICK_US		5000
#define FRAME_MAX	65536
#define ERR_KINDS	16
#define REASON_KINDS	8
#define KEEPALIVE_US	(50 * 1000000LL)

enum { P_CUSTOMER = 1, P_AGENT };
enum { S_IDLE, S_CONNECTING, S_OPEN, S_READY, S_FAILED, S_CLOSED };
enum { PH_AGENTS, PH_CUSTOMERS, PH_SETTLE, PH_SEND, PH_DRAIN, PH_DONE };

struct out {
	struct out	*next;
	size_t		 len;
	unsigned char	 buf[];		/* LWS_PRE + payload */
};

struct peer {
	struct lws	*wsi;
	int		 kind;
	int		 idx;
	int		 state;
	char		*token;		/* customers */
	const char	*cookie;	/* agents */
	int64_t		 conv;		/* customers */
	int64_t		*convs;		/* agents */
	int		 nconvs, nsubs;
	int		 sender;
	unsigned	 msgseq;
	int64_t		 last_tx;
	struct out	*qhead, *qtail;
	char		*rx;
	size_t		 rxlen;
};

static struct {
	const char	*host, *origin;
	int		 port;
	int		 n, m, followed, rate, seconds, inflight_max;
	int		 connect_timeout, drain, stall, subs_per_socket;
	int		 server_pids[16], npids;
} cfg;

static struct lws_context	*ctx;
static struct ev_loop		*loop;
static lws_sorted_usec_list_t	 tick_sul;
static struct peer		*cust, *agents;
static int			 nagent_socks;
static int			 phase, finished;
static int64_t			 t_start, t_phase, t_send0, t_last_ack;
static int			 next_connect, inflight;
static int			 cust_ready, cust_failed, cust_dropped, agents_ready_subs, agent_socks_failed;
static int			 agent_subs_total, agent_subs_answered;
static int			*senders, nsenders, sender_cursor, keepalive_cursor;
static int64_t			 sent, acked, delivered, echoed, send_errors;
static int64_t			*lat_agent, *lat_ack;
static int64_t			 nlat_agent, nlat_ack, lat_cap;
static long			 rss_before, rss_after;
static int			 held_after_connect, last_done, stalled;
static int64_t			 t_progress;
static double			 connect_seconds;
static struct { char code[32]; int64_t n; } errs[ERR_KINDS];
static struct { char text[96]; int n; } reasons[REASON_KINDS];

static int64_t
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

static void
die(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fprintf(stderr, "chatload: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void *
xcalloc(size_t n, size_t sz)
{
	void	*p = calloc(n, sz);

	if (p == NULL)
		die("out of memory");
	return (p);
}

static int
env_int(const char *name, int def, int lo, int hi)
{
	const char	*v = getenv(name);
	char		*end;
	long		 n;

	if (v == NULL || *v == '\0')
		return (def);
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < lo || n > hi)
		die("%s must be an integer from %d to %d", name, lo, hi);
	return ((int)n);
}

static void
count_error(const char *code)
{
	int	i;

	for (i = 0; i < ERR_KINDS; i++) {
		if (errs[i].code[0] == '\0')
			snprintf(errs[i].code, sizeof(errs[i].code), "%s", code);
		if (strcmp(errs[i].code, code) == 0) {
			errs[i].n++;
			return;
		}
	}
}

static void
count_reason(const char *text)
{
	int	i;

	for (i = 0; i < REASON_KINDS; i++) {
		if (reasons[i].text[0] == '\0')
			snprintf(reasons[i].text, sizeof(reasons[i].text), "%s", text);
		if (strcmp(reasons[i].text, text) == 0) {
			reasons[i].n++;
			return;
		}
	}
}

/* The sum of VmRSS of the server's workers, in KiB. */
static long
server_rss(void)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kb, sum = 0;
	int	 i;

	for (i = 0; i < cfg.npids; i++) {
		snprintf(path, sizeof(path), "/proc/%d/status", cfg.server_pids[i]);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
				sum += kb;
		fclose(f);
	}
	return (sum);
}

/* JSON fields of the server's frames (its own and PostgreSQL's jsonb text). */
static const char *
json_field(const char *s, const char *key)
{
	char		 pat[40];
	const char	*p;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	if ((p = strstr(s, pat)) == NULL)
		return (NULL);
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p++ != ':')
		return (NULL);
	while (*p == ' ')
		p++;
	return (p);
}

static int
json_str(const char *s, const char *key, char *out, size_t outlen)
{
	const char	*p = json_field(s, key);
	size_t		 n = 0;

	if (p == NULL || *p++ != '"')
		return (0);
	while (*p != '\0' && *p != '"' && n + 1 < outlen)
		out[n++] = *p++;
	out[n] = '\0';
	return (*p == '"');
}

/* Queueing and writing ------------------------------------------------------ */

static void
enqueue(struct peer *p, const char *fmt, ...)
{
	struct out	*o;
	va_list		 ap;
	int		 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	o = xcalloc(1, sizeof(*o) + LWS_PRE + (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf((char *)o->buf + LWS_PRE, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->len = (size_t)n;
	if (p->qtail != NULL)
		p->qtail->next = o;
	else
		p->qhead = o;
	p->qtail = o;
	if (p->wsi != NULL)
		lws_callback_on_writable(p->wsi);
}

static void
queue_free(struct peer *p)
{
	struct out	*o;

	while ((o = p->qhead) != NULL) {
		p->qhead = o->next;
		free(o);
	}
	p->qtail = NULL;
}

/* Connecting ----------------------------------------------------------------- */

static void	customer_done(struct peer *, int);

static void
peer_connect(struct peer *p)
{
	struct lws_client_connect_info	 ci;
	char				 path[128], host[80];

	memset(&ci, 0, sizeof(ci));
	if (p->kind == P_CUSTOMER)
		snprintf(path, sizeof(path), "/ws?token=%s", p->token);
	else
		snprintf(path, sizeof(path), "/ws");
	snprintf(host, sizeof(host), "%s:%d", cfg.host, cfg.port);
	ci.context = ctx;
	ci.address = cfg.host;
	ci.port = cfg.port;
	ci.path = path;
	ci.host = host;
	ci.origin = cfg.origin;
	ci.ietf_version_or_minus_one = -1;
	ci.local_protocol_name = "vb";
	ci.opaque_user_data = p;
	ci.pwsi = &p->wsi;
	p->state = S_CONNECTING;
	if (lws_client_connect_via_info(&ci) == NULL) {
		p->wsi = NULL;
		if (p->state == S_CONNECTING) {	/* no error callback came */
			count_reason("lws_client_connect_via_info failed");
			if (p->kind == P_CUSTOMER)
				customer_done(p, 0);
			else
				agent_socks_failed++;
		}
		p->state = S_FAILED;
	}
}

static void
customer_done(struct peer *p, int ok)
{
	if (p->state == S_READY || p->state == S_FAILED || p->state == S_CLOSED)
		return;
	inflight--;
	if (ok) {
		p->state = S_READY;
		cust_ready++;
	} else {
		p->state = S_FAILED;
		cust_failed++;
	}
}

/* Frames from the server ------------------------------------------------------ */

static void
latency_sample(int64_t *arr, int64_t *n, const char *client_id, int64_t now)
{
	int64_t	sent_at;

	if (client_id[0] != 'b' || *n >= lat_cap)
		return;
	sent_at = strtoll(client_id + 1, NULL, 10);
	if (sent_at > 0 && now >= sent_at)
		arr[(*n)++] = now - sent_at;
}

static void
on_frame(struct peer *p, char *s)
{
	char	type[24], code[32], cid[72];
	int64_t	now = now_us();

	if (!json_str(s, "type", type, sizeof(type))) {
		count_error("unparsed_frame");
		return;
	}
	if (strcmp(type, "message") == 0) {
		if (!json_str(s, "client_id", cid, sizeof(cid)))
			return;
		if (p->kind == P_AGENT && phase >= PH_SEND) {	/* not replays */
			delivered++;
			latency_sample(lat_agent, &nlat_agent, cid, now);
		} else if (p->kind == P_CUSTOMER) {
			echoed++;
		}
	} else if (strcmp(type, "ack") == 0) {
		acked++;
		t_last_ack = now;
		if (json_str(s, "client_id", cid, sizeof(cid)))
			latency_sample(lat_ack, &nlat_ack, cid, now);
	} else if (strcmp(type, "subscribed") == 0) {
		if (p->kind == P_CUSTOMER) {
			customer_done(p, 1);
		} else {
			p->nsubs++;
			agents_ready_subs++;
			agent_subs_answered++;
		}
	} else if (strcmp(type, "error") == 0) {
		if (!json_str(s, "code", code, sizeof(code)))
			snprintf(code, sizeof(code), "?");
		count_error(code);
		if (p->kind == P_CUSTOMER && json_str(s, "client_id", cid, sizeof(cid)))
			send_errors++;			/* an answer to a send */
		if (p->kind == P_CUSTOMER && p->state == S_OPEN)
			customer_done(p, 0);
		if (p->kind == P_AGENT && p->nsubs < p->nconvs) {
			p->nsubs++;			/* a subscribe refused */
			agent_subs_answered++;
		}
	}
	/* hello and pong need nothing */
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct peer	*p = lws_get_opaque_user_data(wsi);
	unsigned char	**hp, *end;
	struct out	*o;
	int		 i;

	(void)user;
	if (p == NULL)
		return (lws_callback_http_dummy(wsi, reason, user, in, len));

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (p->kind == P_AGENT) {
			char	cookie[256];

			hp = (unsigned char **)in;
			end = *hp + len;
			snprintf(cookie, sizeof(cookie), "vb_session=%s", p->cookie);
			if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cookie:",
			    (const unsigned char *)cookie, (int)strlen(cookie), hp, end))
				return (-1);
		}
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		p->state = S_OPEN;
		p->last_tx = now_us();
		if (p->kind == P_CUSTOMER) {
			enqueue(p, "{\"type\":\"subscribe\",\"conversation_id\":%" PRId64
			    ",\"after_seq\":0}", p->conv);
		} else {
			for (i = 0; i < p->nconvs; i++)
				enqueue(p, "{\"type\":\"subscribe\",\"conversation_id\":%"
				    PRId64 ",\"after_seq\":0}", p->convs[i]);
		}
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (p->rxlen + len >= FRAME_MAX) {
			count_error("frame_too_big");
			p->rxlen = 0;
			break;
		}
		if (p->rx == NULL)
			p->rx = xcalloc(1, FRAME_MAX);
		memcpy(p->rx + p->rxlen, in, len);
		p->rxlen += len;
		if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
			p->rx[p->rxlen] = '\0';
			on_frame(p, p->rx);
			p->rxlen = 0;
			if (p->kind == P_CUSTOMER) {	/* 15,000 of them: keep them small */
				free(p->rx);
				p->rx = NULL;
			}
		}
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if ((o = p->qhead) == NULL)
			break;
		if (lws_write(wsi, o->buf + LWS_PRE, o->len, LWS_WRITE_TEXT) < (int)o->len)
			return (-1);
		p->qhead = o->next;
		if (p->qhead == NULL)
			p->qtail = NULL;
		free(o);
		p->last_tx = now_us();
		if (p->qhead != NULL)
			lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		count_reason(in != NULL ? (const char *)in : "connection error");
		p->wsi = NULL;
		queue_free(p);
		if (p->kind == P_CUSTOMER)
			customer_done(p, 0);
		else
			agent_socks_failed++;
		p->state = S_FAILED;
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		p->wsi = NULL;
		queue_free(p);
		if (finished)
			break;
		if (p->kind == P_CUSTOMER) {
			if (p->state == S_READY)
				cust_dropped++;
			else
				customer_done(p, 0);
		} else {
			agent_socks_failed++;
		}
		if (p->state != S_FAILED)
			count_reason(p->state == S_READY ? "closed after subscribe" :
			    "closed before subscribe");
		p->state = S_CLOSED;
		break;
	default:
		break;
	}
	return (0);
}

static const struct lws_protocols protocols[] = {
	{ "vb", callback, 0, 4096, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* The driver ------------------------------------------------------------------ */

static void
set_phase(int ph)
{
	phase = ph;
	t_phase = now_us();
}

static void
send_one(struct peer *p, int64_t now)
{
	enqueue(p, "{\"type\":\"send\",\"conversation_id\":%" PRId64 ",\"client_id\":\"b%"
	    PRId64 "-%d-%u\",\"text\":\"Hello, this is customer %d asking about my card "
	    "(message %u)\"}", p->conv, now, p->idx, p->msgseq, p->idx, p->msgseq);
	p->msgseq++;
	sent++;
}

static void
keepalive(int64_t now)
{
	int	i;

	/* Kore closes a WebSocket silent for websocket_timeout (120 s). */
	for (i = 0; i < 200 && cfg.n > 0; i++) {
		struct peer *p = &cust[keepalive_cursor++ % cfg.n];

		if (p->state == S_READY && p->wsi != NULL && now - p->last_tx > KEEPALIVE_US) {
			p->last_tx = now;
			enqueue(p, "{\"type\":\"ping\"}");
		}
	}
	for (i = 0; i < nagent_socks; i++) {
		if (agents[i].state == S_OPEN && agents[i].wsi != NULL &&
		    now - agents[i].last_tx > KEEPALIVE_US) {
			agents[i].last_tx = now;
			enqueue(&agents[i], "{\"type\":\"ping\"}");
		}
	}
}

static void
progress(int64_t now)
{
	static int64_t	last;

	if (now - last < 2000000)
		return;
	last = now;
	fprintf(stderr, "chatload: t=%.0fs phase=%d customers ready=%d failed=%d inflight=%d "
	    "agent_subs=%d/%d sent=%" PRId64 " acked=%" PRId64 " delivered=%" PRId64 "\n",
	    (double)(now - t_start) / 1e6, phase, cust_ready, cust_failed, inflight,
	    agents_ready_subs, agent_subs_total, sent, acked, delivered);
}

static void
tick(lws_sorted_usec_list_t *sul)
{
	int64_t	now = now_us(), due;
	int	i;

	(void)sul;
	progress(now);
	keepalive(now);
	switch (phase) {
	case PH_AGENTS:
		if (agent_subs_answered >= agent_subs_total ||
		    agent_socks_failed == nagent_socks || now - t_phase > 30000000) {
			rss_before = server_rss();
			set_phase(PH_CUSTOMERS);
			t_progress = now;
		}
		break;
	case PH_CUSTOMERS:
		while (inflight < cfg.inflight_max && next_connect < cfg.n) {
			inflight++;
			peer_connect(&cust[next_connect++]);
		}
		if (cust_ready + cust_failed != last_done) {
			last_done = cust_ready + cust_failed;
			t_progress = now;
		}
		if (now - t_progress > (int64_t)cfg.stall * 1000000 && !stalled) {
			stalled = 1;
			fprintf(stderr, "chatload: no customer connected or failed for %d s "
			    "(%d in flight): the server stopped accepting?\n", cfg.stall, inflight);
		}
		if (cust_ready + cust_failed >= cfg.n || stalled ||
		    now - t_phase > (int64_t)cfg.connect_timeout * 1000000) {
			connect_seconds = (double)(now - t_phase) / 1e6;
			set_phase(PH_SETTLE);
		}
		break;
	case PH_SETTLE:
		if (now - t_phase < 2000000)
			break;
		rss_after = server_rss();
		held_after_connect = 0;
		nsenders = 0;
		for (i = 0; i < cfg.n; i++) {
			if (cust[i].state != S_READY || cust[i].wsi == NULL)
				continue;
			held_after_connect++;
			if (cust[i].sender)
				senders[nsenders++] = i;
		}
		fprintf(stderr, "chatload: %d customers held, %d senders, server RSS %ld -> %ld KiB\n",
		    held_after_connect, nsenders, rss_before, rss_after);
		set_phase(PH_SEND);
		t_send0 = now;
		break;
	case PH_SEND:
		if (nsenders == 0 || cfg.rate == 0) {
			set_phase(PH_DRAIN);
			break;
		}
		due = (int64_t)((double)cfg.rate * (double)(now - t_send0) / 1e6);
		if (due > (int64_t)cfg.rate * cfg.seconds)
			due = (int64_t)cfg.rate * cfg.seconds;
		while (sent < due) {
			struct peer *p = &cust[senders[sender_cursor++ % nsenders]];

			if (p->wsi != NULL && p->state == S_READY)
				send_one(p, now);
			else
				sent++, send_errors++, count_error("sender_gone");
		}
		if (now - t_send0 >= (int64_t)cfg.seconds * 1000000)
			set_phase(PH_DRAIN);
		break;
	case PH_DRAIN:
		if ((acked + send_errors >= sent && delivered >= acked) ||
		    now - t_phase > (int64_t)cfg.drain * 1000000)
			set_phase(PH_DONE);
		break;
	}
	if (phase == PH_DONE) {
		finished = 1;
		return;
	}
	lws_sul_schedule(ctx, 0, &tick_sul, tick, TICK_US);
}

/* Setup and report ------------------------------------------------------------ */

static void
read_customers(const char *file)
{
	FILE	*f;
	char	 line[256], tok[128];
	long long conv;
	int	 n = 0;

	if ((f = fopen(file, "r")) == NULL)
		die("%s: %s", file, strerror(errno));
	cust = xcalloc((size_t)cfg.n, sizeof(*cust));
	while (n < cfg.n && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%127s %lld", tok, &conv) != 2 || strlen(tok) > 60)
			continue;
		cust[n].kind = P_CUSTOMER;
		cust[n].idx = n;
		cust[n].token = strdup(tok);
		cust[n].conv = conv;
		n++;
	}
	fclose(f);
	if (n < cfg.n) {
		fprintf(stderr, "chatload: only %d customers in %s\n", n, file);
		cfg.n = n;
	}
}

static void
read_agents(const char *file)
{
	FILE	*f;
	char	 line[256], *cookies[256];
	int	 a, i, j, k, s, per;

	cfg.m = 0;
	if (file != NULL && (f = fopen(file, "r")) != NULL) {
		while (cfg.m < 256 && fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\r\n \t")] = '\0';
			if (line[0] != '\0')
				cookies[cfg.m++] = strdup(line);
		}
		fclose(f);
	}
	if (cfg.m == 0)
		cfg.followed = 0;
	if (cfg.followed > cfg.n)
		cfg.followed = cfg.n;
	/* Agent a follows customers a, a + m, a + 2m ... below "followed". */
	agents = xcalloc((size_t)cfg.followed / cfg.subs_per_socket + (size_t)cfg.m + 1,
	    sizeof(*agents));
	nagent_socks = 0;
	for (a = 0; a < cfg.m; a++) {
		per = 0;
		for (i = a; i < cfg.followed; i += cfg.m)
			per++;
		for (s = 0, i = a; s * cfg.subs_per_socket < per; s++) {
			struct peer *p = &agents[nagent_socks++];

			p->kind = P_AGENT;
			p->idx = a;
			p->cookie = cookies[a];
			k = per - s * cfg.subs_per_socket;
			if (k > cfg.subs_per_socket)
				k = cfg.subs_per_socket;
			p->convs = xcalloc((size_t)k, sizeof(int64_t));
			for (j = 0; j < k; j++, i += cfg.m) {
				p->convs[j] = cust[i].conv;
				cust[i].sender = 1;
			}
			p->nconvs = k;
			agent_subs_total += k;
		}
	}
}

static int
cmp64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return ((x > y) - (x < y));
}

static double
pct_ms(int64_t *arr, int64_t n, double q)
{
	int64_t	i;

	if (n == 0)
		return (0);
	i = (int64_t)(q * (double)(n - 1) + 0.5);
	return ((double)arr[i] / 1000.0);
}

static void
report(void)
{
	double	window;
	int	i, held_end = 0;

	for (i = 0; i < cfg.n; i++)
		if (cust[i].state == S_READY && cust[i].wsi != NULL)
			held_end++;
	qsort(lat_agent, (size_t)nlat_agent, sizeof(int64_t), cmp64);
	qsort(lat_ack, (size_t)nlat_ack, sizeof(int64_t), cmp64);
	/* Throughput: acknowledged (stored) messages over the send window, or
	 * over the time to the last ack if the server fell behind. */
	window = (double)cfg.seconds;
	if (t_last_ack > t_send0 && (double)(t_last_ack - t_send0) / 1e6 > window)
		window = (double)(t_last_ack - t_send0) / 1e6;

	printf("chat_sessions_target: %d sessions\n", cfg.n);
	printf("chat_sessions_held: %d sessions\n", held_after_connect);
	printf("chat_sessions_held_at_end: %d sessions\n", held_end);
	printf("chat_connect_seconds: %.1f s%s\n", connect_seconds,
	    stalled ? " (stalled: no progress for CHAT_STALL seconds)" : "");
	if (stalled)
		printf("chat_sessions_pending_at_stall: %d sessions\n", inflight);
	printf("chat_connect_rate: %.0f sessions/s\n",
	    connect_seconds > 0 ? cust_ready / connect_seconds : 0);
	if (cfg.npids > 0 && held_after_connect > 0)
		printf("chat_server_memory_per_session: %.1f KiB\n",
		    (double)(rss_after - rss_before) / held_after_connect);
	printf("chat_agents: %d agents on %d sockets following %d conversations\n",
	    cfg.m, nagent_socks, agents_ready_subs);
	printf("chat_senders: %d customers at %.2f msg/s each\n", nsenders,
	    nsenders ? (double)cfg.rate / nsenders : 0);
	printf("chat_messages_sent: %" PRId64 " messages\n", sent);
	printf("chat_messages_acked: %" PRId64 " messages\n", acked);
	printf("chat_messages_refused: %" PRId64 " messages\n", send_errors);
	printf("chat_messages_delivered_to_agents: %" PRId64 " messages\n", delivered);
	printf("chat_messages_per_second: %.1f msg/s\n", window > 0 ? (double)acked / window : 0);
	printf("chat_latency_p50: %.2f ms\n", pct_ms(lat_agent, nlat_agent, 0.50));
	printf("chat_latency_p99: %.2f ms\n", pct_ms(lat_agent, nlat_agent, 0.99));
	printf("chat_latency_max: %.2f ms\n", pct_ms(lat_agent, nlat_agent, 1.0));
	printf("chat_ack_latency_p50: %.2f ms\n", pct_ms(lat_ack, nlat_ack, 0.50));
	printf("chat_ack_latency_p99: %.2f ms\n", pct_ms(lat_ack, nlat_ack, 0.99));
	for (i = 0; i < ERR_KINDS && errs[i].code[0] != '\0'; i++)
		printf("chat_errors_%s: %" PRId64 " frames\n", errs[i].code, errs[i].n);
	if (cust_failed > 0 || cust_dropped > 0 || agent_socks_failed > 0)
		printf("chat_sessions_failed: %d sessions (dropped after subscribe: %d, agent sockets lost: %d)\n",
		    cust_failed, cust_dropped, agent_socks_failed);
	for (i = 0; i < REASON_KINDS && reasons[i].text[0] != '\0'; i++)
		fprintf(stderr, "chatload: %d x %s\n", reasons[i].n, reasons[i].text);
	fflush(stdout);
}

static void
raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit: %s", strerror(errno));
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("setrlimit: %s", strerror(errno));
	if (rl.rlim_cur < (rlim_t)cfg.n + (rlim_t)nagent_socks + 64) {
		fprintf(stderr, "chatload: open-file limit %lu: only %lu customers\n",
		    (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_cur - nagent_socks - 64);
		cfg.n = (int)rl.rlim_cur - nagent_socks - 64;
	}
}

int
main(void)
{
	struct lws_context_creation_info	 info;
	static char				 host[128];
	const char				*url, *pids, *cf;
	void					*loops[1];
	char					*end;
	long					 pid;

	url = getenv("CHAT_URL") ? getenv("CHAT_URL") : getenv("VB_PUBLIC_URL");
	if (url == NULL || sscanf(url, "http://%127[^:/]:%d", host, &cfg.port) != 2)
		die("CHAT_URL must look like http://127.0.0.1:PORT");
	if (strncmp(host, "127.", 4) != 0 && strcmp(host, "localhost") != 0)
		die("loopback only: %s", host);
	cfg.host = host;
	cfg.origin = getenv("CHAT_ORIGIN") ? getenv("CHAT_ORIGIN") : url;
	cfg.n = env_int("CHAT_N", 15000, 0, 1000000);
	cfg.followed = env_int("CHAT_FOLLOWED", 512, 0, 1000000);
	cfg.rate = env_int("CHAT_RATE", 2000, 0, 1000000);
	cfg.seconds = env_int("CHAT_SECONDS", 10, 1, 3600);
	cfg.inflight_max = env_int("CHAT_INFLIGHT", 256, 1, 100000);
	cfg.connect_timeout = env_int("CHAT_CONNECT_TIMEOUT", 180, 1, 3600);
	cfg.drain = env_int("CHAT_DRAIN", 10, 1, 600);
	cfg.stall = env_int("CHAT_STALL", 15, 1, 3600);
	cfg.subs_per_socket = env_int("CHAT_SUBS_PER_SOCKET", 63, 1, 64);
	for (pids = getenv("CHAT_SERVER_PIDS"); pids != NULL && *pids != '\0' && cfg.npids < 16; pids = end) {
		pid = strtol(pids, &end, 10);
		if (end == pids)
			break;
		if (pid > 0)
			cfg.server_pids[cfg.npids++] = (int)pid;
	}
	if ((cf = getenv("CHAT_CUSTOMERS")) == NULL)
		die("CHAT_CUSTOMERS (file of \"token conversation_id\" lines) is required");
	read_customers(cf);
	read_agents(getenv("CHAT_AGENTS"));
	raise_nofile();
	lat_cap = (int64_t)cfg.rate * cfg.seconds + 1024;
	lat_agent = xcalloc((size_t)lat_cap, sizeof(int64_t));
	lat_ack = xcalloc((size_t)lat_cap, sizeof(int64_t));
	senders = xcalloc((size_t)cfg.n + 1, sizeof(int));
	if (cfg.rate > 0 && cfg.followed > 0 && (double)cfg.rate / cfg.followed > 5.0)
		fprintf(stderr, "chatload: warning: %.1f msg/s per sender is above the server's "
		    "5/s limit per connection\n", (double)cfg.rate / cfg.followed);

	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;
	info.timeout_secs = 30;
	info.max_http_header_pool = (unsigned short)(cfg.inflight_max + 16);
	info.options = LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN | LWS_SERVER_OPTION_LIBEV;
	loop = ev_loop_new(EVBACKEND_EPOLL);
	loops[0] = loop;
	info.foreign_loops = loops;
	if (loop == NULL || (ctx = lws_create_context(&info)) == NULL) {
		fprintf(stderr, "chatload: no libev event loop, falling back to poll()\n");
		info.options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
		info.foreign_loops = NULL;
		loop = NULL;
		if ((ctx = lws_create_context(&info)) == NULL)
			die("lws_create_context failed");
	}

	t_start = now_us();
	set_phase(PH_AGENTS);
	for (int i = 0; i < nagent_socks; i++)
		peer_connect(&agents[i]);
	lws_sul_schedule(ctx, 0, &tick_sul, tick, TICK_US);
	while (!finished && now_us() - t_start < (int64_t)(cfg.connect_timeout + 60 +
	    cfg.seconds + cfg.drain) * 1000000) {
		if (loop != NULL)
			ev_run(loop, EVRUN_ONCE);
		else if (lws_service(ctx, 0) < 0)
			break;
	}
	finished = 1;
	report();
	lws_context_destroy(ctx);
	return (0);
}
