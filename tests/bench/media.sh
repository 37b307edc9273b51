#!/usr/bin/env bash
# The media relay under load, then Janus under the same load (issue 4,
# "Performance"). Part of make bench; BENCH_ONLY=media runs only this (no
# stack needed). build/mediaload (tests/bench/mediaload.c) opens N calls
# with real ICE, DTLS and SRTP, two 720p-like legs per call, for
# MEDIA_SECONDS; N steps up through MEDIA_STEPS until the loss reaches
# 0.1 %, the server's core saturates or the generator's does.
#
# The server runs on CPU 0 and the generator on CPU 1 (taskset), so the
# server's figure is its own core; its CPU comes from /proc/PID/stat (all
# threads), the generator's from getrusage and is printed too.
#
# Janus (Debian's janus 1.1.2): its own config in a temp dir (HTTP
# transport on a free loopback port, EchoTest only, ICE-lite, half trickle,
# no STUN server), same core, same load. EchoTest returns each leg's media
# to that leg, so a Janus "call" is two echoed legs: the same packets in
# and out per call as a relayed two-party call. Janus runs a thread per
# handle by default; JANUS_EVENT_LOOPS=N makes it share N loops instead.
#
# Prints "name: value unit" lines: first srtp_* (tests/bench/srtpbench.c,
# SRTP per packet, NSS against our OpenSSL types), per step media_step_N_* / janus_step_N_*,
# then the full figures of the largest passing step, calls per core and
# the ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-$ROOT/build}
SECS=${MEDIA_SECONDS:-10}
STEPS=${MEDIA_STEPS:-"100 150 200 250 300 350 400 500 600 800"}
JSTEPS=${JANUS_STEPS:-"25 50 75 100 125 150 200 250 300 400 500"}
[ "$BUILD" = "$ROOT/build" ] && make -s build/vb-media build/mediaload build/srtpbench >/dev/null
W=$(mktemp -d /tmp/vbmediabench.XXXXXX)
SRV_PID=
stop_server() {
	[ -n "$SRV_PID" ] || return 0
	kill "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=
}
trap 'stop_server; rm -rf "$W"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(nproc)" -ge 2 ]; then
	SRV=(taskset -c 0)
	GEN=(taskset -c 1)
else
	SRV=()
	GEN=()
fi
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
val() {	# NAME FILE: the number of "NAME: number unit"
	awk -v k="$1" -F': ' '$1 == k { split($2, a, " "); print a[1] }' "$2"
}

relay_start() {
	rm -f "$W/media.sock"
	VB_VAR=$W VB_MEDIA_PORT=0 VB_MEDIA_BIND=127.0.0.1 VB_MEDIA_ADDR=127.0.0.1 \
	    VB_MEDIA_SOCK=$W/media.sock VB_MEDIA_CONF= \
	    "${SRV[@]}" "$BUILD/vb-media" 2>>"$W/relay.log" &
	SRV_PID=$!
	for _ in $(seq 100); do [ -S "$W/media.sock" ] && return 0; sleep 0.05; done
	echo "vb: vb-media did not start" >&2
	tail -5 "$W/relay.log" >&2
	return 1
}

janus_conf() {
	local d=$W/janus lib=/usr/lib/x86_64-linux-gnu/janus
	[ -d "$lib" ] || lib=$(dirname "$(dpkg -L janus | grep '/plugins/libjanus_echotest.so$' | head -1)")/..
	mkdir -p "$d"
	JPORT=$(free_port)
	local plugins transports
	plugins=$(ls "$lib/plugins" | grep '\.so$' | grep -v echotest | paste -sd, -)
	transports=$(ls "$lib/transports" | grep '\.so$' | grep -v '_http\.' | paste -sd, -)
	cat > "$d/janus.jcfg" <<EOF
general: {
	configs_folder = "$d"
	plugins_folder = "$lib/plugins"
	transports_folder = "$lib/transports"
	events_folder = "$lib/events"
	loggers_folder = "$lib/loggers"
	debug_level = 3
	session_timeout = 0
	server_name = "vb-bench"
	$( [ -n "${JANUS_EVENT_LOOPS:-}" ] && echo "event_loops = $JANUS_EVENT_LOOPS" )
}
certificates: {
}
media: {
	ipv6 = false
	rtp_port_range = "40000-59999"
}
nat: {
	nice_debug = false
	full_trickle = false
	ice_lite = true
}
plugins: {
	disable = "$plugins"
}
transports: {
	disable = "$transports"
}
loggers: {
	disable = "libjanus_jsonlog.so"
}
events: {
	broadcast = false
}
EOF
	cat > "$d/janus.transport.http.jcfg" <<EOF
general: {
	json = "compact"
	base_path = "/janus"
	http = true
	port = $JPORT
	ip = "127.0.0.1"
	https = false
}
admin: {
	admin_http = false
	admin_https = false
}
EOF
	printf 'general: {\n\tevents = false\n}\n' > "$d/janus.plugin.echotest.jcfg"
}

janus_start() {
	"${SRV[@]}" janus -C "$W/janus/janus.jcfg" -F "$W/janus" -L "$W/janus.log" -N \
	    >/dev/null 2>&1 &
	SRV_PID=$!
	for _ in $(seq 100); do
		curl -sf -d '{"janus":"info","transaction":"x"}' "http://127.0.0.1:$JPORT/janus" \
		    >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "vb: janus did not start" >&2
	tail -5 "$W/janus.log" >&2
	return 1
}

