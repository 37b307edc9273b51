/*
 * Asynchronous PostgreSQL driver for Kore workers, on libpq's pipeline mode.
 *
 * A job is a short list of statements sent in one pipeline and closed by one
 * Sync, so the server runs them in one implicit transaction: either all of
 * them commit or none does, in a single round trip. The first statement of a
 * tenant job sets vb.tenant_id / vb.user_id / vb.addr / vb.request_id with
 * set_config(..., true), so row-level security and the audit log see them for
 * exactly that transaction.
 *
 * Each worker keeps up to pool_max connections, connected on demand (a
 * blocking connect with connect_timeout; on loopback that is a few ms), each
 * switched to the role vb_app so that policies apply. Jobs wait in a bounded
 * queue when every connection is busy. A broken connection fails its job with
 * SQLSTATE 08006 and is dropped; the next job opens a fresh one.
 */

#include <stdarg.h>
#include <sys/epoll.h>

#include "vb.h"

#define DB_QUEUE_MAX	2048

#define JOB_NEW		0
#define JOB_QUEUED	1
#define JOB_RUNNING	2

struct db_conn {
	struct kore_event	evt;	/* first: the event loop dispatches on it */
	PGconn			*pg;
	struct db_job		*job;
	int			stmt;	/* statement whose results are being read */
	struct kore_timer	*flush_timer;
	TAILQ_ENTRY(db_conn)	list;
};

static TAILQ_HEAD(, db_conn)	db_idle = TAILQ_HEAD_INITIALIZER(db_idle);
static TAILQ_HEAD(, db_conn)	db_busy = TAILQ_HEAD_INITIALIZER(db_busy);
static TAILQ_HEAD(, db_job)	db_queue = TAILQ_HEAD_INITIALIZER(db_queue);
static char			*db_conninfo;
static int			 db_pool_max = 4;
static int			 db_nconn, db_nbusy, db_qlen;

static const char db_preamble[] =
    "SELECT set_config('vb.tenant_id', $1, true), set_config('vb.user_id', $2, true), "
    "set_config('vb.addr', $3, true), set_config('vb.request_id', $4, true)";

static void	db_conn_handle(void *, int);
static void	db_conn_close(struct db_conn *);
static void	db_start(struct db_conn *, struct db_job *);
static void	db_finish(struct db_conn *);
static void	db_flush(struct db_conn *);
static void	db_kick(void);

void
db_init(const char *conninfo, int pool_max)
{
	db_conninfo = kore_strdup(conninfo);
	if (pool_max > 0)
		db_pool_max = pool_max;
}

void
db_stats(int *total, int *busy, int *queued)
{
	*total = db_nconn;
	*busy = db_nbusy;
	*queued = db_qlen;
}

struct db_job *
db_job_new(void)
{
	struct db_job	*j;

	j = kore_calloc(1, sizeof(*j));
	sbuf_init(&j->arena);
	return (j);
}

void
db_job_free(struct db_job *j)
{
	int	i;

	if (j == NULL)
		return;
	for (i = 0; i < DB_STMT_MAX; i++)
		if (j->res[i] != NULL)
			PQclear(j->res[i]);
	sbuf_free(&j->arena);
	kore_free(j->errmsg);
	kore_free(j->errhint);
	kore_free(j->errfield);
	kore_free(j);
}

static int
db_arena_put(struct db_job *j, const char *s)
{
	int	off;

	if (s == NULL)
		return (-1);
	off = (int)j->arena.len;
	sbuf_add(&j->arena, s, strlen(s) + 1);
	return (off);
}

void
db_addv(struct db_job *j, const char *sql, int n, const char **params)
{
	struct db_stmt	*st;
	int		 i;

	if (j->nstmt >= DB_STMT_MAX || n > DB_PARAM_MAX)
		fatal("db_addv: job too large");
	st = &j->stmt[j->nstmt++];
	st->sql = sql;
	st->nparams = n;
	for (i = 0; i < n; i++)
		st->param_off[i] = db_arena_put(j, params[i]);
}

void
db_add(struct db_job *j, const char *sql, int n, ...)
{
	const char	*p[DB_PARAM_MAX];
	va_list		 ap;
	int		 i;

	if (n > DB_PARAM_MAX)
		fatal("db_add: too many parameters");
	va_start(ap, n);
	for (i = 0; i < n; i++)
		p[i] = va_arg(ap, const char *);
	va_end(ap);
	db_addv(j, sql, n, p);
}

