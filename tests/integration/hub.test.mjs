// The real-time hub: widget sessions, the WebSocket protocol, persistence
// before acknowledgement, resume, tenancy, bad frames, and a second Kore node
// sharing PostgreSQL and Redis.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Client, sql, setPassword, newOrg, roleId, unique } from '../lib/vb.mjs';
import { BASE, HOST_ORIGIN, siteFor, widgetSession, connect, resetChatRate } from '../lib/chat.mjs';

async function supervisor(admin) {
	const email = unique('sup') + '@x.test';
	await admin.post('/api/users', { email, name: 'Sam Supervisor', role_ids: [await roleId(admin, 'supervisor')] });
	setPassword(email, 'Supervisor-Pass-1');
	const c = new Client();
	assert.equal((await c.login(email, 'Supervisor-Pass-1')).status, 200);
	return c;
}

test('widget sessions: site key and Origin allow-list decide; CORS answers the page', async () => {
	const { admin } = await newOrg();
	const site = await siteFor(admin);
	const pre = await fetch(BASE + '/api/widget/session', { method: 'OPTIONS', headers: { origin: HOST_ORIGIN } });
	assert.equal(pre.status, 204);
	assert.equal(pre.headers.get('access-control-allow-origin'), HOST_ORIGIN);
	assert.match(pre.headers.get('access-control-allow-headers'), /content-type/);

	const ok = await widgetSession(site.site_key);
	assert.equal(ok.status, 201);
	assert.equal(ok.headers.get('access-control-allow-origin'), HOST_ORIGIN);
	assert.match(ok.json.token, /^[\w-]{43}$/);
	assert.ok(ok.json.conversation_id > 0 && ok.json.customer_id > 0);
	assert.match(ok.json.correlation_id, /^[0-9a-f-]{36}$/);

	// The correlation id brings the same customer back on a later visit (A8).
	const again = await widgetSession(site.site_key, HOST_ORIGIN, BASE, { correlation_id: ok.json.correlation_id });
	assert.equal(again.json.customer_id, ok.json.customer_id);
	assert.notEqual(again.json.conversation_id, ok.json.conversation_id);

	const before = sql('SELECT count(*) FROM customers');
	assert.equal((await widgetSession('pk_nosuchkey000000000000')).json.error.code, 'unknown_site');
	const wrong = await widgetSession(site.site_key, 'https://evil.example');
	assert.equal(wrong.status, 403);
	assert.equal(wrong.json.error.code, 'origin_not_allowed');
	assert.equal((await widgetSession(site.site_key, null)).status, 403);
	assert.equal((await widgetSession(site.site_key, HOST_ORIGIN, BASE, { correlation_id: 'x' })).status, 422);
	assert.equal(sql('SELECT count(*) FROM customers'), before, 'refusals created nothing');
	assert.equal(sql(`SELECT count(*) FROM widget_sessions WHERE token_hash = sha256('${ok.json.token}'::bytea)`), '1');
});

test('WebSocket: token or staff session required, and only from our own pages', async () => {
	const plain = await fetch(BASE + '/ws');
	assert.equal(plain.status, 426);
	assert.equal((await plain.json()).error.code, 'upgrade_required');
	await assert.rejects(connect(BASE), (e) => e.status === 401);
	await assert.rejects(connect(BASE, { token: 'x'.repeat(43) }), (e) => e.status === 401);
	const { admin } = await newOrg();
	const site = await siteFor(admin);
	const s = await widgetSession(site.site_key);
	await assert.rejects(connect(BASE, { token: s.json.token, origin: 'https://evil.example' }), (e) => e.status === 403);
	// A signed-in administrator with the console permission may connect; the
	// same cookie from another site may not (cross-site WebSocket hijacking).
	await assert.rejects(connect(BASE, { cookie: admin.cookieHeader(), origin: HOST_ORIGIN }), (e) => e.status === 403);
	const ws = await connect(BASE, { cookie: admin.cookieHeader() });
	assert.equal((await ws.next((f) => f.type === 'hello')).type, 'hello');
	ws.close();
});

