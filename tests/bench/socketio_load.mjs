// Drives tests/bench/socketio_peer.mjs with the chat benchmark's scenario
// (the same as chatload.c): M agents following F conversations (63 per
// socket), N customers each in its own conversation, then the followed
// customers send RATE messages a second in total for SECONDS; the client_id
// carries the send time. Prints "socketio_* : value unit" lines.
// Environment: SIO_URL, SIO_PID (the peer, for its memory), CHAT_N, CHAT_M,
// CHAT_FOLLOWED, CHAT_RATE, CHAT_SECONDS, CHAT_INFLIGHT, CHAT_CONNECT_TIMEOUT, CHAT_DRAIN,
// CHAT_SUBS_PER_SOCKET.
import fs from 'node:fs';
import { io } from 'socket.io-client';

const env = (k, d) => (process.env[k] ? Number(process.env[k]) : d);
const URL = process.env.SIO_URL;
const N = env('CHAT_N', 15000), M = env('CHAT_M', 8), RATE = env('CHAT_RATE', 2000);
const SECONDS = env('CHAT_SECONDS', 10), INFLIGHT = env('CHAT_INFLIGHT', 256);
const FOLLOWED = M > 0 ? Math.min(env('CHAT_FOLLOWED', 512), N) : 0;
const CONNECT_TIMEOUT = env('CHAT_CONNECT_TIMEOUT', 180) * 1000, DRAIN = env('CHAT_DRAIN', 10) * 1000;
const SUBS_PER_SOCKET = env('CHAT_SUBS_PER_SOCKET', 63);	// as chatload.c
if (!/^http:\/\/127\./.test(URL || '')) throw new Error('SIO_URL must be a loopback http URL');

const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rss = () => {
	try { return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${process.env.SIO_PID}/status`, 'utf8'))[1]); }
	catch { return 0; }
};
const log = (s) => process.stderr.write(`socketio_load: ${s}\n`);

const opts = { transports: ['websocket'], reconnection: false, forceNew: true, timeout: 30000 };
let sent = 0, acked = 0, delivered = 0, errors = 0, dropped = 0, tLastAck = 0, tSend0 = 0;
const latAgent = [], latAck = [];

function open(kind) {
	return new Promise((resolve) => {
		const s = io(URL, { ...opts, auth: { kind } });
		s.once('connect', () => resolve(s));
		s.once('connect_error', (e) => { s.close(); resolve(null); log(`connect_error: ${e.message}`); });
	});
}
const subscribe = (s, conv) => new Promise((resolve) => s.emit('subscribe', { conversation_id: conv }, (a) => resolve(!a.error)));

// Agents first: agent a follows customers a, a + M, ... below FOLLOWED.
const sockets = [];
let agentSubs = 0;
for (let a = 0; a < M; a++) {
	const mine = [];
	for (let i = a; i < FOLLOWED; i += M) mine.push(i + 1);	// conversation id = customer index + 1
	for (let k = 0; k < mine.length; k += SUBS_PER_SOCKET) {
		const s = await open('staff');
		if (!s) continue;
		sockets.push(s);
		s.on('message', (m) => {
			delivered++;
			const t = Number(m.client_id.split('-')[0].slice(1));
			latAgent.push(now() * 1000 - t);
		});
		for (const ok of await Promise.all(mine.slice(k, k + SUBS_PER_SOCKET).map((c) => subscribe(s, c))))
			if (ok) agentSubs++;
	}
}

// Customers, at most INFLIGHT connecting at once.
const rssBefore = rss();
const customers = new Array(N).fill(null);
let next = 0, ready = 0, failed = 0;
const tc0 = now();
async function connectWorker() {
	while (next < N && now() - tc0 < CONNECT_TIMEOUT) {
		const i = next++;
		const s = await open('customer');
		if (s && await subscribe(s, i + 1)) {
			customers[i] = s;
			ready++;
			s.on('disconnect', () => { customers[i] = null; dropped++; });
			s.on('message', () => {});
		} else {
			failed++;
			s?.close();
		}
	}
}
const progress = setInterval(() => log(`customers ready=${ready} failed=${failed} sent=${sent} acked=${acked} delivered=${delivered}`), 2000);
await Promise.all(Array.from({ length: Math.min(INFLIGHT, N) }, connectWorker));
const connectSeconds = (now() - tc0) / 1000;
await sleep(2000);
const held = customers.filter(Boolean).length;
const rssAfter = rss();

// Sending: round-robin over the followed customers still connected.
const senders = [];
for (let i = 0; i < FOLLOWED; i++) if (customers[i]) senders.push(i);
log(`${held} customers held, ${senders.length} senders, peer RSS ${rssBefore} -> ${rssAfter} KiB`);
let cursor = 0;
const seqs = new Array(N).fill(0);
tSend0 = now();
if (senders.length && RATE > 0) {
	await new Promise((resolve) => {
		const t = setInterval(() => {
			const el = now() - tSend0;
			const due = Math.min(Math.floor(RATE * el / 1000), RATE * SECONDS);
			while (sent < due) {
				const i = senders[cursor++ % senders.length];
				const s = customers[i];
				sent++;
				if (!s) { errors++; continue; }
				const t0 = now() * 1000;
				s.emit('send', { conversation_id: i + 1, client_id: `b${Math.round(t0)}-${i}-${seqs[i]}`,
				    text: `Hello, this is customer ${i} asking about my card (message ${seqs[i]++})` }, (a) => {
					if (a.error) { errors++; return; }
					acked++;
					tLastAck = now();
					latAck.push(tLastAck * 1000 - t0);
				});
			}
			if (el >= SECONDS * 1000) { clearInterval(t); resolve(); }
		}, 5);
	});
}
const tDrain = now();
while ((acked + errors < sent || delivered < acked) && now() - tDrain < DRAIN) await sleep(20);
clearInterval(progress);

const pct = (a, q) => {
	if (!a.length) return 0;
	const s = Float64Array.from(a).sort();
	return s[Math.round(q * (s.length - 1))] / 1000;
};
const window = Math.max(SECONDS, tLastAck > tSend0 ? (tLastAck - tSend0) / 1000 : 0);
const out = [
	`socketio_sessions_held: ${held} sessions`,
	`socketio_connect_seconds: ${connectSeconds.toFixed(1)} s`,
	`socketio_server_memory_per_session: ${held ? ((rssAfter - rssBefore) / held).toFixed(1) : 0} KiB`,
	`socketio_agents: ${M} agents on ${sockets.length} sockets following ${agentSubs} conversations`,
	`socketio_messages_sent: ${sent} messages`,
	`socketio_messages_acked: ${acked} messages`,
	`socketio_messages_delivered_to_agents: ${delivered} messages`,
	`socketio_messages_per_second: ${(acked / window).toFixed(1)} msg/s`,
	`socketio_latency_p50: ${pct(latAgent, 0.5).toFixed(2)} ms`,
	`socketio_latency_p99: ${pct(latAgent, 0.99).toFixed(2)} ms`,
	`socketio_ack_latency_p50: ${pct(latAck, 0.5).toFixed(2)} ms`,
	`socketio_ack_latency_p99: ${pct(latAck, 0.99).toFixed(2)} ms`,
];
if (failed || dropped || errors) out.push(`socketio_failures: ${failed} connects failed, ${dropped} dropped, ${errors} send errors`);
process.stdout.write(out.join('\n') + '\n');
for (const s of [...sockets, ...customers]) s?.close();
process.exit(0);
