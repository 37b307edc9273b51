#!/usr/bin/env bash
# The chat benchmark, run by tests/bench/run at its end against its private
# stack (VB_PUBLIC_URL, VB_VAR, VB_DATABASE_URL, BUILD in the environment).
# 1. Virtual Branch: N widget sessions and M supervisors made in bulk,
#    driven by tests/bench/chatload.c (libwebsockets).
# 2. The same scenario against a Socket.IO relay (socketio_peer.mjs), driven
#    by socket.io-client (socketio_load.mjs).
# Prints "name: value unit" lines. BENCH_QUICK=1: 500 sessions, 200 msg/s, 5 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=tests/bench
if [ -n "${BENCH_QUICK:-}" ]; then
	: "${CHAT_N:=500}" "${CHAT_RATE:=200}" "${CHAT_SECONDS:=5}"
fi
export CHAT_N=${CHAT_N:-15000} CHAT_M=${CHAT_M:-8} CHAT_FOLLOWED=${CHAT_FOLLOWED:-512}
export CHAT_RATE=${CHAT_RATE:-2000} CHAT_SECONDS=${CHAT_SECONDS:-10}
W=$VB_VAR/chat
mkdir -p "$W"
ulimit -n "$(ulimit -Hn)"

cc -O2 -Wall -Wextra -Werror -o "$W/chatload" "$B/chatload.c" -lwebsockets -lev
if [ ! -f "$B/node_modules/socket.io/package.json" ] || [ ! -f "$B/node_modules/socket.io-client/package.json" ]; then
	npm install --prefix "$B" --no-audit --no-fund --silent >/dev/null
fi