test('a message is stored before its ack, numbered, and a resend is not a duplicate', async () => {
	const { admin } = await newOrg();
	const site = await siteFor(admin);
	const s = (await widgetSession(site.site_key)).json;
	const ws = await connect(BASE, { token: s.token });
	ws.sendJson({ type: 'subscribe', conversation_id: s.conversation_id, after_seq: 0 });
	assert.equal((await ws.next((f) => f.type === 'subscribed')).last_seq, 0);

	ws.sendJson({ type: 'send', conversation_id: s.conversation_id, client_id: 'c-1', text: 'Hello <b>bank</b> 👋' });
	const ack = await ws.next((f) => f.type === 'ack');
	assert.equal(ack.seq, 1);
	assert.equal(ack.client_id, 'c-1');
	assert.equal(sql(`SELECT body FROM messages WHERE conversation_id = ${s.conversation_id} AND seq = 1`), 'Hello <b>bank</b> 👋');
	const echo = await ws.next((f) => f.type === 'message');
	assert.equal(echo.text, 'Hello <b>bank</b> 👋');
	assert.equal(echo.sender.kind, 'customer');

	ws.sendJson({ type: 'send', conversation_id: s.conversation_id, client_id: 'c-1', text: 'Hello <b>bank</b> 👋' });
	assert.equal((await ws.next((f) => f.type === 'ack')).seq, 1, 'same client id, same message');
	ws.sendJson({ type: 'send', conversation_id: s.conversation_id, client_id: 'c-2', text: 'Second' });
	assert.equal((await ws.next((f) => f.type === 'ack' && f.client_id === 'c-2')).seq, 2);
	assert.equal(sql(`SELECT count(*) FROM messages WHERE conversation_id = ${s.conversation_id}`), '2');
	ws.close();

	// Resume after a reconnect: everything after the last seen seq, in order.
	const ws2 = await connect(BASE, { token: s.token });
	ws2.sendJson({ type: 'subscribe', conversation_id: s.conversation_id, after_seq: 1 });
	const replay = await ws2.next((f) => f.type === 'message');
	assert.equal(replay.seq, 2);
	assert.equal(replay.text, 'Second');
	assert.equal((await ws2.next((f) => f.type === 'subscribed')).last_seq, 2);
	assert.ok(!ws2.frames.some((f) => f.type === 'message' && f.seq === 1));
	ws2.close();
});

test("nobody reaches another customer's or another organisation's conversation", async () => {
	const a = await newOrg('A');
	const b = await newOrg('B');
	const siteA = await siteFor(a.admin);
	const siteB = await siteFor(b.admin);
	const c1 = (await widgetSession(siteA.site_key)).json;
	const c2 = (await widgetSession(siteA.site_key)).json;
	const cB = (await widgetSession(siteB.site_key)).json;
	const ws = await connect(BASE, { token: c1.token });
	for (const conv of [c2.conversation_id, cB.conversation_id, 999999999]) {
		ws.sendJson({ type: 'subscribe', conversation_id: conv, after_seq: 0 });
		assert.equal((await ws.next((f) => f.type === 'error')).code, 'not_found');
		ws.sendJson({ type: 'send', conversation_id: conv, client_id: 'x' + conv, text: 'hi' });
		assert.equal((await ws.next((f) => f.type === 'error')).code, 'not_found');
	}
	assert.equal(sql(`SELECT count(*) FROM messages WHERE conversation_id IN (${c2.conversation_id}, ${cB.conversation_id})`), '0');
	// A supervisor of organisation B cannot follow organisation A's chat.
	const supB = await supervisor(b.admin);
	const sws = await connect(BASE, { cookie: supB.cookieHeader() });
	sws.sendJson({ type: 'subscribe', conversation_id: c1.conversation_id, after_seq: 0 });
	assert.equal((await sws.next((f) => f.type === 'error')).code, 'not_found');
	ws.close();
	sws.close();
});

