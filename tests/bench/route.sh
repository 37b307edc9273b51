#!/usr/bin/env bash
# Routing decisions per second (part of make bench; needs the bench stack's
# environment: VB_VAR, VB_DATABASE_URL from conf/bin/vb-env).
#
# N waiting contacts and M ready agents of capacity C are made directly in
# SQL, then tests/bench/routeload.c routes them as the hub does (a pass of
# vb_acd_route(), then each offer accepted by its agent) until all are
# assigned: once with one router, once with two concurrent routers (two
# sessions). Afterwards the database is checked: every contact assigned once,
# one join message each, nobody over capacity.
#
# The contacts live in a database of their own (vb_routebench, migrated with
# conf/bin/vb-migrate) in the same PostgreSQL: the running server routes every
# organisation with waiting contacts once a second, and its offers, which no
# console answers, would disturb the measurement.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${ROUTE_CONTACTS:-1000}
M=${ROUTE_AGENTS:-200}
C=${ROUTE_CAPACITY:-5}
W=$VB_VAR/route
mkdir -p "$W"
cc -O2 -Wall -Wextra -Werror -I/usr/include/postgresql -o "$W/routeload" tests/bench/routeload.c -lpq -lpthread

main_db=$VB_DATABASE_URL
psql "$main_db" -X -q -c 'DROP DATABASE IF EXISTS vb_routebench' -c 'CREATE DATABASE vb_routebench'
DB=$(sed 's/dbname=[^ ]*/dbname=vb_routebench/' <<<"$main_db")
VB_DATABASE_URL=$DB conf/bin/vb-migrate >/dev/null 2>&1
q() { psql "$DB" -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# One organisation with its agents (in STATE, ready by default), queue and
# waiting contacts, made in one transaction; prints "tenant first_conv".
setup() {	# RUN [STATE]
	local t
	t=$(q -c "SELECT vb_org_create('Routing bench $1', 'route-bench-$1', 'admin@rb$1.invalid',
	    'Admin', 'x')->>'id'")
	q -v t="$t" -v n="$N" -v m="$M" -v c="$C" -v run="$1" -v state="${2:-ready}" <<'SQL'
SELECT set_config('vb.tenant_id', :'t', false) \gset
BEGIN;
INSERT INTO users (tenant_id, email, name, password_hash)
SELECT :t, 'agent' || g || '@rb' || :'run' || '.invalid', 'Agent ' || g, 'x' FROM generate_series(1, :m) g;
INSERT INTO user_roles (tenant_id, user_id, role_id)
SELECT :t, u.id, r.id FROM users u JOIN roles r ON r.tenant_id = u.tenant_id AND r.builtin = 'agent'
WHERE u.tenant_id = :t AND u.email LIKE 'agent%';
INSERT INTO agent_states (tenant_id, user_id, state, since)
SELECT :t, id, :'state', now() - random() * interval '1 hour' FROM users
WHERE tenant_id = :t AND email LIKE 'agent%';
INSERT INTO queues (tenant_id, name, capacity, offer_timeout_s, wrapup_s)
VALUES (:t, 'Bench', :c, 60, 0) RETURNING id AS queue \gset
WITH c AS (INSERT INTO customers (tenant_id) SELECT :t FROM generate_series(1, :n) RETURNING id)
INSERT INTO conversations (tenant_id, customer_id) SELECT :t, id FROM c ORDER BY id;
SELECT count(*) FROM (SELECT vb_acd_enqueue(id, :queue, (random() * 3)::int, NULL)
    FROM conversations WHERE tenant_id = :t ORDER BY id) x \gset
UPDATE conversations SET queued_at = now() - random() * interval '10 minutes' WHERE tenant_id = :t;
COMMIT;
SQL
	q -c "ANALYZE"
	echo "$t $(q -c "SELECT min(id) FROM conversations WHERE tenant_id = $t")"
}

# Every contact assigned exactly once, to an agent within capacity.
check() {	# TENANT
	local bad
	bad=$(q -c "SELECT
	    (SELECT count(*) FROM conversations WHERE tenant_id = $1 AND routing <> 'assigned') +
	    (SELECT count(*) FROM (SELECT cs.conversation_id FROM conversation_staff cs
		JOIN conversations c ON c.id = cs.conversation_id WHERE c.tenant_id = $1
		GROUP BY 1 HAVING count(*) <> 1) x) +
	    (SELECT count(*) FROM (SELECT c.id FROM conversations c LEFT JOIN messages m
		ON m.conversation_id = c.id AND m.sender_kind = 'system'
		WHERE c.tenant_id = $1 GROUP BY 1 HAVING count(m.*) <> 1) y) +
	    (SELECT count(*) FROM (SELECT assigned_user_id FROM conversations WHERE tenant_id = $1
		GROUP BY 1 HAVING count(*) > $C) z)")
	[ "$(q -c "SELECT count(*) FROM conversations WHERE tenant_id = $1 AND routing = 'assigned'")" = "$N" ] &&
	    [ "$bad" = 0 ]
}

# CPU seconds a process and its children have used: the process, its live
# children, and those already reaped (cutime/cstime).
tree_cpu() {	# PID
	local t=0 hz
	hz=$(getconf CLK_TCK)
	for p in "$1" $(ps -o pid= --ppid "$1"); do
		t=$(( t + $(awk '{print $14 + $15 + ($1 == '"$1"' ? $16 + $17 : 0)}' "/proc/$p/stat" 2>/dev/null || echo 0) ))
	done
	awk -v t="$t" -v hz="$hz" 'BEGIN { printf "%.3f", t / hz }'
}

# The PostgreSQL cluster's CPU seconds. Empty when the database is not the
# embedded one under $VB_VAR.
pg_cpu() {
	local f=$VB_VAR/pg/postmaster.pid
	[ -r "$f" ] || return 0
	tree_cpu "$(head -1 "$f")"
}

# Kore's (main process and workers). Empty when it is not the bench's own.
kore_cpu() {
	local f=$VB_VAR/run/kore.pid
	[ -r "$f" ] || return 0
	tree_cpu "$(head -1 "$f")"
}

for routers in 1 2; do
	read -r t first < <(setup "r$routers-$$")
	cpu0=$(pg_cpu)
	out=$("$W/routeload" "$DB" "$t" "$N" "$first" "$routers") ||
		{ echo "$out"; echo "vb: routing bench with $routers router(s) failed" >&2; exit 1; }
	rate=$(sed -n 's/^routing_decisions_per_second: //p' <<<"$out")
	echo "routing_decisions_per_second: $rate (routers=$routers contacts=$N agents=$M capacity=$C)"
	sed -n 's/^\(routing_[a-z_]*\): \(.*\)/\1_routers_'"$routers"': \2/p' <<<"$out" | grep -v per_second
	# CPU per decision, server and load generator together: what the two
	# cores can carry, whatever else the machine was doing.
	# The load generator's backends have exited: once reaped, their CPU is
	# in the postmaster's cutime (read too early, it is nowhere).
	sleep 0.5
	cpu1=$(pg_cpu)
	if [ -n "$cpu0" ] && [ -n "$cpu1" ]; then
		client=$(sed -n 's/^routing_client_cpu_seconds: \([0-9.]*\).*/\1/p' <<<"$out")
		awk -v a="$cpu0" -v b="$cpu1" -v c="${client:-0}" -v n="$N" -v r="$routers" 'BEGIN {
			printf "routing_server_cpu_per_decision_routers_%d: %.0f us\n", r, (b - a) * 1e6 / n
			printf "routing_cpu_per_decision_routers_%d: %.0f us (server and load generator)\n", r, (b - a + c) * 1e6 / n
			printf "routing_decisions_per_core_second_routers_%d: %.0f /s\n", r, n / (b - a + c) }'
	fi
	if check "$t"; then
		echo "routing_no_double_assignment_routers_$routers: ok"
	else
		echo "routing_no_double_assignment_routers_$routers: FAILED" >&2
		exit 1
	fi
done
[ -n "${ROUTE_KEEP:-}" ] || psql "$main_db" -X -q -c "DROP DATABASE IF EXISTS vb_routebench"

# The same through the running server: the agents on WebSockets as consoles,
# the server's own routing (tests/bench/route_e2e.mjs). An organisation of
# its own in the server's database; staff sessions made directly (a sign-in
# per agent would measure argon2id).
[ -n "${VB_PUBLIC_URL:-}" ] || exit 0
[ -f tests/bench/node_modules/ws/package.json ] ||
	npm install --prefix tests/bench --no-audit --no-fund --silent >/dev/null
DB=$main_db
# Offline until their console says ready: the server must not route before.
read -r t first < <(setup "e2e-$$" offline)
q -v t="$t" > "$W/sessions" <<'SQL'
SELECT set_config('vb.tenant_id', :'t', false) \gset
-- No forced password change.
UPDATE users SET must_change_password = false WHERE tenant_id = :t;
WITH tok AS MATERIALIZED (
	SELECT u.id, u.tenant_id,
	    left(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 48) AS token
	FROM users u JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id
	WHERE u.tenant_id = :t AND r.builtin = 'agent' AND u.email LIKE 'agent%'
), s AS (
	INSERT INTO sessions (id_hash, tenant_id, user_id, csrf, mfa_ok, expires_at)
	SELECT sha256(convert_to(token, 'UTF8')), tenant_id, id, replace(gen_random_uuid()::text, '-', ''),
	    true, now() + interval '1 hour' FROM tok
)
SELECT token FROM tok;
SQL
# ROUTE_PROFILE=1 (with VB_PG_OPTS='-c shared_preload_libraries=pg_stat_statements
# -c pg_stat_statements.track=all'): the statements that took the time.
if [ -n "${ROUTE_PROFILE:-}" ]; then
	q -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' -c 'SELECT pg_stat_statements_reset()' >/dev/null
fi
pg0=$(pg_cpu) k0=$(kore_cpu)
out=$(ROUTE_URL=$VB_PUBLIC_URL ROUTE_SESSIONS=$W/sessions ROUTE_CONTACTS=$N node tests/bench/route_e2e.mjs) ||
	{ echo "$out"; echo "vb: end-to-end routing bench failed" >&2; exit 1; }
pg1=$(pg_cpu) k1=$(kore_cpu)
echo "$out" | sed "1s|\$| (through the server: $(wc -l < "$W/sessions") agents on WebSockets, contacts=$N capacity=$C)|"
# The server's CPU per decision (Kore and PostgreSQL, not the load
# generator, which shares the two cores): what the server alone can carry.
if [ -n "$pg0" ] && [ -n "$k0" ] && [ -n "$pg1" ] && [ -n "$k1" ]; then
	awk -v p0="$pg0" -v p1="$pg1" -v k0="$k0" -v k1="$k1" -v n="$N" 'BEGIN {
		printf "routing_e2e_postgres_cpu_per_decision: %.0f us\n", (p1 - p0) * 1e6 / n
		printf "routing_e2e_kore_cpu_per_decision: %.0f us\n", (k1 - k0) * 1e6 / n
		printf "routing_e2e_server_decisions_per_core_second: %.0f /s\n", n / (p1 - p0 + k1 - k0) }'
fi
if [ -n "${ROUTE_PROFILE:-}" ]; then
	cp "$VB_VAR/log/postgres.log" "${TMPDIR:-/tmp}/route-postgres.log" 2>/dev/null || true
	q -F ' | ' -c "SELECT calls, round(total_exec_time::numeric, 1) AS ms,
	    round((total_exec_time / calls * 1000)::numeric) AS us_each, left(regexp_replace(query, '\s+', ' ', 'g'), 110)
	    FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25" >&2
fi
if check "$t"; then
	echo "routing_e2e_no_double_assignment: ok"
else
	echo "routing_e2e_no_double_assignment: FAILED" >&2
	exit 1
fi
