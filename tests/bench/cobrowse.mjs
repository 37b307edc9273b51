// Co-browsing benchmark (issue 5), run by tests/bench/cobrowse.sh against the
// bench's private stack. Prints "name: value unit" lines.
//
// 1. Full snapshot of a 1,000-row and a 5,000-row table page, recorded by
//    rrweb in Chromium with the widget's masking options: time and size;
//    then the same snapshot through the server (customer socket → hub →
//    agent socket, in 16,000-character parts as the widget sends it) and
//    rebuilt by rrweb's Replayer in Chromium: the agent's first view is the
//    sum of the three.
// 2. 100 concurrent co-browse sessions (4 agents following 25 each): every
//    customer sends a DOM change batch every 100 ms; latency from the
//    customer's send to the agent's socket receiving it, p50 and p99.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { sql, newOrg } from '../lib/vb.mjs';
import { staff, connect, BASE } from '../lib/chat.mjs';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SESSIONS = Number(process.env.COBROWSE_SESSIONS || 100);
const SECONDS = Number(process.env.COBROWSE_SECONDS || 10);
const PART = 16000;

const out = (name, value, unit) => console.log(`${name}: ${value} ${unit}`);
const pct = (a, p) => a.length ? a[Math.min(a.length - 1, Math.floor(a.length * p))] : NaN;

function tablePage(rows) {
	let body = '';
	for (let i = 1; i <= rows; i++)
		body += `<tr><td>${i}</td><td>PT50 0002 0123 ${String(i).padStart(4, '0')} 5678</td><td>Customer ${i}</td>` +
		    `<td>${(i * 37.13).toFixed(2)}</td><td>2026-11-${String(i % 28 + 1).padStart(2, '0')}</td>` +
		    `<td><input value="note ${i}"></td></tr>`;
	return `<!doctype html><html><head><title>Statement</title><style>td{padding:2px 6px;border-bottom:1px solid #ddd}</style></head>` +
	    `<body><h1>Statement</h1><table><thead><tr><th>#</th><th>Account</th><th>Name</th><th>Amount</th><th>Date</th><th>Note</th></tr></thead>` +
	    `<tbody>${body}</tbody></table></body></html>`;
}

// Records as static/widget/cobrowse.js does.
async function snapshot(page, rows) {
	await page.setContent(tablePage(rows));
	await page.addScriptTag({ content: readFileSync(path.join(ROOT, 'static/vendor/rrweb-record.js'), 'utf8') });
	return page.evaluate(() => new Promise((ok) => {
		const MASK = '\u2022'.repeat(8), events = [];
		const inputs = ['color', 'date', 'datetime-local', 'email', 'month', 'number', 'range', 'search',
		    'tel', 'text', 'time', 'url', 'week', 'textarea', 'select', 'password', 'hidden'];
		const t0 = performance.now();
		let stop = null, done = false;
		stop = window.rrwebRecord.record({
			emit(e) {
				events.push(e);
				if (e.type !== 2 || done)
					return;
				done = true;
				const t1 = performance.now();
				const text = JSON.stringify(events);
				const t2 = performance.now();
				setTimeout(() => stop?.(), 0);
				ok({ record_ms: t1 - t0, json_ms: t2 - t1, bytes: new TextEncoder().encode(text).length, text });
			},
			maskAllInputs: false, maskInputOptions: Object.fromEntries(inputs.map((k) => [k, true])),
			maskInputFn: () => MASK, maskTextSelector: '[data-vb-mask]', maskTextFn: () => MASK,
			blockSelector: '[data-vb-block],#vb-widget,#vb-cobrowse', recordCanvas: false,
			collectFonts: false, inlineImages: false, sampling: { mousemove: 50, scroll: 100 },
		});
	}));
}

async function replayMs(page, text, rows) {
	await page.setContent('<!doctype html><html><body><div id="stage"></div></body></html>');
	await page.addScriptTag({ content: readFileSync(path.join(ROOT, 'static/vendor/rrweb-replay.js'), 'utf8') });
	return page.evaluate(({ text, rows }) => new Promise((ok) => {
		const t0 = performance.now();
		const events = JSON.parse(text);
		const r = new window.rrwebReplay.Replayer([], { root: document.getElementById('stage'), liveMode: true,
		    mouseTail: false, showWarning: false });
		r.startLive();
		const now = Date.now();
		for (const e of events)
			r.addEvent({ ...e, timestamp: now });
		(function check() {
			const d = r.iframe.contentDocument;
			if (d && d.querySelectorAll('tbody tr').length === rows)
				return ok(performance.now() - t0);
			requestAnimationFrame(check);
		})();
	}), { text, rows });
}