// New chats per address: 60 a minute, then 429 with Retry-After; the window
// runs from the first one (it is not pushed back by each refused attempt).
test('new chats from one address are limited to 60 a minute', async () => {
	const { admin } = await newOrg();
	const site = await siteFor(admin);
	resetChatRate();
	const post = () => fetch(BASE + '/api/widget/session', { method: 'POST',
	    headers: { 'content-type': 'application/json', origin: HOST_ORIGIN },
	    body: JSON.stringify({ site_key: site.site_key }) });
	for (let i = 0; i < 60; i++)
		assert.equal((await post()).status, 201, `chat ${i + 1} of 60`);
	const r = await post();
	assert.equal(r.status, 429);
	assert.equal(r.headers.get('retry-after'), '60');
	assert.equal((await r.json()).error.code, 'too_many_attempts');
	const sock = process.env.VB_REDIS_URL.replace(/^unix:\/\//, '');
	await new Promise((res) => setTimeout(res, 2100));
	assert.equal((await post()).status, 429);
	const ttl = Number(execFileSync('redis-cli', ['-s', sock, 'TTL', 'vb:wsess:127.0.0.1']).toString());
	assert.ok(ttl > 0 && ttl <= 58, `a refused attempt does not push the window back (ttl ${ttl})`);
	resetChatRate();
});

// Sends arriving together are stored together (one transaction, one
// subtransaction each): a refused one must not take its neighbours with it,
// and each conversation keeps its order. Two organisations share batches.
test('a burst from many customers of two organisations: each stored once, in order; foreign ids refused alone', async () => {
	const a = await newOrg('A');
	const b = await newOrg('B');
	const sites = [await siteFor(a.admin), await siteFor(b.admin)];
	const custs = [];
	for (let i = 0; i < 16; i++) {
		const s = (await widgetSession(sites[i % 2].site_key)).json;
		custs.push({ s, ws: await connect(BASE, { token: s.token }) });
	}
	const foreign = custs[1].s.conversation_id;	// organisation B's
	for (let k = 0; k < 5; k++) {
		for (const [i, c] of custs.entries()) {
			c.ws.sendJson({ type: 'send', conversation_id: c.s.conversation_id, client_id: `b${i}-${k}`, text: `burst ${i}.${k}` });
			if (i === 0 && k === 2)
				c.ws.sendJson({ type: 'send', conversation_id: foreign, client_id: 'steal', text: 'not mine' });
		}
	}
	for (const [i, c] of custs.entries()) {
		for (let k = 0; k < 5; k++) {
			const ack = await c.ws.next((f) => f.type === 'ack' && f.client_id === `b${i}-${k}`);
			assert.equal(ack.seq, k + 1, `customer ${i} message ${k} acked in order`);
		}
	}
	assert.equal((await custs[0].ws.next((f) => f.type === 'error' && f.client_id === 'steal')).code, 'not_found');
	const ids = custs.map((c) => c.s.conversation_id).join(',');
	assert.equal(sql(`SELECT count(*) FROM messages WHERE conversation_id IN (${ids})`), String(16 * 5));
	assert.equal(sql(`SELECT count(*) FROM messages WHERE client_id = 'steal' AND conversation_id IN (${ids})`), '0');
	const wrong = sql(`SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
	    WHERE m.conversation_id IN (${ids}) AND (m.body NOT LIKE 'burst %.' || (m.seq - 1)::text
	    OR m.tenant_id <> c.tenant_id)`);
	assert.equal(wrong, '0', 'each conversation numbered in the order its customer sent');
	for (const c of custs)
		c.ws.close();
});

// A staff connection follows up to 64 conversations; its own channels (offers,
// the live board, the follow-up list) never take one of those places.
test('a supervisor follows 64 conversations on one connection, then gets a clear refusal', async () => {
	const { admin } = await newOrg();
	const site = await siteFor(admin);
	const sup = await supervisor(admin);
	const ws = await connect(BASE, { cookie: sup.cookieHeader() });
	await ws.next((f) => f.type === 'hello');
	const convs = [];
	for (let i = 0; i < 65; i++)
		convs.push((await widgetSession(site.site_key)).json.conversation_id);
	for (const c of convs.slice(0, 64)) {
		ws.sendJson({ type: 'subscribe', conversation_id: c, after_seq: 0 });
		await ws.next((f) => f.type === 'subscribed' && f.conversation_id === c);
	}
	ws.sendJson({ type: 'subscribe', conversation_id: convs[64], after_seq: 0 });
	assert.equal((await ws.next((f) => f.type === 'error')).code, 'too_many');
	ws.close();
});

test('frames that are not our JSON, oversized text and floods get clear errors', async () => {
	const { admin } = await newOrg();
	const site = await siteFor(admin);
	const s = (await widgetSession(site.site_key)).json;
	const ws = await connect(BASE, { token: s.token });
	ws.send(Buffer.from([1, 2, 3]), { binary: true });
	assert.equal((await ws.next((f) => f.type === 'error')).code, 'bad_frame');
	ws.send('not json');
	assert.equal((await ws.next((f) => f.type === 'error')).code, 'bad_json');
	ws.send('[1,2]');
	assert.equal((await ws.next((f) => f.type === 'error')).code, 'bad_json');
	ws.sendJson({ type: 'launch_missiles' });
	assert.equal((await ws.next((f) => f.type === 'error')).code, 'unknown_type');
	ws.sendJson({ type: 'send', conversation_id: s.conversation_id, client_id: 'big', text: 'x'.repeat(4001) });
	assert.equal((await ws.next((f) => f.type === 'error')).code, 'invalid');
	ws.sendJson({ type: 'send', conversation_id: s.conversation_id, client_id: 'bad id!', text: 'x' });
	assert.equal((await ws.next((f) => f.type === 'error')).code, 'invalid');
	ws.sendJson({ type: 'typing', conversation_id: s.conversation_id });
	assert.equal((await ws.next((f) => f.type === 'error')).code, 'not_subscribed');
	for (let i = 0; i < 40; i++)
		ws.sendJson({ type: 'send', conversation_id: s.conversation_id, client_id: 'f' + i, text: 'flood ' + i });
	const limited = await ws.next((f) => f.type === 'error' && f.code === 'rate_limited');
	assert.match(limited.message, /too fast/);
	await new Promise((r) => setTimeout(r, 500));
	const stored = Number(sql(`SELECT count(*) FROM messages WHERE conversation_id = ${s.conversation_id}`));
	assert.ok(stored >= 15 && stored <= 25, `burst stored, the rest refused (${stored})`);
	ws.sendJson({ type: 'ping' });
	assert.equal((await ws.next((f) => f.type === 'pong')).type, 'pong');
	ws.close();
});

// A second Kore node on its own port, sharing PostgreSQL and Redis.
let nodeB;
after(() => { if (nodeB) nodeB.kill('SIGTERM'); });

function freePort() {
	return new Promise((res) => {
		const srv = net.createServer().listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => res(p)); });
	});
}

