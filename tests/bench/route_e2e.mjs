// Routing decisions per second through the server (make bench, route.sh):
// the agents of one organisation, each on its own WebSocket as a console
// is, go ready at once and accept every offer they get; the server routes as
// it does in production (a pass on every routing event, coalesced per
// organisation and worker, the offers on each agent's channel). It runs until
// every waiting contact is assigned and prints "name: value unit" lines.
//
// Environment: ROUTE_URL (the server), ROUTE_SESSIONS (a file with one staff
// session cookie per line), ROUTE_CONTACTS (how many wait).
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

const url = process.env.ROUTE_URL;
const tokens = readFileSync(process.env.ROUTE_SESSIONS, 'utf8').split('\n').filter(Boolean);
const contacts = Number(process.env.ROUTE_CONTACTS);
const DEADLINE_MS = 120000;

let accepted = 0, offers = 0, gone = 0, errors = 0, t0 = 0, cpu0;
const taken = new Set();
let doubles = 0;
const lat = [];		// offer → accepted, ms

function open(token) {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws',
		    { origin: url, headers: { cookie: `vb_session=${token}` } });
		const sent = new Map();
		ws.on('message', (d) => {
			const f = JSON.parse(d.toString());
			switch (f.type) {
			case 'hello':
				resolve(ws);
				break;
			case 'offer':
				offers++;
				sent.set(f.conversation_id, performance.now());
				ws.send(JSON.stringify({ type: 'accept', conversation_id: f.conversation_id }));
				break;
			case 'accepted':
				if (taken.has(f.conversation_id))
					doubles++;
				taken.add(f.conversation_id);
				lat.push(performance.now() - (sent.get(f.conversation_id) ?? t0));
				if (++accepted === contacts)
					done();
				break;
			case 'error':
				if (f.code === 'offer_gone')
					gone++;
				else
					errors++;
				break;
			default:
				break;
			}
		});
		ws.on('error', reject);
	});
}

const socks = [];
function done() {
	const s = (performance.now() - t0) / 1000;
	lat.sort((a, b) => a - b);
	const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(1);
	console.log(`routing_e2e_decisions_per_second: ${(accepted / s).toFixed(0)} /s`);
	console.log(`routing_e2e_agents: ${socks.length}`);
	console.log(`routing_e2e_offers: ${offers}`);
	console.log(`routing_e2e_offer_to_accepted_p50: ${q(0.5)} ms`);
	console.log(`routing_e2e_offer_to_accepted_p99: ${q(0.99)} ms`);
	console.log(`routing_e2e_offers_gone: ${gone}`);
	console.log(`routing_e2e_errors: ${errors}`);
	console.log(`routing_e2e_double_assignments: ${doubles}`);
	const cpu = process.cpuUsage(cpu0);
	console.log(`routing_e2e_client_cpu_per_decision: ${((cpu.user + cpu.system) / accepted).toFixed(0)} us`);
	for (const ws of socks)
		ws.close();
	process.exit(errors || doubles ? 1 : 0);
}

for (let i = 0; i < tokens.length; i += 50)
	socks.push(...await Promise.all(tokens.slice(i, i + 50).map(open)));
setTimeout(() => {
	console.error(`route_e2e: not done after ${DEADLINE_MS / 1000} s (${accepted} of ${contacts} assigned)`);
	process.exit(1);
}, DEADLINE_MS).unref();
t0 = performance.now();
cpu0 = process.cpuUsage();
for (const ws of socks)
	ws.send(JSON.stringify({ type: 'state', state: 'ready' }));
