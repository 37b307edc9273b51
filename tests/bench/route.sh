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

# One organisation with its agents, queue and waiting contacts; prints
# "tenant first_conv".
setup() {	# RUN
	local t
	t=$(q -c "SELECT vb_org_create('Routing bench $1', 'route-bench-$1', 'admin@rb$1.invalid',
	    'Admin', 'x')->>'id'")
	q -v t="$t" -v n="$N" -v m="$M" -v c="$C" -v run="$1" <<'SQL'
SELECT set_config('vb.tenant_id', :'t', false) \gset
INSERT INTO users (tenant_id, email, name, password_hash)
SELECT :t, 'agent' || g || '@rb' || :'run' || '.invalid', 'Agent ' || g, 'x' FROM generate_series(1, :m) g;
INSERT INTO user_roles (tenant_id, user_id, role_id)
SELECT :t, u.id, r.id FROM users u JOIN roles r ON r.tenant_id = u.tenant_id AND r.builtin = 'agent'
WHERE u.tenant_id = :t AND u.email LIKE 'agent%';
INSERT INTO agent_states (tenant_id, user_id, state, since)
SELECT :t, id, 'ready', now() - random() * interval '1 hour' FROM users
WHERE tenant_id = :t AND email LIKE 'agent%';
INSERT INTO queues (tenant_id, name, capacity, offer_timeout_s, wrapup_s)
VALUES (:t, 'Bench', :c, 60, 0) RETURNING id AS queue \gset
WITH c AS (INSERT INTO customers (tenant_id) SELECT :t FROM generate_series(1, :n) RETURNING id)
INSERT INTO conversations (tenant_id, customer_id) SELECT :t, id FROM c ORDER BY id;
SELECT count(*) FROM (SELECT vb_acd_enqueue(id, :queue, (random() * 3)::int, NULL)
    FROM conversations WHERE tenant_id = :t ORDER BY id) x \gset
UPDATE conversations SET queued_at = now() - random() * interval '10 minutes' WHERE tenant_id = :t;
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

for routers in 1 2; do
	read -r t first < <(setup "r$routers-$$")
	out=$("$W/routeload" "$DB" "$t" "$N" "$first" "$routers") ||
		{ echo "$out"; echo "vb: routing bench with $routers router(s) failed" >&2; exit 1; }
	rate=$(sed -n 's/^routing_decisions_per_second: //p' <<<"$out")
	echo "routing_decisions_per_second: $rate (routers=$routers contacts=$N agents=$M capacity=$C)"
	sed -n 's/^\(routing_[a-z_]*\): \(.*\)/\1_routers_'"$routers"': \2/p' <<<"$out" | grep -v per_second
	if check "$t"; then
		echo "routing_no_double_assignment_routers_$routers: ok"
	else
		echo "routing_no_double_assignment_routers_$routers: FAILED" >&2
		exit 1
	fi
done
[ -n "${ROUTE_KEEP:-}" ] || psql "$main_db" -X -q -c "DROP DATABASE IF EXISTS vb_routebench"
