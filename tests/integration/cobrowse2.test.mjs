// Co-browsing, the remaining parts (issue 5): pointer and drawing frames only
// from staff in the chat, stored sessions (setting, storage, replay,
// permissions, retention) and the asset proxy's refusals.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { sql, newOrg } from '../lib/vb.mjs';
import { HOST_ORIGIN, siteFor, staff as staff0, customer as customer0, defaultQueue, sleep } from '../lib/chat.mjs';

const sockets = [];
const staff = async (...a) => { const s = await staff0(...a); sockets.push(s.ws); return s; };
const customer = async (...a) => { const c = await customer0(...a); sockets.push(c.ws); return c; };
after(() => sockets.forEach((w) => w.close()));

async function world(agents = ['Ada Agent']) {
	const { admin, tenant } = await newOrg();
	const site = await siteFor(admin);
	defaultQueue(tenant, site);
	const team = [];
	for (const name of agents)
		team.push(await staff(admin, name));
	return { admin, tenant, site, team };
}

async function answer(agent, conv) {
	agent.ws.sendJson({ type: 'state', state: 'ready' });
	await agent.ws.next((f) => f.type === 'state');
	await agent.ws.next((f) => f.type === 'offer' && f.conversation_id === conv, 8000);
	agent.ws.sendJson({ type: 'accept', conversation_id: conv });
	await agent.ws.next((f) => f.type === 'accepted' && f.conversation_id === conv);
}

async function started(ada, cust) {
	ada.ws.sendJson({ type: 'cobrowse', op: 'request', conversation_id: cust.conv });
	await cust.ws.next((f) => f.type === 'cobrowse' && f.op === 'request');
	cust.ws.sendJson({ type: 'cobrowse', op: 'consent', conversation_id: cust.conv });
	return cust.ws.next((f) => f.type === 'cobrowse' && f.op === 'record');
}

const error = (ws, code) => ws.next((f) => f.type === 'error' && (!code || f.code === code));
const audits = (tenant, action, id) => Number(sql(`SELECT count(*) FROM audit_log WHERE tenant_id = ${tenant}
    AND action = '${action}' AND object_id = '${id}'`));
const live = (conv, extra) => ({ type: 'cobrowse_live', conversation_id: conv, ...extra });

test('pointer, drawing and pushes reach the customer only from staff in the chat', async () => {
	const { admin, site, team: [ada, ben] } = await world(['Ada Agent', 'Ben Agent']);
	const cust = await customer(site);
	await answer(ada, cust.conv);
	await started(ada, cust);
	const sup = await staff(admin, 'Sam Supervisor', 'supervisor');

	// A silent monitor: forbidden for every kind, and nothing reaches the customer.
	sup.ws.sendJson({ type: 'subscribe', conversation_id: cust.conv, after_seq: 0 });
	await sup.ws.next((f) => f.type === 'subscribed');
	for (const k of [{ kind: 'pointer', x: 5, y: 5 }, { kind: 'click', x: 5, y: 5 }, { kind: 'draw', points: [[1, 1], [2, 2]] },
	    { kind: 'clear' }, { kind: 'push', url: 'https://example.com/terms.pdf', name: 'Terms' }]) {
		sup.ws.sendJson(live(cust.conv, k));
		assert.equal((await error(sup.ws)).code, 'forbidden', k.kind);
	}
	await sleep(300);
	assert.ok(!cust.ws.all.some((f) => f.type === 'cobrowse_live'), 'nothing from the monitor reached the customer');
	assert.ok(!ada.ws.all.some((f) => f.type === 'cobrowse_live'), 'nor the agent');

	// The assigned agent: reaches the customer.
	ada.ws.sendJson(live(cust.conv, { kind: 'pointer', x: 7, y: 8 }));
	assert.equal((await cust.ws.next((f) => f.type === 'cobrowse_live')).agent_id, ada.id);

	// A colleague: refused until invited and joined, then reaches the customer.
	ben.ws.sendJson({ type: 'subscribe', conversation_id: cust.conv, after_seq: 0 });
	await ben.ws.next((f) => f.type === 'subscribed' || f.type === 'error');
	ben.ws.sendJson(live(cust.conv, { kind: 'pointer', x: 1, y: 1 }));
	assert.match((await error(ben.ws)).code, /^(forbidden|not_subscribed)$/);
	ada.ws.sendJson({ type: 'invite', conversation_id: cust.conv, user_id: ben.id });
	await ben.ws.next((f) => f.type === 'invite');
	ben.ws.sendJson({ type: 'join', conversation_id: cust.conv });
	await ben.ws.next((f) => f.type === 'joined' || (f.type === 'subscribed' && f.conversation_id === cust.conv));
	await sleep(400);	// a refusal is remembered for 300 ms
	ben.ws.sendJson(live(cust.conv, { kind: 'draw', points: [[3, 4], [5, 6]] }));
	const d = await cust.ws.next((f) => f.type === 'cobrowse_live' && f.agent_id === ben.id);
	assert.deepEqual(d.points, [[3, 4], [5, 6]]);

	// The supervisor barges: now in the chat, may point.
	sup.ws.sendJson({ type: 'barge', conversation_id: cust.conv });
	await sup.ws.next((f) => f.type === 'barged');
	await sleep(400);
	sup.ws.sendJson(live(cust.conv, { kind: 'pointer', x: 9, y: 9 }));
	assert.equal((await cust.ws.next((f) => f.type === 'cobrowse_live' && f.agent_id === sup.id)).x, 9);
});