void
db_job_tenant(struct db_job *j, int64_t tenant, int64_t user, const char *addr,
    const char *reqid)
{
	char	t[24], u[24];

	if (j->nstmt != 0)
		fatal("db_job_tenant: must come first");
	t[0] = u[0] = '\0';
	if (tenant > 0)
		(void)snprintf(t, sizeof(t), "%lld", (long long)tenant);
	if (user > 0)
		(void)snprintf(u, sizeof(u), "%lld", (long long)user);
	db_add(j, db_preamble, 4, t, u, addr, reqid);
	j->preamble = 1;
}

PGresult *
db_result(struct db_job *j, int i)
{
	i += j->preamble;
	if (i < 0 || i >= DB_STMT_MAX)
		return (NULL);
	return (j->res[i]);
}

int
db_rows(struct db_job *j, int i)
{
	PGresult	*r;

	if ((r = db_result(j, i)) == NULL)
		return (0);
	return (PQntuples(r));
}

const char *
db_value(struct db_job *j, int i, int row, int col)
{
	PGresult	*r;

	if ((r = db_result(j, i)) == NULL || row >= PQntuples(r) ||
	    col >= PQnfields(r) || PQgetisnull(r, row, col))
		return (NULL);
	return (PQgetvalue(r, row, col));
}