async function startNodeB() {
	const port = await freePort();
	const dir = fs.mkdtempSync(path.join(process.env.VB_VAR, 'nodeb-'));
	const base = `http://127.0.0.1:${port}`;
	// Node B needs no media relay or TURN server of its own; the first
	// node's relay settings must not leak into it (it would take over the
	// relay's control socket), and nothing it starts may hold this test's
	// output open (node --test would wait for it forever).
	const env = { ...process.env, VB_VAR: dir, VB_PORT: String(port), VB_PUBLIC_URL: base,
	    VB_PRIVATE_PG: '0', VB_PRIVATE_REDIS: '0', VB_MEDIA: '0', VB_TURN: '0' };
	delete env.VB_MEDIA_SOCK;
	delete env.VB_MEDIA_CONF;
	const log = fs.openSync(path.join(dir, 'server.log'), 'w');
	nodeB = spawn(path.join(process.env.VB_ROOT, 'conf/bin/vb-run'), [], {
		env, stdio: ['ignore', log, log], detached: false });
	for (let i = 0; i < 100; i++) {
		try { if ((await fetch(base + '/healthz')).status === 200) return base; } catch { /* starting */ }
		await new Promise((r) => setTimeout(r, 200));
	}
	throw new Error('node B did not start');
}

test('two nodes: a customer on one and a supervisor on the other chat normally, also across a Redis restart', async () => {
	const baseB = await startNodeB();
	const { admin } = await newOrg();
	const site = await siteFor(admin);
	const s = (await widgetSession(site.site_key, HOST_ORIGIN, baseB)).json;
	const cust = await connect(baseB, { token: s.token });
	const sup = await supervisor(admin);
	const sws = await connect(BASE, { cookie: sup.cookieHeader() });
	cust.sendJson({ type: 'subscribe', conversation_id: s.conversation_id, after_seq: 0 });
	sws.sendJson({ type: 'subscribe', conversation_id: s.conversation_id, after_seq: 0 });
	await cust.next((f) => f.type === 'subscribed');
	await sws.next((f) => f.type === 'subscribed');

	cust.sendJson({ type: 'send', conversation_id: s.conversation_id, client_id: 'n1', text: 'From node B' });
	assert.equal((await sws.next((f) => f.type === 'message')).text, 'From node B');
	sws.sendJson({ type: 'send', conversation_id: s.conversation_id, client_id: 'n2', text: 'Answer from node A' });
	const got = await cust.next((f) => f.type === 'message' && f.seq === 2);
	assert.equal(got.sender.kind, 'staff');
	assert.equal(got.sender.name, 'Sam Supervisor');
	sws.sendJson({ type: 'typing', conversation_id: s.conversation_id });
	assert.equal((await cust.next((f) => f.type === 'typing')).sender.kind, 'staff');

	// Redis goes away: messages are still stored and acknowledged; the other
	// node catches up by resuming once Redis is back.
	const sock = process.env.VB_VAR + '/run/redis.sock';
	execFileSync('redis-cli', ['-s', sock, 'shutdown', 'nosave']);
	try {
		await new Promise((r) => setTimeout(r, 300));
		cust.sendJson({ type: 'send', conversation_id: s.conversation_id, client_id: 'n3', text: 'While Redis is down' });
		assert.equal((await cust.next((f) => f.type === 'ack' && f.client_id === 'n3')).seq, 3);
	} finally {
		execFileSync(path.join(process.env.VB_ROOT, 'conf/bin/vb-services'), ['start']);
		// Every worker of both nodes reconnects within its 1 s timer.
		for (let ok = 0, i = 0; ok < 6 && i < 60; i++) {
			const codes = await Promise.all([BASE, baseB].map(async (b) => (await fetch(b + '/healthz')).status));
			ok = codes.every((c) => c === 200) ? ok + 1 : 0;
			await new Promise((r) => setTimeout(r, 100));
		}
	}
	sws.sendJson({ type: 'subscribe', conversation_id: s.conversation_id, after_seq: 2 });
	assert.equal((await sws.next((f) => f.type === 'message' && f.seq === 3)).text, 'While Redis is down');
	const transcript = sql(`SELECT string_agg(seq || ':' || body, '|' ORDER BY seq) FROM messages WHERE conversation_id = ${s.conversation_id}`);
	assert.equal(transcript, '1:From node B|2:Answer from node A|3:While Redis is down');
	cust.close();
	sws.close();
});