const chunksOf = (conv) => sql(`SELECT string_agg(encode(k.data, 'base64'), ',' ORDER BY k.seq) FROM cobrowse_chunks k
    JOIN cobrowse_recordings r ON r.id = k.recording_id WHERE r.conversation_id = ${conv}`);
const inflated = (conv) => (chunksOf(conv) || '').split(',').filter(Boolean)
    .map((b) => zlib.inflateSync(Buffer.from(b, 'base64')).toString('utf8')).join('');

async function until(fn, ms = 4000) {
	const end = Date.now() + ms;
	for (;;) {
		const v = fn();
		if (v || Date.now() > end)
			return v;
		await sleep(100);
	}
}

test('stored sessions: off by default, a per-site audited setting, replay with permission, retention', async () => {
	const { admin, tenant, site, team: [ada, ben] } = await world(['Ada Agent', 'Ben Agent']);
	const path = `/api/sites/${site.id}/cobrowse-storage`;
	let r = await admin.get(path);
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json.storage, { enabled: false, retention_days: 30 });
	for (const bad of [{ enabled: 'yes' }, { retention_days: 7 }, { enabled: true, retention_days: 0 },
	    { enabled: true, retention_days: 3651 }, { enabled: true, retention_days: 'x' }, { enabled: true, retention_days: 1.5 }]) {
		r = await admin.put(path, bad);
		assert.equal(r.status, 422, JSON.stringify(bad) + r.text);
	}
	assert.equal((await admin.put('/api/sites/999999999/cobrowse-storage', { enabled: true })).status, 404);
	const other = await newOrg();
	assert.equal((await other.admin.get(path)).status, 404, 'another organisation\'s site');
	assert.equal((await other.admin.put(path, { enabled: true })).status, 404);
	assert.equal((await ada.client.put(path, { enabled: true })).status, 403);
	assert.equal(audits(tenant, 'site.cobrowse_storage', site.id), 0, 'refusals changed nothing');

	// Off: nothing is stored, and the record frame says so.
	const c1 = await customer(site);
	await answer(ada, c1.conv);
	const rec1 = await started(ada, c1);
	assert.equal(rec1.store, false);
	c1.ws.sendJson({ type: 'cobrowse_data', conversation_id: c1.conv, id: 1, part: 0, parts: 1, snap: true, data: '[{"type":2}]' });
	await ada.ws.next((f) => f.type === 'cobrowse_data' && f.conversation_id === c1.conv);
	c1.ws.sendJson({ type: 'cobrowse', op: 'stop', conversation_id: c1.conv });
	await ada.ws.next((f) => f.type === 'cobrowse' && f.op === 'ended' && f.conversation_id === c1.conv);
	await sleep(500);
	assert.equal(sql(`SELECT count(*) FROM cobrowse_recordings WHERE conversation_id = ${c1.conv}`), '0');
	const sid1 = Number(sql(`SELECT id FROM cobrowse_sessions WHERE conversation_id = ${c1.conv}`));
	assert.equal((await ada.client.get(`/api/cobrowse/sessions/${sid1}/recording`)).status, 404);

	// On, 7 days: audited.
	r = await admin.put(path, { enabled: true, retention_days: 7 });
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json.storage, { enabled: true, retention_days: 7 });
	assert.equal(audits(tenant, 'site.cobrowse_storage', site.id), 1);
	assert.equal(sql(`SELECT after->>'retention_days' FROM audit_log WHERE tenant_id = ${tenant}
	    AND action = 'site.cobrowse_storage'`), '7');

	const c2 = await customer(site);
	await answer(ada, c2.conv);
	const rec2 = await started(ada, c2);
	assert.equal(rec2.store, true);
	const snap = JSON.stringify([{ type: 4, data: { href: 'https://bank.test/', width: 800, height: 600 } },
	    { type: 2, data: { node: { type: 0, childNodes: [], id: 1 }, initialOffset: { top: 0, left: 0 } } }]);
	const half = Math.ceil(snap.length / 2);
	c2.ws.sendJson({ type: 'cobrowse_data', conversation_id: c2.conv, id: 1, part: 0, parts: 2, snap: true, data: snap.slice(0, half) });
	c2.ws.sendJson({ type: 'cobrowse_data', conversation_id: c2.conv, id: 1, part: 1, parts: 2, snap: true, data: snap.slice(half) });
	c2.ws.sendJson({ type: 'cobrowse_data', conversation_id: c2.conv, id: 2, part: 0, parts: 1, data: '[{"type":3,"data":{"source":5,"text":"*****"}}]' });
	await ada.ws.next((f) => f.type === 'cobrowse_data' && f.id === 2);
	c2.ws.sendJson({ type: 'cobrowse', op: 'stop', conversation_id: c2.conv });
	await ada.ws.next((f) => f.type === 'cobrowse' && f.op === 'ended' && f.conversation_id === c2.conv);
	const text = await until(() => inflated(c2.conv));
	assert.equal(text, `1 0 2\t${snap.slice(0, half)}\n1 1 2\t${snap.slice(half)}\n2 0 1\t[{"type":3,"data":{"source":5,"text":"*****"}}]\n`);
	const sid = Number(sql(`SELECT session_id FROM cobrowse_recordings WHERE conversation_id = ${c2.conv}`));
	assert.equal(sql(`SELECT count(*) FROM messages WHERE conversation_id = ${c2.conv}
	    AND meta->'cobrowse'->>'stored' = 'true' AND meta->'cobrowse'->>'session_id' = '${sid}'`), '2', 'started and ended lines say stored');
	// Data of a session that is over: refused (not stored).
	c2.ws.sendJson({ type: 'cobrowse_data', conversation_id: c2.conv, id: 3, part: 0, parts: 1, data: '[]' });
	assert.equal((await error(c2.ws)).code, 'not_consented');

	// Replay: the agent of the chat and a supervisor (recordings.read); audited.
	r = await ada.client.get(`/api/cobrowse/sessions/${sid}/recording`);
	assert.equal(r.status, 200, r.text);
	assert.equal(r.text, text);
	assert.match(r.headers.get('content-type'), /^text\/plain/);
	assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
	assert.equal(audits(tenant, 'cobrowse.replay', c2.conv), 1);
	const sup = await staff(admin, 'Sam Supervisor', 'supervisor');
	assert.equal((await sup.client.get(`/api/cobrowse/sessions/${sid}/recording`)).status, 200);
	// An agent who was not in the chat: forbidden. Another organisation: not found.
	r = await ben.client.get(`/api/cobrowse/sessions/${sid}/recording`);
	assert.equal(r.status, 403, r.text);
	const eve = await staff(other.admin, 'Eve Supervisor', 'supervisor');
	assert.equal((await eve.client.get(`/api/cobrowse/sessions/${sid}/recording`)).status, 404);
	assert.equal((await other.admin.get(`/api/cobrowse/sessions/${sid}/recording`)).status, 404);
	assert.equal((await sup.client.get('/api/cobrowse/sessions/999999999/recording')).status, 404);
	assert.equal((await sup.client.get('/api/cobrowse/sessions/abc/recording')).status, 404);
	assert.equal(audits(tenant, 'cobrowse.replay', c2.conv), 2);
	// The replay's assets: the proxy serves a stored session's chat to those
	// who may replay it (past the permission, a foreign origin is what stops
	// it here), not to others, and not a chat with nothing stored.
	const proxy = async (who, conv) => {
		const x = await who.client.get(`/api/cobrowse/proxy?conversation_id=${conv}&url=${encodeURIComponent('http://elsewhere.test/logo.png')}`);
		return `${x.status} ${x.json?.error?.code}`;
	};
	assert.equal(await proxy(ada, c2.conv), '403 origin_not_allowed');
	assert.equal(await proxy(sup, c2.conv), '403 origin_not_allowed');
	assert.equal(await proxy(ben, c2.conv), '403 forbidden');
	assert.equal(await proxy(ada, c1.conv), '409 no_cobrowse');
	assert.equal(await proxy(ben, c1.conv), '403 forbidden');

	// A connection that goes away flushes what it held.
	const c3 = await customer(site);
	await answer(ada, c3.conv);
	await started(ada, c3);
	c3.ws.sendJson({ type: 'cobrowse_data', conversation_id: c3.conv, id: 9, part: 0, parts: 1, snap: true, data: '[{"type":2,"data":{}}]' });
	await ada.ws.next((f) => f.type === 'cobrowse_data' && f.conversation_id === c3.conv);
	c3.ws.close();
	assert.equal(await until(() => inflated(c3.conv)), '9 0 1\t[{"type":2,"data":{}}]\n');

	// Retention: the sweep deletes what is older than the site's days, chunks too.
	sql(`UPDATE cobrowse_recordings SET created_at = now() - interval '8 days' WHERE conversation_id = ${c2.conv}`);
	sql(`UPDATE cobrowse_recordings SET created_at = now() - interval '6 days' WHERE conversation_id = ${c3.conv}`);
	assert.ok(Number(sql('SELECT vb_cobrowse_sweep()')) >= 1);
	assert.equal(sql(`SELECT count(*) FROM cobrowse_recordings WHERE conversation_id = ${c2.conv}`), '0');
	assert.equal(sql(`SELECT count(*) FROM cobrowse_chunks k WHERE NOT EXISTS (SELECT 1 FROM cobrowse_recordings r
	    WHERE r.id = k.recording_id)`), '0');
	assert.equal(sql(`SELECT count(*) FROM cobrowse_recordings WHERE conversation_id = ${c3.conv}`), '1', 'younger kept');
	assert.equal((await sup.client.get(`/api/cobrowse/sessions/${sid}/recording`)).status, 404);
});

