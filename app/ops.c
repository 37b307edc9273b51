/*
 * Operations: /healthz, /metrics and the JSON-lines request log.
 *
 * Metrics live in an anonymous shared mapping made by the parent before it
 * forks the workers, so any worker can answer /metrics for all of them.
 * Counters are updated with atomic adds; no locks.
 */

#include <sys/mman.h>
#include <time.h>

#include "vb.h"
#include "queries.h"

#define OPS_ROUTES	128
#define OPS_WORKERS	64
#define OPS_BUCKETS	12

static const int ops_statuses[] = {
	101, 200, 201, 204, 303, 400, 401, 403, 404, 405, 409, 413, 415, 422, 426, 429, 500,
	503, 0
};
#define OPS_NSTATUS	(sizeof(ops_statuses) / sizeof(ops_statuses[0]))

/* Upper bounds of the latency histogram, in microseconds. */
static const u_int64_t ops_bounds[OPS_BUCKETS] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000
};

struct ops_shm {
	u_int64_t	count[OPS_ROUTES + 1][OPS_NSTATUS];
	u_int64_t	hist[OPS_ROUTES + 1][OPS_BUCKETS + 1];
	u_int64_t	sum_us[OPS_ROUTES + 1];
	int64_t		websockets;
	int		db_total[OPS_WORKERS];
	int		db_busy[OPS_WORKERS];
	int		db_queue[OPS_WORKERS];
};

static struct ops_shm	*ops;

void
ops_init(void)
{
	ops = mmap(NULL, sizeof(*ops), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ops == MAP_FAILED)
		fatal("ops_init: mmap: %s", errno_s);
}

