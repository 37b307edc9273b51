// Co-browsing over the real stack (issue 5): who may send which frame, the
// conversation record, the audit log, the per-site snapshot limit, settings.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { sql, newOrg } from '../lib/vb.mjs';
import { siteFor, staff as staff0, customer as customer0, defaultQueue, sleep } from '../lib/chat.mjs';

// Every socket opened here is closed at the end (the runner waits for them).
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

const error = (ws, code) => ws.next((f) => f.type === 'error' && (!code || f.code === code));
const data = (conv, extra = {}) => ({ type: 'cobrowse_data', conversation_id: conv, id: 1, part: 0, parts: 1,
    data: '[{"type":3,"data":{"source":1}}]', ...extra });
const audits = (tenant, action, conv) => Number(sql(`SELECT count(*) FROM audit_log WHERE tenant_id = ${tenant}
    AND action = '${action}' AND object_id = '${conv}'`));

// Ada asks, the customer consents: the customer's connection may send page frames.
async function started(ada, cust) {
	ada.ws.sendJson({ type: 'cobrowse', op: 'request', conversation_id: cust.conv });
	const req = await cust.ws.next((f) => f.type === 'cobrowse' && f.op === 'request');
	assert.equal(req.agent, 'Ada Agent');
	cust.ws.sendJson({ type: 'cobrowse', op: 'consent', conversation_id: cust.conv });
	return cust.ws.next((f) => f.type === 'cobrowse' && f.op === 'record');
}

test('page frames: only from the consenting customer, only to staff, logged refusals', async () => {
	const { tenant, site, team: [ada] } = await world();
	const cust = await customer(site);
	await answer(ada, cust.conv);

	// Not consented: refused (no session yet).
	cust.ws.sendJson(data(cust.conv));
	assert.equal((await error(cust.ws)).code, 'not_consented');
	// A customer cannot request, and staff cannot consent.
	cust.ws.sendJson({ type: 'cobrowse', op: 'request', conversation_id: cust.conv });
	assert.equal((await error(cust.ws)).code, 'invalid');
	ada.ws.sendJson({ type: 'cobrowse', op: 'consent', conversation_id: cust.conv });
	assert.equal((await error(ada.ws)).code, 'invalid');
	// Staff cannot send page data.
	ada.ws.sendJson(data(cust.conv));
	assert.equal((await error(ada.ws)).code, 'forbidden');

	const rec = await started(ada, cust);
	assert.equal(rec.max_snapshot_bytes, 8388608);
	assert.equal(rec.mask_selectors, '');
	await ada.ws.next((f) => f.type === 'cobrowse' && f.op === 'started');
	assert.equal(audits(tenant, 'cobrowse.consent', cust.conv), 1);

	// Now page data goes to the agent, rebuilt, and never back to a customer.
	cust.ws.sendJson(data(cust.conv, { sender: 'spoofed', snap: true, id: 7 }));
	const got = await ada.ws.next((f) => f.type === 'cobrowse_data');
	assert.deepEqual(Object.keys(got).sort(), ['conversation_id', 'data', 'id', 'part', 'parts', 'snap', 'type']);
	assert.equal(got.snap, true);
	assert.equal(got.data, '[{"type":3,"data":{"source":1}}]');
	await sleep(300);
	assert.ok(!cust.ws.all.some((f) => f.type === 'cobrowse_data'), 'page data never back to the customer');

	// Another customer's conversation: refused.
	const other = await customer(site);
	other.ws.sendJson(data(cust.conv));
	assert.equal((await error(other.ws)).code, 'not_consented');
	other.ws.sendJson({ type: 'cobrowse', op: 'consent', conversation_id: cust.conv });
	assert.equal((await error(other.ws)).code, 'not_found');

	// Bad frames: wrong types, part out of range, oversized, empty.
	for (const bad of [{ id: 'x' }, { part: 1, parts: 1 }, { parts: 0 }, { data: '' }, { data: 5 },
	    { data: 'x'.repeat(61441) }, { snap: 'yes' }, { conversation_id: -1 }]) {
		cust.ws.sendJson(data(cust.conv, bad));
		assert.match((await error(cust.ws)).code, /^(invalid|not_consented)$/, JSON.stringify(bad).slice(0, 80));
	}

	// The agent's pointer goes to the customer (and not back to the agent); bad ones refused.
	ada.ws.sendJson({ type: 'cobrowse_live', conversation_id: cust.conv, kind: 'pointer', x: 10.4, y: 20 });
	const p = await cust.ws.next((f) => f.type === 'cobrowse_live');
	assert.deepEqual(p, { type: 'cobrowse_live', conversation_id: cust.conv, kind: 'pointer', agent_id: ada.id, x: 10, y: 20 });
	for (const bad of [{ kind: 'pointer', x: 'a', y: 1 }, { kind: 'draw', points: [] }, { kind: 'draw', points: [[1]] },
	    { kind: 'push', url: 'javascript:alert(1)', name: 'x' }, { kind: 'push', name: 'x' }, { kind: 'eval' }]) {
		ada.ws.sendJson({ type: 'cobrowse_live', conversation_id: cust.conv, ...bad });
		assert.equal((await error(ada.ws)).code, 'invalid', JSON.stringify(bad));
	}
	// A customer cannot point or draw at the agent.
	cust.ws.sendJson({ type: 'cobrowse_live', conversation_id: cust.conv, kind: 'pointer', x: 1, y: 1 });
	assert.equal((await error(cust.ws)).code, 'forbidden');

	// Stop: the customer's connection can no longer send page data.
	cust.ws.sendJson({ type: 'cobrowse', op: 'stop', conversation_id: cust.conv });
	await ada.ws.next((f) => f.type === 'cobrowse' && f.op === 'ended');
	cust.ws.sendJson(data(cust.conv));
	assert.equal((await error(cust.ws)).code, 'not_consented');
	const events = sql(`SELECT string_agg(meta->'cobrowse'->>'event', ',' ORDER BY seq) FROM messages
	    WHERE conversation_id = ${cust.conv} AND meta ? 'cobrowse'`);
	assert.equal(events, 'requested,started,ended');
});