test('asset proxy: no cookies or credentials go out, style sheets go through the proxy, slow sites time out', async () => {
	const seen = [];
	const server = http.createServer((req, res) => {
		seen.push({ url: req.url, headers: req.headers });
		if (req.url === '/site.css') {
			res.writeHead(200, { 'content-type': 'text/css' });
			return res.end('@import "theme.css";\nh1{background:url(img/logo.png)} p{x:url("https://cdn.test/a.woff2")} q{y:url(data:image/gif;base64,R0lGOD==)}');
		}
		if (req.url === '/img/logo.png') {
			res.writeHead(200, { 'content-type': 'image/png' });
			return res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
		}
		if (req.url === '/slow.css')
			return;	// never answers: the proxy's time limit ends it
		res.writeHead(404, { 'content-type': 'text/plain' });
		res.end('no');
	});
	await new Promise((r) => server.listen(0, '127.0.0.2', r));
	const H = `http://127.0.0.2:${server.address().port}`;
	try {
		const { admin, tenant } = await newOrg();
		let r = await admin.post('/api/sites', { name: 'Bank', allowed_origins: [HOST_ORIGIN, H] });
		assert.equal(r.status, 201, r.text);
		const site = r.json.site;
		defaultQueue(tenant, site);
		const ada = await staff(admin, 'Ada Agent');
		const cust = await customer(site);
		await answer(ada, cust.conv);
		await started(ada, cust);
		const P = `/api/cobrowse/proxy?conversation_id=${cust.conv}&url=`;
		const get = (u, headers) => ada.client.get(P + encodeURIComponent(u), { headers });

		const slow = get(`${H}/slow.css`);
		r = await get(`${H}/site.css`, { authorization: 'Bearer agent-secret', 'x-forwarded-for': '10.0.0.1' });
		assert.equal(r.status, 200, r.text);
		const enc = (u) => P + encodeURIComponent(u);
		assert.equal(r.text, `@import url("${enc(`${H}/theme.css`)}");\nh1{background:url("${enc(`${H}/img/logo.png`)}")} ` +
		    `p{x:url("${enc('https://cdn.test/a.woff2')}")} q{y:url("data:image/gif;base64,R0lGOD==")}`);
		// The rewritten reference works through the proxy.
		r = await ada.client.get(enc(`${H}/img/logo.png`));
		assert.equal(r.status, 200);
		assert.equal(r.headers.get('content-type'), 'image/png');
		// The agent's cookies (the console session) and headers never reach the site.
		assert.ok(seen.length >= 2);
		for (const s of seen) {
			for (const h of ['cookie', 'authorization', 'x-csrf-token', 'x-forwarded-for', 'referer', 'origin'])
				assert.equal(s.headers[h], undefined, `${h} sent to the site for ${s.url}`);
		}
		// Credentials in the URL: refused before anything is fetched.
		const before = seen.length;
		for (const u of [`http://user:pw@127.0.0.2:${server.address().port}/site.css`,
		    `http://user@127.0.0.2:${server.address().port}/site.css`]) {
			r = await get(u);
			assert.equal(`${r.status} ${r.json?.error?.code}`, '400 invalid', u);
		}
		assert.equal(seen.length, before);
		// The time limit.
		const t0 = Date.now();
		r = await slow;
		assert.equal(`${r.status} ${r.json?.error?.code}`, '502 fetch_failed');
		assert.ok(Date.now() - t0 < 20000);
	} finally {
		server.closeAllConnections?.();
		server.close();
	}
});