test('the chat panel may be framed only by its site’s allowed origins', async () => {
	const { admin } = await newOrg();
	const site = await siteFor(admin);
	const r = await fetch(`${BASE}/widget/panel?site=${site.site_key}`);
	assert.equal(r.status, 200);
	const csp = r.headers.get('content-security-policy');
	assert.match(csp, new RegExp(`frame-ancestors ${HOST_ORIGIN.replace(/\./g, '\\.')}$`));
	assert.match(csp, /script-src 'self' 'nonce-[\w-]+'/);
	assert.equal(r.headers.get('x-frame-options'), null);
	assert.equal((await fetch(`${BASE}/widget/panel?site=pk_nosuchkey00000000000000`)).status, 404);
	assert.equal((await fetch(`${BASE}/widget/panel`)).status, 404);
	assert.equal((await fetch(`${BASE}/widget/panel?site=<script>`)).status, 404);
	// Ordinary pages still refuse every frame.
	assert.match((await fetch(`${BASE}/login`)).headers.get('content-security-policy'), /frame-ancestors 'none'/);
});

test('the demo bank origin serves the demo page with the widget tags, and nothing else', async () => {
	const demo = BASE.replace('127.0.0.1', '127.0.0.2');
	const r = await fetch(demo + '/');
	assert.equal(r.status, 200);
	const html = await r.text();
	const key = sql("SELECT site_key FROM sites WHERE name = 'Harbour Bank demo'");
	assert.ok(html.includes(`data-vb-site="${key}"`), 'the site key is in the page');
	assert.ok(html.includes(`${BASE}/widget/loader.js`), 'the loader comes from the main origin');
	assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
	assert.match(r.headers.get('content-security-policy'), new RegExp(`script-src ${BASE.replace(/\./g, '\\.')};`));
	assert.equal(sql(`SELECT count(*) FROM sites WHERE name = 'Harbour Bank demo' AND '${demo}' = ANY (allowed_origins)`), '1');
	assert.equal((await fetch(demo + '/admin/users')).status, 404);
	assert.equal((await fetch(demo + '/api/auth/login', { method: 'POST', body: '{}' })).status, 405);
	assert.equal((await fetch(demo + '/static/demo/demo.css')).status, 200);
	const loader = await fetch(BASE + '/widget/loader.js');
	assert.equal(loader.status, 200);
	assert.match(loader.headers.get('content-type'), /^text\/javascript/);
	assert.match(loader.headers.get('cache-control'), /max-age=300/);
});