# Latency without the neighbours: on a shared machine the server waits for
# its core behind other processes (ms at p99). One run of N calls with
# server and generator under SCHED_FIFO (chrt), short and well under a
# core, prints PREFIX_rt_* lines: what the server itself adds.
rt_run() {	# PREFIX N
	local prefix=$1 n=$2 out=$W/$1-rt.out
	if ! chrt -f 1 true 2>/dev/null; then
		echo "${prefix}_rt_added_latency_p99: not measured (no SCHED_FIFO here)"
		return 0
	fi
	local keep=("${SRV[@]}")
	SRV=(chrt -f 1 "${SRV[@]}")
	if [ "$prefix" = media ]; then
		relay_start
		chrt -f 1 "${GEN[@]}" "$BUILD/mediaload" -s "$W/media.sock" -n "$n" -t "$SECS" \
		    -P "${prefix}_rt" > "$out" 2>"$W/gen.err" || cat "$W/gen.err" >&2
	else
		janus_start
		chrt -f 1 "${GEN[@]}" "$BUILD/mediaload" -j "http://127.0.0.1:$JPORT/janus" \
		    -p "$SRV_PID" -n "$n" -t "$SECS" -P "${prefix}_rt" > "$out" 2>"$W/gen.err" ||
		    cat "$W/gen.err" >&2
	fi
	stop_server
	SRV=("${keep[@]}")
	grep -E "_rt_(calls|loss|latency_p[0-9]+|baseline_latency_p[0-9]+|added_latency_p[0-9]+|server_cpu):" "$out" || true
}

# Steps N up; prints the step lines and leaves the best step's output in
# $W/PREFIX.best and its N in BEST (0 if none passed), the limit in LIMIT.
run_steps() {	# PREFIX STEPS
	local prefix=$1 n loss cpu gcpu out
	BEST=0
	LIMIT="none (last step passed)"
	for n in $2; do
	    for try in 1 2; do
		out=$W/$prefix-$n.out
		if [ "$prefix" = media ]; then
			relay_start
			"${GEN[@]}" "$BUILD/mediaload" -s "$W/media.sock" -n "$n" -t "$SECS" -P "$prefix" \
			    > "$out" 2>"$W/gen.err" || { cat "$W/gen.err" >&2; stop_server; LIMIT="generator error"; break 2; }
		else
			janus_start
			"${GEN[@]}" "$BUILD/mediaload" -j "http://127.0.0.1:$JPORT/janus" -p "$SRV_PID" \
			    -n "$n" -t "$SECS" -P "$prefix" \
			    > "$out" 2>"$W/gen.err" || { cat "$W/gen.err" >&2; stop_server; LIMIT="generator error"; break 2; }
		fi
		stop_server
		loss=$(val "${prefix}_loss" "$out")
		cpu=$(val "${prefix}_server_cpu" "$out")
		gcpu=$(val "${prefix}_generator_cpu" "$out")
		echo "${prefix}_step_${n}_loss: $loss %"
		echo "${prefix}_step_${n}_server_cpu: $cpu % of one core"
		echo "${prefix}_step_${n}_generator_cpu: $gcpu % of one core"
		# A shared machine: a step that loses is run once more (the
		# other processes' bursts are not the server's limit).
		awk -v l="$loss" 'BEGIN { exit !(l >= 0.1) }' || break
		[ "$try" = 2 ] || echo "${prefix}_step_${n}_retry: 1 run"
	    done
		if awk -v l="$loss" 'BEGIN { exit !(l >= 0.1) }'; then
			LIMIT="loss at $n calls"
			break
		fi
		BEST=$n
		cp "$out" "$W/$prefix.best"
		if awk -v c="$cpu" 'BEGIN { exit !(c >= 95) }'; then
			LIMIT="server core saturated at $n calls"
			break
		fi
		if awk -v c="$gcpu" 'BEGIN { exit !(c >= 95) }'; then
			LIMIT="generator core saturated at $n calls"
			break
		fi
	done
	echo "${prefix}_limit: $LIMIT"
	if [ "$BEST" -gt 0 ]; then
		grep -v "_setup_ms_per_call" "$W/$prefix.best"
		grep "_setup_ms_per_call" "$W/$prefix.best"
	fi
	echo "${prefix}_calls_per_core: $BEST calls (under 0.1 % loss, one core)"
}

echo "media_machine: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
# SRTP alone, per packet: Debian's NSS types against ours (srtpossl.c).
"${SRV[@]}" "$BUILD/srtpbench"
run_steps media "$STEPS"
OURS=$BEST
OURS_CPU=$( [ "$OURS" -gt 0 ] && val media_cpu_per_call "$W/media.best" || echo 0)
rt_run media "${MEDIA_RT_CALLS:-100}"
echo "media_calls_per_core_by_cpu: $(awk -v c="$OURS_CPU" 'BEGIN { printf "%.0f", (c > 0 ? 100 / c : 0) }') calls (100 % / CPU per call at the best step)"
if ! command -v janus >/dev/null; then
	echo "janus_calls_per_core: not measured (janus is not installed: conf/bin/vb-deps bench)"
	exit 0
fi
janus_conf
run_steps janus "$JSTEPS"
THEIRS=$BEST
THEIRS_CPU=$( [ "$THEIRS" -gt 0 ] && val janus_cpu_per_call "$W/janus.best" || echo 0)
rt_run janus "${JANUS_RT_CALLS:-${MEDIA_RT_CALLS:-100}}"
echo "janus_calls_per_core_by_cpu: $(awk -v c="$THEIRS_CPU" 'BEGIN { printf "%.0f", (c > 0 ? 100 / c : 0) }') calls (100 % / CPU per call at the best step)"
echo "media_vs_janus_calls_per_core: $(awk -v a="$OURS" -v b="$THEIRS" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') x"
echo "media_vs_janus_cpu_per_call: $(awk -v a="$OURS_CPU" -v b="$THEIRS_CPU" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }') x (Janus CPU per call / ours)"
echo "media_load_after: $(cut -d' ' -f1-3 /proc/loadavg)"