test('the agent stopping ends the customer connection\'s right to send', async () => {
	const { site, team: [ada] } = await world();
	const cust = await customer(site);
	await answer(ada, cust.conv);
	await started(ada, cust);
	ada.ws.sendJson({ type: 'cobrowse', op: 'stop', conversation_id: cust.conv });
	await cust.ws.next((f) => f.type === 'cobrowse' && f.op === 'ended');
	cust.ws.sendJson(data(cust.conv));
	assert.equal((await error(cust.ws)).code, 'not_consented');
	// A new page of the visit cannot resume an ended session.
	cust.ws.sendJson({ type: 'cobrowse', op: 'resume', conversation_id: cust.conv });
	assert.equal((await error(cust.ws)).code, 'no_cobrowse');
});

test('remote control: off by default, only with a grant, audited, revocable', async () => {
	const { admin, tenant, site, team: [ada, ben] } = await world(['Ada Agent', 'Ben Agent']);
	const cust = await customer(site);
	await answer(ada, cust.conv);
	await started(ada, cust);
	const click = { type: 'cobrowse_control', conversation_id: cust.conv, action: 'click', node: 12 };

	ada.ws.sendJson({ type: 'cobrowse', op: 'control_request', conversation_id: cust.conv });
	assert.equal((await error(ada.ws)).code, 'control_disabled');
	ada.ws.sendJson(click);
	assert.equal((await error(ada.ws)).code, 'no_grant');

	let r = await admin.put(`/api/sites/${site.id}/cobrowse`, { enabled: true, remote_control: true,
	    mask_selectors: '.balance, #iban', block_selectors: '[data-private]', max_snapshot_bytes: 1048576 });
	assert.equal(r.status, 200, r.text);
	assert.equal(audits(tenant, 'site.cobrowse', site.id), 1);

	// The customer cannot grant what nobody asked for.
	cust.ws.sendJson({ type: 'cobrowse', op: 'grant', conversation_id: cust.conv });
	assert.equal((await error(cust.ws)).code, 'no_request');
	ada.ws.sendJson({ type: 'cobrowse', op: 'control_request', conversation_id: cust.conv });
	await cust.ws.next((f) => f.type === 'cobrowse' && f.op === 'control_request');
	ada.ws.sendJson(click);
	assert.equal((await error(ada.ws)).code, 'no_grant');
	cust.ws.sendJson({ type: 'cobrowse', op: 'grant', conversation_id: cust.conv });
	await ada.ws.next((f) => f.type === 'cobrowse' && f.op === 'control' && f.control === 'granted');
	assert.equal(audits(tenant, 'cobrowse.control_granted', cust.conv), 1);

	ada.ws.sendJson({ ...click, action: 'fill', value: 'Lisbon' });
	const act = await cust.ws.next((f) => f.type === 'cobrowse_do');
	assert.equal(act.action, 'fill');
	assert.equal(act.node, 12);
	assert.equal(act.value, 'Lisbon');
	assert.equal(audits(tenant, 'cobrowse.control', cust.conv), 1);
	for (const bad of [{ action: 'type' }, { node: 0 }, { action: 'fill' }, { action: 'fill', value: 'x'.repeat(1001) }]) {
		ada.ws.sendJson({ ...click, ...bad });
		assert.equal((await error(ada.ws)).code, 'invalid', JSON.stringify(bad));
	}

	// Another agent (not in the chat) has no grant; nor does one who joins.
	ben.ws.sendJson(click);
	assert.equal((await error(ben.ws)).code, 'forbidden');

	// Revoked with one frame: refused again.
	cust.ws.sendJson({ type: 'cobrowse', op: 'revoke', conversation_id: cust.conv });
	await ada.ws.next((f) => f.type === 'cobrowse' && f.op === 'control' && f.control === 'none');
	ada.ws.sendJson(click);
	assert.equal((await error(ada.ws)).code, 'no_grant');
	assert.equal(audits(tenant, 'cobrowse.control_revoked', cust.conv), 1);
	assert.equal(audits(tenant, 'cobrowse.control', cust.conv), 1);
});