test('routing through the hub: first words queue the chat, offers ring one agent at a time, accept joins', async () => {
	const { admin, tenant } = await newOrg();
	const site = await siteFor(admin);
	const q = sql(`INSERT INTO queues (tenant_id, name, offer_timeout_s) VALUES (${tenant}, 'Web chat', 60) RETURNING id`);
	sql(`UPDATE sites SET default_queue_id = ${q} WHERE id = ${site.id}`);
	const agentRole = await roleId(admin, 'agent');
	const agents = [];
	for (const name of ['Ada Agent', 'Ben Agent']) {
		const email = unique('ag') + '@x.test';
		const r = await admin.post('/api/users', { email, name, role_ids: [agentRole] });
		setPassword(email, 'Agent-Password-123');
		const c = new Client();
		assert.equal((await c.login(email, 'Agent-Password-123')).status, 200);
		const ws = await connect(BASE, { cookie: c.cookieHeader() });
		agents.push({ id: r.json.user.id, ws });
	}
	const [ada, ben] = agents;
	ada.ws.sendJson({ type: 'state', state: 'ready' });
	await ada.ws.next((f) => f.type === 'state');

	const s = (await widgetSession(site.site_key)).json;
	const cust = await connect(BASE, { token: s.token });
	cust.sendJson({ type: 'subscribe', conversation_id: s.conversation_id, after_seq: 0 });
	await cust.next((f) => f.type === 'subscribed');
	assert.equal(sql(`SELECT routing FROM conversations WHERE id = ${s.conversation_id}`), 'none', 'not queued before any words');
	cust.sendJson({ type: 'send', conversation_id: s.conversation_id, client_id: 'q1', text: 'I need help with my card' });
	await cust.next((f) => f.type === 'ack');

	const offer = await ada.ws.next((f) => f.type === 'offer');
	assert.equal(offer.conversation_id, s.conversation_id);
	ada.ws.sendJson({ type: 'decline', conversation_id: s.conversation_id });
	await ada.ws.next((f) => f.type === 'declined');
	// Nobody else is ready yet; once Ben is, the offer goes to him, not back to Ada.
	ben.ws.sendJson({ type: 'state', state: 'ready' });
	const offer2 = await ben.ws.next((f) => f.type === 'offer');
	assert.equal(offer2.conversation_id, s.conversation_id);
	ben.ws.sendJson({ type: 'accept', conversation_id: s.conversation_id });
	const backlog = await ben.ws.next((f) => f.type === 'message' && f.sender.kind === 'customer');
	assert.equal(backlog.text, 'I need help with my card');
	await ben.ws.next((f) => f.type === 'accepted');
	const joined = await cust.next((f) => f.type === 'message' && f.sender.kind === 'system');
	assert.equal(joined.text, 'Ben Agent joined the chat');

	ben.ws.sendJson({ type: 'send', conversation_id: s.conversation_id, client_id: 'b1', text: 'Hello, Ben here.' });
	assert.equal((await cust.next((f) => f.type === 'message' && f.sender.kind === 'staff')).sender.name, 'Ben Agent');
	assert.ok(!ada.ws.frames.some((f) => f.type === 'offer' && f.conversation_id === s.conversation_id), 'never re-offered to Ada');
	// Ada cannot take it now, nor a customer answer offers.
	ada.ws.sendJson({ type: 'accept', conversation_id: s.conversation_id });
	assert.equal((await ada.ws.next((f) => f.type === 'error')).code, 'offer_gone');
	cust.sendJson({ type: 'accept', conversation_id: s.conversation_id });
	assert.equal((await cust.next((f) => f.type === 'error')).code, 'forbidden');

	ben.ws.sendJson({ type: 'finish', conversation_id: s.conversation_id });
	await ben.ws.next((f) => f.type === 'finished');
	assert.equal(sql(`SELECT status || ':' || routing FROM conversations WHERE id = ${s.conversation_id}`), 'closed:assigned');
	assert.equal(sql(`SELECT state FROM agent_states WHERE user_id = ${ben.id}`), 'wrapup');
	cust.sendJson({ type: 'send', conversation_id: s.conversation_id, client_id: 'q2', text: 'Thanks' });
	assert.equal((await cust.next((f) => f.type === 'error')).code, 'closed');
	for (const a of agents) a.ws.close();
	cust.close();
});

