/*
 * Routing decisions per second (make bench): R routers, each on its own
 * PostgreSQL session, do what the hub does (app/hub.c): a routing pass
 * (vb_acd_route() in a transaction under the tenant), then the positions
 * (vb_acd_positions() in a transaction of its own, as the hub does since
 * 0029). Every offer it made is accepted by the offered agent
 * (vb_acd_accept_msg() under that agent) on one of A accepting sessions, as
 * the agents' consoles do in parallel through the server's database pools;
 * an accept is a routing event, so a router passes again as soon as one has
 * happened since its last pass. It runs until all N waiting contacts are
 * assigned and prints, on stdout:
 *
 *   routing_decisions_per_second: <n> /s
 *   routing_passes: <n>
 *   routing_offers_per_second_in_passes: offers / time spent in passes
 *     (what the routing function alone sustains; accepts excluded)
 *   routing_pass_ms_mean, routing_accept_ms_mean: time per pass, per accept
 *   routing_errors: <n>                (statements that failed, retried)
 *   routing_refused_accepts: <n>       (offers that were not the agent's)
 *   routing_double_assignments: <n>    (a contact accepted twice)
 *
 * Usage: routeload CONNINFO TENANT CONTACTS FIRST_CONV ROUTERS [ACCEPTERS]
 * (the contacts are the conversations FIRST_CONV .. FIRST_CONV+CONTACTS-1).
 */
#include <sys/resource.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define DEADLINE_S	120

static const char	*conninfo;
static long long	 tenant, first_conv;
static long		 contacts;
static atomic_long	 accepted, refused, doubles, passes, errors;
static atomic_long	 pass_us, accept_us;	/* time spent in each, all routers */
static atomic_uchar	*taken;
static pthread_barrier_t start;

/* Offers made, waiting for their agent's accept: a ring under one lock. */
static pthread_mutex_t	 lk = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 offered = PTHREAD_COND_INITIALIZER;
static pthread_cond_t	 answered = PTHREAD_COND_INITIALIZER;
static long long	*ring_conv, *ring_user;
static long		 ring_head, ring_tail, ring_size, events;

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* Runs a multi-statement string; returns 0 on any error (and rolls back). */
static int
run(PGconn *pg, const char *q, int want, PGresult **out)
{
	PGresult	*res;
	int		 i = 0, ok = 1;

	if (out != NULL)
		*out = NULL;
	if (!PQsendQuery(pg, q)) {
		fprintf(stderr, "routeload: %s", PQerrorMessage(pg));
		exit(1);
	}
	while ((res = PQgetResult(pg)) != NULL) {
		if (PQresultStatus(res) == PGRES_FATAL_ERROR) {
			if (ok && atomic_fetch_add(&errors, 1) < 5)
				fprintf(stderr, "routeload: %s", PQresultErrorMessage(res));
			ok = 0;
		}
		if (ok && i == want && out != NULL)
			*out = res;
		else
			PQclear(res);
		i++;
	}
	if (!ok) {
		if (out != NULL && *out != NULL) {
			PQclear(*out);
			*out = NULL;
		}
		PQclear(PQexec(pg, "ROLLBACK"));
	}
	return (ok);
}

static PGconn *
session(void)
{
	PGconn	*pg;

	pg = PQconnectdb(conninfo);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "routeload: %s", PQerrorMessage(pg));
		exit(1);
	}
	PQclear(PQexec(pg, "SET ROLE vb_app"));
	return (pg);
}

static int
done(void)
{
	return (atomic_load(&accepted) >= contacts);
}

static void *
router(void *arg)
{
	PGconn		*pg;
	PGresult	*res;
	char		 q[512];
	long		 seen = -1;
	double		 t;
	int		 i, n, ok;
	struct timespec	 ts;

	(void)arg;
	pg = session();
	pthread_barrier_wait(&start);
	while (!done()) {
		/* Pass only after a routing event (an accept) since the last. */
		pthread_mutex_lock(&lk);
		while (events == seen && !done()) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 20 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&answered, &lk, &ts);
		}
		seen = events;
		pthread_mutex_unlock(&lk);
		(void)snprintf(q, sizeof(q), "BEGIN; SELECT set_config('vb.tenant_id', '%lld', true), "
		    "set_config('vb.user_id', '', true); "
		    "SELECT conversation_id, user_id FROM vb_acd_route(); COMMIT; "
		    "BEGIN; SELECT set_config('vb.tenant_id', '%lld', true), set_config('vb.user_id', '', true); "
		    "SELECT count(*) FROM vb_acd_positions(); COMMIT", tenant, tenant);
		t = now_s();
		ok = run(pg, q, 2, &res);
		atomic_fetch_add(&pass_us, (long)((now_s() - t) * 1e6));
		if (!ok)
			continue;	/* a deadlock or the like: try again */
		atomic_fetch_add(&passes, 1);
		n = PQntuples(res);
		pthread_mutex_lock(&lk);
		for (i = 0; i < n && ring_tail - ring_head < ring_size; i++) {
			ring_conv[ring_tail % ring_size] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
			ring_user[ring_tail % ring_size] = strtoll(PQgetvalue(res, i, 1), NULL, 10);
			ring_tail++;
		}
		pthread_cond_broadcast(&offered);
		pthread_mutex_unlock(&lk);
		PQclear(res);
	}
	PQfinish(pg);
	pthread_mutex_lock(&lk);
	pthread_cond_broadcast(&offered);
	pthread_mutex_unlock(&lk);
	return (NULL);
}

