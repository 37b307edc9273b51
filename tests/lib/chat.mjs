// Shared helpers for tests that chat: widget sessions, WebSockets with a
// queue of received frames, staff members signed in with a console socket.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import WebSocket from 'ws';
import { Client, sql, setPassword, roleId, unique } from './vb.mjs';

export const BASE = process.env.VB_TEST_URL;
export const HOST_ORIGIN = 'http://127.0.0.2:9';	// the bank's site, another origin

export async function siteFor(admin) {
	const r = await admin.post('/api/sites', { name: 'Bank', allowed_origins: [HOST_ORIGIN] });
	assert.equal(r.status, 201);
	return r.json.site;
}

// Tests open many chats from 127.0.0.1 within a minute. The per-address
// limit on new chats (60 a minute; tested on its own in hub.test.mjs) is not
// what they test, so its counter in the stack's private Redis is cleared.
export function resetChatRate() {
	const url = process.env.VB_REDIS_URL || '';
	if (url.startsWith('unix://'))
		execFileSync('redis-cli', ['-s', url.slice(7), 'DEL', 'vb:wsess:127.0.0.1']);
}

export async function widgetSession(key, origin = HOST_ORIGIN, base = BASE, extra = {}) {
	resetChatRate();
	const headers = { 'content-type': 'application/json' };
	if (origin) headers.origin = origin;
	const r = await fetch(base + '/api/widget/session', { method: 'POST', headers,
	    body: JSON.stringify({ site_key: key, ...extra }) });
	return { status: r.status, headers: r.headers, json: await r.json() };
}

// A WebSocket with a queue of received frames: ws.next(pred) takes the first
// matching frame (waiting for it), ws.none(pred) says none arrived.
export function connect(base, { token, cookie, origin = base } = {}) {
	const url = base.replace(/^http/, 'ws') + '/ws' + (token ? `?token=${token}` : '');
	const ws = new WebSocket(url, { origin, headers: cookie ? { cookie } : {} });
	ws.frames = [];
	ws.all = [];
	ws.waiters = [];
	ws.on('message', (d) => {
		const f = JSON.parse(d.toString());
		ws.frames.push(f);
		ws.all.push(f);
		ws.waiters = ws.waiters.filter((w) => !(w.pred(f) && (w.resolve(f), true)));
	});
	ws.next = (pred, ms = 5000) => {
		const hit = ws.frames.find(pred);
		if (hit) { ws.frames.splice(ws.frames.indexOf(hit), 1); return Promise.resolve(hit); }
		return new Promise((resolve, reject) => {
			const t = setTimeout(() => reject(new Error('timeout waiting; got ' + JSON.stringify(ws.frames))), ms);
			ws.waiters.push({ pred, resolve: (f) => { clearTimeout(t); ws.frames.splice(ws.frames.indexOf(f), 1); resolve(f); } });
		});
	};
	ws.sendJson = (o) => ws.send(JSON.stringify(o));
	return new Promise((resolve, reject) => {
		ws.once('open', () => resolve(ws));
		ws.once('unexpected-response', (req, res) => reject(Object.assign(new Error('HTTP ' + res.statusCode), { status: res.statusCode })));
		ws.once('error', reject);
	});
}

// A staff member with a built-in role, signed in, with a console socket.
export async function staff(admin, name, role = 'agent') {
	const email = unique(role) + '@x.test';
	const r = await admin.post('/api/users', { email, name, role_ids: [await roleId(admin, role)] });
	assert.equal(r.status, 201, r.text);
	setPassword(email, 'Staff-Password-123');
	const c = new Client();
	assert.equal((await c.login(email, 'Staff-Password-123')).status, 200);
	const ws = await connect(BASE, { cookie: c.cookieHeader() });
	await ws.next((f) => f.type === 'hello');
	return { id: r.json.user.id, name, client: c, ws };
}

// A customer who opened the widget and wrote first words (so is queued).
export async function customer(site, text = 'Hello, I need help') {
	const s = (await widgetSession(site.site_key)).json;
	const ws = await connect(BASE, { token: s.token });
	ws.sendJson({ type: 'subscribe', conversation_id: s.conversation_id, after_seq: 0 });
	await ws.next((f) => f.type === 'subscribed');
	if (text) {
		ws.sendJson({ type: 'send', conversation_id: s.conversation_id, client_id: unique('c'), text });
		await ws.next((f) => f.type === 'ack');
	}
	return { ...s, ws, conv: s.conversation_id };
}

// A queue that is the site's default, with a generous offer time.
export function defaultQueue(tenant, site, name = 'Web chat') {
	const q = sql(`INSERT INTO queues (tenant_id, name, offer_timeout_s) VALUES (${tenant}, '${name} ${unique('q')}', 60) RETURNING id`);
	sql(`UPDATE sites SET default_queue_id = ${q} WHERE id = ${site.id}`);
	return Number(q);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