test('the customer may offer to share from the widget: active at once, audited', async () => {
	const { tenant, site, team: [ada] } = await world();
	const cust = await customer(site);
	await answer(ada, cust.conv);
	cust.ws.sendJson({ type: 'cobrowse', op: 'start', conversation_id: cust.conv });
	const rec = await cust.ws.next((f) => f.type === 'cobrowse' && f.op === 'record');
	assert.equal(rec.conversation_id, cust.conv);
	await ada.ws.next((f) => f.type === 'cobrowse' && f.op === 'started');
	assert.equal(audits(tenant, 'cobrowse.consent', cust.conv), 1);
	cust.ws.sendJson(data(cust.conv));
	await ada.ws.next((f) => f.type === 'cobrowse_data');
	// A second one while it runs: refused.
	cust.ws.sendJson({ type: 'cobrowse', op: 'start', conversation_id: cust.conv });
	assert.equal((await error(cust.ws)).code, 'cobrowse_live');
});

test('snapshot limit per site: a clear message to both sides', async () => {
	const { admin, site, team: [ada] } = await world();
	let r = await admin.put(`/api/sites/${site.id}/cobrowse`, { enabled: true, remote_control: false,
	    mask_selectors: '', block_selectors: '', max_snapshot_bytes: 65536 });
	assert.equal(r.status, 200, r.text);
	const cust = await customer(site);
	await answer(ada, cust.conv);
	const rec = await started(ada, cust);
	assert.equal(rec.max_snapshot_bytes, 65536);
	const part = 'x'.repeat(40000);
	cust.ws.sendJson(data(cust.conv, { id: 3, part: 0, parts: 2, snap: true, data: part }));
	cust.ws.sendJson(data(cust.conv, { id: 3, part: 1, parts: 2, snap: true, data: part }));
	assert.equal((await error(cust.ws)).code, 'snapshot_too_large');
	const note = await ada.ws.next((f) => f.type === 'cobrowse' && f.op === 'too_large');
	assert.equal(note.limit, 65536);
	await sleep(200);
	assert.equal(ada.ws.all.filter((f) => f.type === 'cobrowse_data').length, 1, 'only the first part went through');
	// Incremental frames (not a snapshot) still go through.
	cust.ws.sendJson(data(cust.conv, { id: 4 }));
	await ada.ws.next((f) => f.type === 'cobrowse_data' && f.id === 4);
});

test('settings: defaults, validation, permissions; co-browsing off refuses requests', async () => {
	const { admin, site, team: [ada] } = await world();
	let r = await admin.get(`/api/sites/${site.id}/cobrowse`);
	assert.equal(r.status, 200);
	assert.deepEqual(r.json.cobrowse, { enabled: true, mask_selectors: '', block_selectors: '',
	    remote_control: false, max_snapshot_bytes: 8388608 });
	for (const bad of [{ max_snapshot_bytes: 10 }, { max_snapshot_bytes: 'big' }, { remote_control: 'yes' },
	    { mask_selectors: 'a{color:red}' }, { block_selectors: '<script>' }, { mask_selectors: 'x'.repeat(2001) }]) {
		r = await admin.put(`/api/sites/${site.id}/cobrowse`, { enabled: true, ...bad });
		assert.equal(r.status, 422, JSON.stringify(bad) + r.text);
	}
	r = await admin.put('/api/sites/999999999/cobrowse', { enabled: true });
	assert.equal(r.status, 404);
	const other = await newOrg();
	r = await other.admin.get(`/api/sites/${site.id}/cobrowse`);
	assert.equal(r.status, 404, 'another organisation\'s site');
	r = await ada.client.get(`/api/sites/${site.id}/cobrowse`);
	assert.equal(r.status, 403);

	r = await admin.put(`/api/sites/${site.id}/cobrowse`, { enabled: false });
	assert.equal(r.status, 200, r.text);
	const cust = await customer(site);
	await answer(ada, cust.conv);
	ada.ws.sendJson({ type: 'cobrowse', op: 'request', conversation_id: cust.conv });
	assert.equal((await error(ada.ws)).code, 'cobrowse_disabled');
});