/* An agent's console: takes the next offer and accepts it. */
static void *
accepter(void *arg)
{
	PGconn		*pg;
	char		 q[512];
	long long	 conv, user;
	double		 t;
	struct timespec	 ts;

	(void)arg;
	pg = session();
	pthread_barrier_wait(&start);
	for (;;) {
		pthread_mutex_lock(&lk);
		while (ring_head == ring_tail && !done()) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec++;
			pthread_cond_timedwait(&offered, &lk, &ts);
		}
		if (ring_head == ring_tail) {
			pthread_mutex_unlock(&lk);
			break;
		}
		conv = ring_conv[ring_head % ring_size];
		user = ring_user[ring_head % ring_size];
		ring_head++;
		pthread_mutex_unlock(&lk);
		(void)snprintf(q, sizeof(q), "BEGIN; SELECT set_config('vb.tenant_id', '%lld', true), "
		    "set_config('vb.user_id', '%lld', true); SELECT vb_acd_accept_msg(%lld); COMMIT",
		    tenant, user, conv);
		t = now_s();
		if (!run(pg, q, -1, NULL)) {
			atomic_fetch_add(&refused, 1);
		} else {
			if (conv < first_conv || conv >= first_conv + contacts ||
			    atomic_exchange(&taken[conv - first_conv], 1) != 0)
				atomic_fetch_add(&doubles, 1);
			atomic_fetch_add(&accepted, 1);
		}
		atomic_fetch_add(&accept_us, (long)((now_s() - t) * 1e6));
		pthread_mutex_lock(&lk);
		events++;
		pthread_cond_broadcast(&answered);
		pthread_mutex_unlock(&lk);
	}
	PQfinish(pg);
	return (NULL);
}

static void *
watchdog(void *arg)
{
	(void)arg;
	sleep(DEADLINE_S);
	fprintf(stderr, "routeload: not done after %d s (%ld of %ld assigned)\n", DEADLINE_S,
	    atomic_load(&accepted), contacts);
	exit(1);
}

int
main(int argc, char **argv)
{
	pthread_t	*th, wd;
	double		 t0, t1;
	struct rusage	 ru;
	int		 i, routers, accepters = 16;

	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: routeload CONNINFO TENANT CONTACTS FIRST_CONV ROUTERS [ACCEPTERS]\n");
		return (2);
	}
	conninfo = argv[1];
	tenant = strtoll(argv[2], NULL, 10);
	contacts = strtol(argv[3], NULL, 10);
	first_conv = strtoll(argv[4], NULL, 10);
	routers = atoi(argv[5]);
	if (argc == 7)
		accepters = atoi(argv[6]);
	if (tenant <= 0 || contacts <= 0 || first_conv <= 0 || routers < 1 || routers > 16 ||
	    accepters < 1 || accepters > 64)
		return (2);
	ring_size = contacts * 2;
	taken = calloc((size_t)contacts, sizeof(*taken));
	th = calloc((size_t)(routers + accepters), sizeof(*th));
	ring_conv = calloc((size_t)ring_size, sizeof(*ring_conv));
	ring_user = calloc((size_t)ring_size, sizeof(*ring_user));
	if (taken == NULL || th == NULL || ring_conv == NULL || ring_user == NULL)
		return (1);
	pthread_barrier_init(&start, NULL, (unsigned)(routers + accepters) + 1);
	for (i = 0; i < routers; i++)
		pthread_create(&th[i], NULL, router, NULL);
	for (i = 0; i < accepters; i++)
		pthread_create(&th[routers + i], NULL, accepter, NULL);
	pthread_create(&wd, NULL, watchdog, NULL);
	pthread_barrier_wait(&start);
	t0 = now_s();
	for (i = 0; i < routers + accepters; i++)
		pthread_join(th[i], NULL);
	t1 = now_s();
	printf("routing_decisions_per_second: %.0f /s\n", (double)atomic_load(&accepted) / (t1 - t0));
	printf("routing_accepting_sessions: %d\n", accepters);
	printf("routing_passes: %ld\n", atomic_load(&passes));
	printf("routing_offers_per_second_in_passes: %.0f /s\n", atomic_load(&pass_us) ?
	    (double)atomic_load(&accepted) / (atomic_load(&pass_us) / 1e6) : 0.0);
	printf("routing_pass_ms_mean: %.2f ms\n", atomic_load(&pass_us) / 1e3 / (atomic_load(&passes) ? atomic_load(&passes) : 1));
	printf("routing_accept_ms_mean: %.2f ms\n", atomic_load(&accept_us) / 1e3 / (atomic_load(&accepted) ? atomic_load(&accepted) : 1));
	printf("routing_errors: %ld\n", atomic_load(&errors));
	printf("routing_refused_accepts: %ld\n", atomic_load(&refused));
	printf("routing_double_assignments: %ld\n", atomic_load(&doubles));
	/* This process's own CPU (libpq, threads): route.sh adds the server's. */
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		printf("routing_client_cpu_seconds: %.3f s\n", ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	return (atomic_load(&doubles) != 0 || atomic_load(&accepted) != contacts);
}