test('waiting customers hear their place in the queue as it moves (W5)', async () => {
	const { admin, tenant } = await newOrg();
	const site = await siteFor(admin);
	const q = sql(`INSERT INTO queues (tenant_id, name) VALUES (${tenant}, 'Cards') RETURNING id`);
	sql(`UPDATE sites SET default_queue_id = ${q} WHERE id = ${site.id}`);
	const custs = [];
	for (const text of ['First in line', 'Second in line']) {
		const s = (await widgetSession(site.site_key)).json;
		const ws = await connect(BASE, { token: s.token });
		ws.sendJson({ type: 'subscribe', conversation_id: s.conversation_id, after_seq: 0 });
		await ws.next((f) => f.type === 'subscribed');
		ws.sendJson({ type: 'send', conversation_id: s.conversation_id, client_id: 'w1', text });
		await ws.next((f) => f.type === 'ack');
		custs.push({ s, ws });
	}
	const [one, two] = custs;
	assert.equal((await one.ws.next((f) => f.type === 'queue')).position, 1);
	const second = await two.ws.next((f) => f.type === 'queue');
	assert.equal(second.position, 2);
	assert.ok(second.estimated_wait_s > 0);
	// An agent gets ready: the first is offered, the second moves up.
	const email = unique('ag') + '@x.test';
	await admin.post('/api/users', { email, name: 'Quick Agent', role_ids: [await roleId(admin, 'agent')] });
	setPassword(email, 'Agent-Password-123');
	const c = new Client();
	await c.login(email, 'Agent-Password-123');
	const agent = await connect(BASE, { cookie: c.cookieHeader() });
	agent.sendJson({ type: 'state', state: 'ready' });
	assert.equal((await agent.next((f) => f.type === 'offer')).conversation_id, one.s.conversation_id);
	assert.equal((await two.ws.next((f) => f.type === 'queue')).position, 1);
	// The last told order is kept per queue (0030): the offered one has
	// left it, the waiting one is first.
	assert.equal(sql(`SELECT array_to_string(ids, ',') FROM queue_order WHERE queue_id = ${q}`),
	    `${two.s.conversation_id}`);
	// Declined, the first comes back to the queue (the second is offered
	// to the agent instead) and is told its place again.
	agent.sendJson({ type: 'decline', conversation_id: one.s.conversation_id });
	await agent.next((f) => f.type === 'declined');
	assert.equal((await agent.next((f) => f.type === 'offer')).conversation_id, two.s.conversation_id);
	assert.equal((await one.ws.next((f) => f.type === 'queue')).position, 1);
	assert.equal(sql(`SELECT array_to_string(ids, ',') FROM queue_order WHERE queue_id = ${q}`),
	    `${one.s.conversation_id}`);
	for (const x of [one.ws, two.ws, agent]) x.close();
});