static void
db_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static struct db_conn *
db_connect(void)
{
	struct db_conn	*c;
	PGconn		*pg;
	PGresult	*res;

	pg = PQconnectdb(db_conninfo);
	if (PQstatus(pg) != CONNECTION_OK) {
		vb_log(LOG_ERR, "db: connect: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return (NULL);
	}
	res = PQexec(pg, "SET ROLE vb_app");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		vb_log(LOG_ERR, "db: set role: %s", PQerrorMessage(pg));
		PQclear(res);
		PQfinish(pg);
		return (NULL);
	}
	PQclear(res);
	PQsetNoticeProcessor(pg, db_notice, NULL);
	if (PQsetnonblocking(pg, 1) != 0 || PQenterPipelineMode(pg) != 1) {
		vb_log(LOG_ERR, "db: pipeline mode: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return (NULL);
	}
	c = kore_calloc(1, sizeof(*c));
	c->pg = pg;
	c->evt.type = KORE_TYPE_PGSQL_CONN;
	c->evt.handle = db_conn_handle;
	kore_platform_event_schedule(PQsocket(pg), EPOLLIN, 0, c);
	db_nconn++;
	return (c);
}

/*
 * Runs the job now, queues it, or refuses it (returns 0) when the database
 * cannot be reached or the queue is full; the caller answers 503 then.
 */
int
db_submit(struct db_job *j, db_cb cb, void *arg)
{
	struct db_conn	*c;

	j->cb = cb;
	j->arg = arg;
	if ((c = TAILQ_FIRST(&db_idle)) != NULL) {
		TAILQ_REMOVE(&db_idle, c, list);
	} else if (db_nconn < db_pool_max) {
		if ((c = db_connect()) == NULL)
			return (0);
	} else {
		if (db_qlen >= DB_QUEUE_MAX)
			return (0);
		TAILQ_INSERT_TAIL(&db_queue, j, list);
		j->state = JOB_QUEUED;
		db_qlen++;
		return (1);
	}
	db_start(c, j);
	return (1);
}

/* The request that owned a job went away: drop it if it has not started. */
void
db_orphan(struct db_job *j)
{
	if (j->state == JOB_QUEUED) {
		TAILQ_REMOVE(&db_queue, j, list);
		db_qlen--;
		db_job_free(j);
		return;
	}
	if (j->state == JOB_RUNNING) {
		j->arg = NULL;
		return;
	}
	db_job_free(j);
}

static void
db_start(struct db_conn *c, struct db_job *j)
{
	const char	*values[DB_PARAM_MAX];
	struct db_stmt	*st;
	int		 i, k;

	TAILQ_INSERT_TAIL(&db_busy, c, list);
	db_nbusy++;
	c->job = j;
	c->stmt = 0;
	j->state = JOB_RUNNING;
	for (i = 0; i < j->nstmt; i++) {
		st = &j->stmt[i];
		for (k = 0; k < st->nparams; k++)
			values[k] = st->param_off[k] < 0 ? NULL :
			    j->arena.data + st->param_off[k];
		if (!PQsendQueryParams(c->pg, st->sql, st->nparams, NULL,
		    values, NULL, NULL, 0))
			break;
	}
	if (i < j->nstmt || !PQpipelineSync(c->pg)) {
		vb_log(LOG_ERR, "db: send: %s", PQerrorMessage(c->pg));
		db_conn_close(c);
		return;
	}
	db_flush(c);
}

static void
db_flush_timer(void *arg, u_int64_t now)
{
	struct db_conn	*c = arg;

	(void)now;
	c->flush_timer = NULL;
	db_flush(c);
}

/* Large pipelines may not fit the socket buffer: retry shortly. */
static void
db_flush(struct db_conn *c)
{
	switch (PQflush(c->pg)) {
	case 0:
		return;
	case 1:
		if (c->flush_timer == NULL)
			c->flush_timer = kore_timer_add(db_flush_timer, 1, c,
			    KORE_TIMER_ONESHOT);
		return;
	default:
		vb_log(LOG_ERR, "db: flush: %s", PQerrorMessage(c->pg));
		db_conn_close(c);
	}
}

static void
db_job_error(struct db_job *j, const char *state, const char *msg,
    const char *hint)
{
	if (j->failed)
		return;
	j->failed = 1;
	kore_strlcpy(j->sqlstate, state ? state : "XX000", sizeof(j->sqlstate));
	j->errmsg = kore_strdup(msg ? msg : "database error");
	j->errhint = hint ? kore_strdup(hint) : NULL;
}

static void
db_read(struct db_conn *c)
{
	struct db_job	*j;
	PGresult	*res;

	while ((j = c->job) != NULL && !PQisBusy(c->pg)) {
		if ((res = PQgetResult(c->pg)) == NULL) {
			c->stmt++;
			continue;
		}
		switch (PQresultStatus(res)) {
		case PGRES_PIPELINE_SYNC:
			PQclear(res);
			db_finish(c);
			break;
		case PGRES_FATAL_ERROR:
			db_job_error(j, PQresultErrorField(res, PG_DIAG_SQLSTATE),
			    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY),
			    PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
			/* vb_fail_field names the form field in COLUMN. */
			if (j->errfield == NULL &&
			    PQresultErrorField(res, PG_DIAG_COLUMN_NAME) != NULL)
				j->errfield = kore_strdup(PQresultErrorField(res,
				    PG_DIAG_COLUMN_NAME));
			PQclear(res);
			break;
		case PGRES_TUPLES_OK:
		case PGRES_COMMAND_OK:
			if (c->stmt < DB_STMT_MAX && j->res[c->stmt] == NULL)
				j->res[c->stmt] = res;
			else
				PQclear(res);
			break;
		default:
			PQclear(res);
			break;
		}
	}
}

static void
db_conn_handle(void *arg, int error)
{
	struct db_conn	*c = arg;

	if (error || !PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK) {
		vb_log(LOG_NOTICE, "db: connection lost: %s", PQerrorMessage(c->pg));
		db_conn_close(c);
		return;
	}
	db_read(c);
}

static void
db_complete(struct db_job *j)
{
	j->state = JOB_NEW;
	if (j->arg == NULL) {
		db_job_free(j);
		return;
	}
	j->cb(j, j->arg);
}

static void
db_finish(struct db_conn *c)
{
	struct db_job	*j = c->job;
	struct db_job	*next;

	c->job = NULL;
	TAILQ_REMOVE(&db_busy, c, list);
	db_nbusy--;
	if ((next = TAILQ_FIRST(&db_queue)) != NULL) {
		TAILQ_REMOVE(&db_queue, next, list);
		db_qlen--;
		db_start(c, next);
	} else {
		TAILQ_INSERT_TAIL(&db_idle, c, list);
	}
	db_complete(j);
}

static void
db_conn_close(struct db_conn *c)
{
	struct db_job	*j;

	if (c->flush_timer != NULL)
		kore_timer_remove(c->flush_timer);
	if ((j = c->job) != NULL) {
		TAILQ_REMOVE(&db_busy, c, list);
		db_nbusy--;
	} else {
		TAILQ_REMOVE(&db_idle, c, list);
	}
	PQfinish(c->pg);
	db_nconn--;
	kore_free(c);
	if (j != NULL) {
		db_job_error(j, "08006", "database connection lost", NULL);
		db_complete(j);
	}
	db_kick();
}

/* Queued jobs must not wait for a connection that just died: open another. */
static void
db_kick(void)
{
	struct db_conn	*c;
	struct db_job	*j;

	if ((j = TAILQ_FIRST(&db_queue)) == NULL || db_nconn >= db_pool_max)
		return;
	if ((c = db_connect()) == NULL) {
		while ((j = TAILQ_FIRST(&db_queue)) != NULL) {
			TAILQ_REMOVE(&db_queue, j, list);
			db_qlen--;
			db_job_error(j, "08006", "database unavailable", NULL);
			db_complete(j);
		}
		return;
	}
	TAILQ_REMOVE(&db_queue, j, list);
	db_qlen--;
	db_start(c, j);
}

void
db_shutdown(void)
{
	struct db_conn	*c;

	while ((c = TAILQ_FIRST(&db_idle)) != NULL) {
		TAILQ_REMOVE(&db_idle, c, list);
		PQfinish(c->pg);
		kore_free(c);
	}
}