psql_q() { psql "$VB_DATABASE_URL" -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# Customers: one customer, conversation and widget session each, on the
# Demo Bank's site; the token is 43 URL-safe characters, stored as SHA-256.
t0=$(date +%s%N)
psql_q -F ' ' -v n="$CHAT_N" > "$W/customers" <<'SQL'
WITH site AS (
	SELECT s.id, s.tenant_id, coalesce(s.allowed_origins[1], 'http://127.0.0.2') AS origin
	FROM sites s JOIN organisations o ON o.id = s.tenant_id
	WHERE o.slug = 'demo' ORDER BY s.id LIMIT 1
), cust AS (
	INSERT INTO customers (tenant_id, site_id, display_name)
	SELECT site.tenant_id, site.id, 'Bench customer ' || g FROM site, generate_series(1, :n) g
	RETURNING id, tenant_id, site_id
), conv AS (
	INSERT INTO conversations (tenant_id, site_id, customer_id)
	SELECT tenant_id, site_id, id FROM cust ORDER BY id
	RETURNING id, tenant_id, site_id, customer_id
), tok AS MATERIALIZED (
	SELECT conv.*, translate(rtrim(encode(sha256((gen_random_uuid()::text || conv.id ||
	    gen_random_uuid()::text)::bytea), 'base64'), '='), '+/', '-_') AS token
	FROM conv
), ws AS (
	INSERT INTO widget_sessions (token_hash, tenant_id, site_id, customer_id, origin, expires_at)
	SELECT sha256(tok.token::bytea), tok.tenant_id, tok.site_id, tok.customer_id, site.origin,
	    now() + interval '1 hour'
	FROM tok, site
)
SELECT token, id FROM tok ORDER BY id;
SQL
t1=$(date +%s%N)
[ "$(wc -l < "$W/customers")" -eq "$CHAT_N" ] || { echo "vb: chat bench: customers not created" >&2; exit 1; }
echo "vb: chat bench: $CHAT_N widget sessions made in $(( (t1 - t0) / 1000000 )) ms" >&2

# Agents: supervisors (console.supervisor may follow any conversation of the
# organisation), signed in with curl like any browser.
pw='Bench-Agent-Password-1'
hash=$(echo "$pw" | "$BUILD/vbctl" hash)
tag=$(date +%s%N)
psql_q -v m="$CHAT_M" -v hash="$hash" -v tag="$tag" > "$W/agent_emails" <<'SQL'
WITH org AS (SELECT id FROM organisations WHERE slug = 'demo'),
u AS (
	INSERT INTO users (tenant_id, email, name, password_hash, must_change_password)
	SELECT org.id, 'bench-agent-' || g || '-' || :'tag' || '@demo.invalid', 'Bench Agent ' || g,
	    :'hash', false
	FROM org, generate_series(1, :m) g
	RETURNING id, tenant_id, email
), r AS (
	INSERT INTO user_roles (tenant_id, user_id, role_id)
	SELECT u.tenant_id, u.id, roles.id FROM u JOIN roles ON roles.tenant_id = u.tenant_id
	AND roles.builtin = 'supervisor'
)
SELECT email FROM u ORDER BY id;
SQL
: > "$W/agents"
while read -r email; do
	jar=$W/jar.$email
	curl -s -c "$jar" -o /dev/null "$VB_PUBLIC_URL/login"
	csrf=$(awk '$6 == "vb_csrf" {print $7}' "$jar")
	code=$(curl -s -b "$jar" -c "$jar" -H "x-csrf-token: $csrf" -H 'content-type: application/json' \
	    -d "{\"email\":\"$email\",\"password\":\"$pw\"}" -o /dev/null -w '%{http_code}' \
	    "$VB_PUBLIC_URL/api/auth/login")
	[ "$code" = 200 ] || { echo "vb: chat bench: sign-in of $email answered $code" >&2; exit 1; }
	awk '$6 == "vb_session" {print $7}' "$jar" >> "$W/agents"
done < "$W/agent_emails"

# The Kore workers of this stack, for their memory.
kpid=$(cat "$VB_VAR/run/kore.pid")
pids=
for p in $(ps -o pid= --ppid "$kpid"); do
	grep -q 'wrk' "/proc/$p/cmdline" 2>/dev/null && pids="$pids $p"
done

CHAT_CUSTOMERS=$W/customers CHAT_AGENTS=$W/agents CHAT_SERVER_PIDS=$pids \
    CHAT_URL=$VB_PUBLIC_URL CHAT_ORIGIN=$VB_PUBLIC_URL \
    "$W/chatload" > "$W/vb.out" 2> "$W/vb.err" || { cat "$W/vb.err" >&2; exit 1; }
grep -v '^chatload: t=' "$W/vb.err" >&2 || true
cat "$W/vb.out"

# The Socket.IO peer: same N, M, followed conversations, rate and duration.
[ "${CHAT_SOCKETIO:-1}" = 0 ] && exit 0
node "$B/socketio_peer.mjs" > "$W/sio.port" &
sio=$!
trap 'kill $sio 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$W/sio.port" ] && break; sleep 0.1; done
SIO_URL=http://127.0.0.1:$(head -1 "$W/sio.port") SIO_PID=$sio \
    node --max-old-space-size=4096 "$B/socketio_load.mjs" > "$W/sio.out" 2> "$W/sio.err" ||
    { cat "$W/sio.err" >&2; kill "$sio"; exit 1; }
kill "$sio" 2>/dev/null; wait "$sio" 2>/dev/null || true
grep -v 'customers ready=' "$W/sio.err" >&2 || true
cat "$W/sio.out"

val() { awk -v k="$1:" '$1 == k {print $2}' "$2"; }
awk -v a="$(val chat_messages_per_second "$W/vb.out")" -v b="$(val socketio_messages_per_second "$W/sio.out")" \
    'BEGIN { if (b > 0) printf "ratio_messages_per_second_vb_over_socketio: %.3g x\n", a / b }'
awk -v a="$(val socketio_latency_p99 "$W/sio.out")" -v b="$(val chat_latency_p99 "$W/vb.out")" \
    'BEGIN { if (b > 0) printf "ratio_latency_p99_socketio_over_vb: %.3g x\n", a / b }'