test('asset proxy: allowed origins only, while the session runs, no redirects, no private hosts, types and size', async () => {
	const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
	const server = http.createServer((req, res) => {
		const send = (type, body, code = 200, extra = {}) => {
			res.writeHead(code, { 'content-type': type, ...extra });
			res.end(body);
		};
		if (req.url === '/site.css') return send('text/css; charset=utf-8', 'h1{background:url(/logo.png)}');
		if (req.url === '/logo.png') return send('image/png', PNG);
		if (req.url === '/page.html') return send('text/html', '<script>alert(1)</script>');
		if (req.url === '/moved') return send('text/plain', '', 302, { location: 'http://169.254.169.254/latest/meta-data' });
		if (req.url === '/big.png') return send('image/png', Buffer.alloc(6 * 1024 * 1024));
		return send('text/plain', 'no', 404);
	});
	await new Promise((r) => server.listen(0, '127.0.0.2', r));
	const port = server.address().port;
	const local = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/css' }); res.end('p{}'); });
	await new Promise((r) => local.listen(0, '127.0.0.1', r));
	const lport = local.address().port;
	try {
		const { admin, tenant } = await newOrg();
		let r = await admin.post('/api/sites', { name: 'Bank', allowed_origins: ['http://127.0.0.2:9',
		    `http://127.0.0.2:${port}`, `http://localhost:${lport}`] });
		assert.equal(r.status, 201, r.text);
		const site = r.json.site;
		defaultQueue(tenant, site);
		const ada = await staff(admin, 'Ada Agent');
		const cust = await customer(site);
		const get = (u, c = cust.conv, who = ada) => who.client.get(`/api/cobrowse/proxy?conversation_id=${c}&url=${encodeURIComponent(u)}`);
		const H = `http://127.0.0.2:${port}`;

		// Not in the chat yet, then no session: refused.
		assert.equal((await get(`${H}/site.css`)).status, 403);
		await answer(ada, cust.conv);
		r = await get(`${H}/site.css`);
		assert.equal(r.status, 409);
		assert.equal(r.json.error.code, 'no_cobrowse');
		await started(ada, cust);

		r = await ada.client.get(`/api/cobrowse/proxy?conversation_id=${cust.conv}&url=${encodeURIComponent(`${H}/site.css`)}`);
		assert.equal(r.status, 200, r.text);
		assert.equal(r.headers.get('content-type'), 'text/css');
		assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
		assert.match(r.headers.get('content-security-policy'), /sandbox/);
		// Its references go through the proxy too (cobrowse2.test.mjs has more).
		assert.equal(r.text, `h1{background:url("/api/cobrowse/proxy?conversation_id=${cust.conv}&url=${encodeURIComponent(`${H}/logo.png`)}")}`);
		r = await ada.client.get(`/api/cobrowse/proxy?conversation_id=${cust.conv}&url=${encodeURIComponent(`${H}/logo.png`)}`);
		assert.equal(r.status, 200);
		assert.equal(r.headers.get('content-type'), 'image/png');

		const code = async (u) => { const x = await get(u); return `${x.status} ${x.json?.error?.code}`; };
		assert.equal(await code('http://example.com/a.css'), '403 origin_not_allowed');
		assert.equal(await code(`http://127.0.0.2:${port + 1}/a.css`), '403 origin_not_allowed');
		assert.equal(await code(`${H}/moved`), '502 redirect_refused');
		assert.equal(await code(`${H}/page.html`), '415 type_not_allowed');
		assert.equal(await code(`${H}/big.png`), '413 too_large');
		assert.equal(await code(`${H}/missing.css`), '502 upstream_status');
		assert.equal(await code(`http://localhost:${lport}/a.css`), '403 private_address');
		assert.equal(await code('file:///etc/passwd'), '400 invalid');
		assert.equal(await code('javascript:alert(1)'), '400 invalid');
		// Another organisation's agent, or a conversation id that is not theirs.
		const other = await newOrg();
		const eve = await staff(other.admin, 'Eve Agent');
		assert.equal((await get(`${H}/site.css`, cust.conv, eve)).status, 403);
		// After the session: refused again.
		ada.ws.sendJson({ type: 'cobrowse', op: 'stop', conversation_id: cust.conv });
		await ada.ws.next((f) => f.type === 'cobrowse' && f.op === 'ended');
		assert.equal((await get(`${H}/site.css`)).status, 409);
	} finally {
		server.close();
		local.close();
	}
});