void
ops_observe(int route, int status, u_int64_t us)
{
	size_t	s, b;
	int	w;

	if (ops == NULL)
		return;
	if (route < 0 || route >= OPS_ROUTES)
		route = OPS_ROUTES;
	for (s = 0; s < OPS_NSTATUS - 1 && ops_statuses[s] != status; s++)
		;
	for (b = 0; b < OPS_BUCKETS && us > ops_bounds[b]; b++)
		;
	__atomic_fetch_add(&ops->count[route][s], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&ops->hist[route][b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&ops->sum_us[route], us, __ATOMIC_RELAXED);
	if (worker != NULL && (w = worker->id) < OPS_WORKERS)
		db_stats(&ops->db_total[w], &ops->db_busy[w], &ops->db_queue[w]);
}

void
ops_websockets(int delta)
{
	if (ops != NULL)
		__atomic_fetch_add(&ops->websockets, delta, __ATOMIC_RELAXED);
}

static const char *
ops_route_name(int i)
{
	const struct vb_route	*rt;

	if ((rt = route_at(i)) == NULL)
		return ("unmatched");
	return (rt->path);
}

static void
ops_route_metrics(struct sbuf *b, int i)
{
	const struct vb_route	*rt = route_at(i);
	const char		*name = ops_route_name(i);
	const char		*method = rt ? rt->method : "";
	u_int64_t		 n, cum = 0;
	size_t			 s;

	for (s = 0; s < OPS_NSTATUS; s++) {
		if ((n = __atomic_load_n(&ops->count[i][s], __ATOMIC_RELAXED)) == 0)
			continue;
		sbuf_addf(b, "vb_http_requests_total{method=\"%s\",route=\"%s\",status=\"%s%d\"} %llu\n",
		    method, name, ops_statuses[s] ? "" : "other", ops_statuses[s] ? ops_statuses[s] : 0,
		    (unsigned long long)n);
	}
	for (s = 0; s <= OPS_BUCKETS; s++)
		cum += __atomic_load_n(&ops->hist[i][s], __ATOMIC_RELAXED);
	if (cum == 0)
		return;
	cum = 0;
	for (s = 0; s < OPS_BUCKETS; s++) {
		cum += __atomic_load_n(&ops->hist[i][s], __ATOMIC_RELAXED);
		sbuf_addf(b, "vb_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
		    method, name, (double)ops_bounds[s] / 1e6, (unsigned long long)cum);
	}
	cum += __atomic_load_n(&ops->hist[i][OPS_BUCKETS], __ATOMIC_RELAXED);
	sbuf_addf(b, "vb_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n",
	    method, name, (unsigned long long)cum);
	sbuf_addf(b, "vb_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n",
	    method, name, (double)__atomic_load_n(&ops->sum_us[i], __ATOMIC_RELAXED) / 1e6);
	sbuf_addf(b, "vb_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n",
	    method, name, (unsigned long long)cum);
}

int
ops_metrics(struct vbreq *r)
{
	struct sbuf	b;
	int		i, total = 0, busy = 0, queued = 0;

	sbuf_init(&b);
	sbuf_adds(&b, "# HELP vb_http_requests_total HTTP requests by route and status.\n"
	    "# TYPE vb_http_requests_total counter\n"
	    "# HELP vb_http_request_duration_seconds HTTP request latency by route.\n"
	    "# TYPE vb_http_request_duration_seconds histogram\n");
	for (i = 0; i <= OPS_ROUTES; i++)
		ops_route_metrics(&b, i);
	for (i = 0; i < OPS_WORKERS; i++) {
		total += ops->db_total[i];
		busy += ops->db_busy[i];
		queued += ops->db_queue[i];
	}
	sbuf_addf(&b, "# HELP vb_websockets_open Open WebSocket connections.\n"
	    "# TYPE vb_websockets_open gauge\nvb_websockets_open %lld\n",
	    (long long)__atomic_load_n(&ops->websockets, __ATOMIC_RELAXED));
	sbuf_addf(&b, "# HELP vb_db_connections Database pool connections by state.\n"
	    "# TYPE vb_db_connections gauge\nvb_db_connections{state=\"busy\"} %d\n"
	    "vb_db_connections{state=\"idle\"} %d\n", busy, total - busy);
	sbuf_addf(&b, "# HELP vb_db_queue_depth Jobs waiting for a database connection.\n"
	    "# TYPE vb_db_queue_depth gauge\nvb_db_queue_depth %d\n", queued);
	r->status = 200;
	http_response_header(r->req, "content-type", "text/plain; version=0.0.4");
	http_response_header(r->req, "cache-control", "no-store");
	http_response(r->req, 200, b.data, b.len);
	sbuf_free(&b);
	return (VB_DONE);
}

static void
ops_health_db(struct db_job *j, void *arg)
{
	struct vbreq	*r = arg;

	(void)j;
	http_request_wakeup(r->req);
}

static int
ops_health_answer(struct vbreq *r, int pg_ok, int redis_ok)
{
	char	body[128];

	(void)snprintf(body, sizeof(body), "{\"status\":\"%s\",\"postgres\":\"%s\",\"redis\":\"%s\"}",
	    pg_ok && redis_ok ? "ok" : "degraded", pg_ok ? "ok" : "down",
	    redis_ok ? "ok" : "down");
	vb_json(r, pg_ok && redis_ok ? 200 : 503, body, strlen(body));
	return (VB_DONE);
}

int
ops_healthz(struct vbreq *r)
{
	struct db_job	*j;

	switch (r->step) {
	case 0:
		j = db_job_new();
		db_add(j, Q_HEALTH, 0);
		if (!db_submit(j, ops_health_db, r)) {
			db_job_free(j);
			return (ops_health_answer(r, 0, rds_up()));
		}
		r->job = j;
		r->step = 1;
		http_request_sleep(r->req);
		return (VB_WAIT);
	case 1:
		r->scratch_id = !r->job->failed && db_rows(r->job, 0) == 1;
		if (!rds_up())
			return (ops_health_answer(r, (int)r->scratch_id, 0));
		return (vb_rds(r, 2, "PING"));
	case 2:
		return (ops_health_answer(r, (int)r->scratch_id, r->rres.ok));
	}
	fatal("ops_healthz: step %d", r->step);
}

/* Starts a JSON log line: {"ts":"…Z","level":"…" */
static void
ops_line(struct sbuf *b, const char *level)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 when[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	sbuf_addf(b, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\"", when, ts.tv_nsec / 1000000,
	    level);
}

void
ops_log(struct vbreq *r, int ms)
{
	struct sbuf	 b;

	sbuf_init(&b);
	ops_line(&b, r->status >= 500 ? "error" : "info");
	sbuf_adds(&b, ",\"msg\":\"request\",\"request_id\":");
	sbuf_json_str(&b, r->reqid);
	sbuf_addf(&b, ",\"method\":\"%s\",\"path\":", http_method_text(r->req->method));
	sbuf_json_str(&b, r->req->path);
	sbuf_addf(&b, ",\"route\":");
	sbuf_json_str(&b, r->route ? r->route->path : "");
	sbuf_addf(&b, ",\"status\":%d,\"ms\":%d,\"addr\":", r->status, ms);
	sbuf_json_str(&b, r->addr);
	if (r->sess.valid)
		sbuf_addf(&b, ",\"user_id\":%lld,\"tenant_id\":%lld",
		    (long long)r->sess.user_id, (long long)r->sess.tenant_id);
	sbuf_addf(&b, ",\"worker\":%d}\n", worker ? worker->id : 0);
	(void)write(STDOUT_FILENO, b.data, b.len);
	sbuf_free(&b);
}

/*
 * Application log line: JSON with a level, the worker and a message. Kore's
 * own start-up lines stay in its plain format.
 */
void
vb_log(int prio, const char *fmt, ...)
{
	struct sbuf	 b;
	va_list		 ap;
	char		 msg[512];
	const char	*level;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	msg[strcspn(msg, "\n")] = '\0';
	level = prio <= LOG_ERR ? "error" : prio == LOG_WARNING || prio == LOG_NOTICE ?
	    "warning" : "info";
	sbuf_init(&b);
	ops_line(&b, level);
	sbuf_adds(&b, ",\"msg\":");
	sbuf_json_str(&b, msg);
	sbuf_addf(&b, ",\"worker\":%d}\n", worker ? worker->id : 0);
	(void)write(STDOUT_FILENO, b.data, b.len);
	sbuf_free(&b);
}