// A co-browse world: an organisation, agents, n customers whose chats each
// agent is in (made in bulk, as the chat bench does), sessions consented.
async function world(n, agents) {
	const { admin, tenant } = await newOrg('Cobrowse bench');
	const r = await admin.post('/api/sites', { name: 'Bench bank', allowed_origins: ['http://127.0.0.2'] });
	const site = r.json.site;
	const team = [];
	for (let i = 0; i < agents; i++)
		team.push(await staff(admin, `Agent ${i + 1}`));
	const rows = sql(`WITH cust AS (
		INSERT INTO customers (tenant_id, site_id, display_name)
		SELECT ${tenant}, ${site.id}, 'Bench customer ' || g FROM generate_series(1, ${n}) g
		RETURNING id
	), conv AS (
		INSERT INTO conversations (tenant_id, site_id, customer_id)
		SELECT ${tenant}, ${site.id}, id FROM cust ORDER BY id RETURNING id, customer_id
	), tok AS MATERIALIZED (
		SELECT conv.*, translate(rtrim(encode(sha256((gen_random_uuid()::text || conv.id)::bytea), 'base64'), '='),
		    '+/', '-_') AS token FROM conv
	), ws AS (
		INSERT INTO widget_sessions (token_hash, tenant_id, site_id, customer_id, origin, expires_at)
		SELECT sha256(token::bytea), ${tenant}, ${site.id}, customer_id, 'http://127.0.0.2', now() + interval '1 hour' FROM tok
	)
	SELECT token || ' ' || id FROM tok ORDER BY id`).split('\n').filter(Boolean).map((l) => l.split(' '));
	const customers = rows.map(([token, id], i) => ({ token, conv: Number(id), agent: team[i % agents] }));
	sql(`INSERT INTO conversation_staff (tenant_id, conversation_id, user_id) VALUES ` +
	    customers.map((c) => `(${tenant}, ${c.conv}, ${c.agent.id})`).join(','));
	const step = async (what, p) => {
		try {
			return await p;
		} catch (e) {
			throw new Error(`cobrowse bench: ${what}: ${e.message}`);
		}
	};
	for (const c of customers) {
		c.agent.ws.sendJson({ type: 'subscribe', conversation_id: c.conv, after_seq: 0 });
		await step('agent subscribe', c.agent.ws.next((f) => (f.type === 'subscribed' && f.conversation_id === c.conv) || f.type === 'error', 10000));
		c.ws = await step('customer socket', connect(BASE, { token: c.token }));
		await step('customer hello', c.ws.next((f) => f.type === 'hello', 10000));
		c.ws.sendJson({ type: 'subscribe', conversation_id: c.conv, after_seq: 0 });
		await step('customer subscribe', c.ws.next((f) => f.type === 'subscribed', 10000));
		c.agent.ws.sendJson({ type: 'cobrowse', op: 'request', conversation_id: c.conv });
		await step('request', c.ws.next((f) => f.type === 'cobrowse' && f.op === 'request', 10000));
		c.ws.sendJson({ type: 'cobrowse', op: 'consent', conversation_id: c.conv });
		await step('consent', c.ws.next((f) => f.type === 'cobrowse' && f.op === 'record', 10000));
	}
	for (const a of team)
		a.ws.frames.length = 0;
	return { team, customers };
}

// The snapshot through the server, in parts: first part sent → last part in.
async function relayMs(c, text, id) {
	const parts = [];
	for (let i = 0; i < text.length; i += PART)
		parts.push(text.slice(i, i + PART));
	const got = new Promise((ok) => {
		let n = 0;
		const on = (d) => {
			const f = JSON.parse(d.toString());
			if (f.type === 'cobrowse_data' && f.id === id && ++n === parts.length) {
				c.agent.ws.off('message', on);
				ok();
			}
		};
		c.agent.ws.on('message', on);
	});
	const t0 = performance.now();
	parts.forEach((data, part) => c.ws.sendJson({ type: 'cobrowse_data', conversation_id: c.conv, id, part,
	    parts: parts.length, snap: true, data }));
	await got;
	return performance.now() - t0;
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'] });
const w = await world(SESSIONS, 4);
const page = await browser.newPage();
for (const rows of [1000, 5000]) {
	const s = await snapshot(page, rows);
	if (s.text.includes('note 1"'))
		throw new Error('an input value was not masked');
	const relay = await relayMs(w.customers[0], s.text, rows);
	const replay = await replayMs(page, s.text, rows);
	out(`cobrowse_snapshot_${rows}_rows_bytes`, s.bytes, 'bytes');
	out(`cobrowse_snapshot_${rows}_rows_record`, (s.record_ms + s.json_ms).toFixed(1), 'ms');
	out(`cobrowse_snapshot_${rows}_rows_relay`, relay.toFixed(1), 'ms');
	out(`cobrowse_snapshot_${rows}_rows_replay`, replay.toFixed(1), 'ms');
	out(`cobrowse_first_view_${rows}_rows`, (s.record_ms + s.json_ms + relay + replay).toFixed(1), 'ms');
}
await browser.close();

// DOM changes under load: each customer, every 100 ms, one batch.
const lat = [];
let sent = 0;
for (const a of w.team) {
	a.ws.on('message', (d) => {
		const f = JSON.parse(d.toString());
		if (f.type === 'cobrowse_data' && f.id >= 1e6)
			lat.push(Date.now() - JSON.parse(f.data)[0].timestamp);
	});
}
let id = 1e6;
const end = Date.now() + SECONDS * 1000;
await new Promise((done) => {
	const timers = w.customers.map((c, i) => setTimeout(function tick() {
		if (Date.now() > end)
			return;
		const t = Date.now();
		c.ws.sendJson({ type: 'cobrowse_data', conversation_id: c.conv, id: id++, part: 0, parts: 1,
		    data: JSON.stringify([{ type: 3, timestamp: t, data: { source: 0, texts: [{ id: 40 + i, value: `Balance ${t}` }],
			attributes: [{ id: 41 + i, attributes: { class: `row row--${t % 7}` } }], removes: [], adds: [] } }]) });
		sent++;
		timers[i] = setTimeout(tick, 100);
	}, i));
	setTimeout(done, SECONDS * 1000 + 1500);
});
lat.sort((a, b) => a - b);
out('cobrowse_sessions', SESSIONS, 'sessions');
out('cobrowse_updates_per_second', Math.round(lat.length / SECONDS), 'updates/s');
out('cobrowse_updates_lost', sent - lat.length, 'updates');
out('cobrowse_update_latency_p50', pct(lat, 0.5), 'ms');
out('cobrowse_update_latency_p99', pct(lat, 0.99), 'ms');
for (const c of w.customers)
	c.ws.close();
for (const a of w.team)
	a.ws.close();
process.exit(0);
