// Messages left when nobody can answer (W18) and the agents' follow-up list
// of those and of abandoned contacts (A7), over the real stack: availability
// in the session answer and GET /api/widget/status, the offline form's
// endpoint with every bad input (nothing changes), the rate limit, tenancy,
// the list, the transcript and the audited "done".
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { sql, newOrg, unique } from '../lib/vb.mjs';
import { BASE, siteFor, staff, widgetSession, defaultQueue, sleep, connect } from '../lib/chat.mjs';

async function offline(token, body, raw) {
	const headers = { 'content-type': 'application/json' };
	if (token) headers.authorization = 'Bearer ' + token;
	const r = await fetch(BASE + '/api/widget/offline', { method: 'POST', headers,
	    body: raw ?? JSON.stringify(body) });
	return { status: r.status, json: await r.json().catch(() => null) };
}

async function status(token) {
	const r = await fetch(BASE + '/api/widget/status', { headers: token ? { authorization: 'Bearer ' + token } : {} });
	return { status: r.status, json: await r.json() };
}

async function world() {
	const { admin, tenant } = await newOrg();
	const site = await siteFor(admin);
	const queue = defaultQueue(tenant, site);
	return { admin, tenant, site, queue };
}

const snapshot = (conv) => sql(`SELECT routing || '|' || last_seq || '|' || coalesce(followup_at::text, '-')
    || '|' || coalesce(c.display_name, '-') || '|' || coalesce(c.email, '-')
    FROM conversations v JOIN customers c ON c.id = v.customer_id WHERE v.id = ${conv}`);

test('availability: no agent at a console, then one; a closed queue', async () => {
	const { admin, tenant, site, queue } = await world();
	const s = (await widgetSession(site.site_key)).json;
	assert.equal(s.agents, false, 'nobody is at a console yet');
	assert.equal(s.open, true);
	let st = await status(s.token);
	assert.equal(st.status, 200);
	assert.deepEqual([st.json.open, st.json.agents], [true, false]);

	const ada = await staff(admin, 'Ada Agent');
	ada.ws.sendJson({ type: 'state', state: 'ready' });
	await sleep(300);
	assert.equal((await status(s.token)).json.agents, true);
	// Seen long ago is gone, whatever the state says.
	sql(`UPDATE agent_states SET seen_at = now() - interval '5 minutes' WHERE user_id = ${ada.id}`);
	assert.equal((await status(s.token)).json.agents, false);
	sql(`UPDATE agent_states SET seen_at = now() WHERE user_id = ${ada.id}`);

	// Business hours that never match now: closed.
	sql(`UPDATE queues SET hours_enabled = true WHERE id = ${queue}`);
	st = await status(s.token);
	assert.deepEqual([st.json.open, st.json.agents], [false, true]);
	assert.equal((await widgetSession(site.site_key)).json.open, false);

	assert.equal((await status(null)).status, 401);
	assert.equal((await status('x'.repeat(40))).status, 401);
	ada.ws.close();
	void tenant;
});

test('an offline message is stored, kept for follow-up, never queued, listed and audited when done', async () => {
	const { admin, tenant, site } = await world();
	const s = (await widgetSession(site.site_key)).json;
	const r = await offline(s.token, { conversation_id: s.conversation_id, name: 'Nora Field',
	    email: 'nora@example.com', message: 'Please call me about my mortgage.', client_id: 'off-1' });
	assert.equal(r.status, 201, JSON.stringify(r.json));
	assert.equal(r.json.message.text, 'Please call me about my mortgage.');
	assert.equal(r.json.message.sender.kind, 'customer');
	assert.deepEqual(r.json.message.meta.offline, { name: 'Nora Field', email: 'nora@example.com' });
	assert.match(snapshot(s.conversation_id), /^followup\|1\|\d.*\|Nora Field\|nora@example\.com$/);

	// A resend with the same client id stores nothing twice.
	const again = await offline(s.token, { conversation_id: s.conversation_id, name: 'Nora Field',
	    email: 'nora@example.com', message: 'Please call me about my mortgage.', client_id: 'off-1' });
	assert.equal(again.json.message.seq, 1);
	assert.equal(sql(`SELECT count(*) FROM messages WHERE conversation_id = ${s.conversation_id}`), '1');

	// Writing in the chat afterwards does not queue it.
	const ada = await staff(admin, 'Ada Agent');
	ada.ws.sendJson({ type: 'state', state: 'ready' });
	await sleep(300);
	assert.equal(sql(`SELECT routing FROM conversations WHERE id = ${s.conversation_id}`), 'followup');
	assert.ok(!ada.ws.frames.some((f) => f.type === 'offer'));

	// The agents' list.
	const list = await ada.client.get('/api/console/followups');
	assert.equal(list.status, 200);
	const item = list.json.items.find((i) => i.id === s.conversation_id);
	assert.ok(item, JSON.stringify(list.json));
	assert.equal(item.kind, 'offline');
	assert.equal(item.customer, 'Nora Field');
	assert.equal(item.email, 'nora@example.com');
	assert.equal(item.preview, 'Please call me about my mortgage.');
	assert.equal(item.handled_by, null);
	// The transcript is open to agents.
	const tr = await ada.client.get(`/api/console/conversations/${s.conversation_id}/transcript`);
	assert.equal(tr.status, 200);
	assert.equal(tr.json.messages[0].text, 'Please call me about my mortgage.');

	// Done: audited once, shown as handled by the agent.
	const done = await ada.client.post(`/api/console/followups/${s.conversation_id}/done`);
	assert.equal(done.status, 200, done.text);
	assert.equal(done.json.item.handled_by.name, 'Ada Agent');
	await ada.client.post(`/api/console/followups/${s.conversation_id}/done`);
	assert.equal(sql(`SELECT count(*) FROM audit_log WHERE tenant_id = ${tenant} AND action = 'followup.done'
	    AND object_id = '${s.conversation_id}' AND actor_id = ${ada.id}`), '1');
	const after = (await ada.client.get('/api/console/followups')).json.items.find((i) => i.id === s.conversation_id);
	assert.equal(after.handled_by.id, ada.id);

	// Without CSRF, or as an unknown id: refused, nothing written.
	assert.equal((await ada.client.post(`/api/console/followups/${s.conversation_id}/done`, {}, { csrf: false })).status, 403);
	assert.equal((await ada.client.post('/api/console/followups/999999999/done')).status, 404);
	ada.ws.close();
});

test("the customer's existing name and e-mail address are kept", async () => {
	const { site } = await world();
	const s = (await widgetSession(site.site_key)).json;
	sql(`UPDATE customers SET display_name = 'Known Name', email = 'known@example.com' WHERE id = ${s.customer_id}`);
	const r = await offline(s.token, { conversation_id: s.conversation_id, name: 'Other',
	    email: 'other@example.com', message: 'Hello' });
	assert.equal(r.status, 201);
	assert.match(snapshot(s.conversation_id), /\|Known Name\|known@example\.com$/);
});

test('bad input is refused and changes nothing', async () => {
	const { site } = await world();
	const other = await world();
	const s = (await widgetSession(site.site_key)).json;
	const foreign = (await widgetSession(other.site.site_key)).json;
	const good = { conversation_id: s.conversation_id, name: 'Ann', email: 'ann@example.com', message: 'Hi' };
	const before = snapshot(s.conversation_id);
	const cases = [
	    [null, good, 401, 'unauthenticated'],
	    ['not a token!', good, 401, 'unauthenticated'],
	    ['a'.repeat(40), good, 401, 'unauthenticated'],
	    [s.token, { ...good, email: 'not-an-address' }, 422, 'invalid_email'],
	    [s.token, { ...good, email: 'ann@' }, 422, 'invalid_email'],
	    [s.token, { ...good, email: 42 }, 422, 'invalid'],
	    [s.token, { ...good, message: 'x'.repeat(4001) }, 422, 'invalid'],
	    [s.token, { ...good, message: '' }, 422, 'invalid'],
	    [s.token, { ...good, message: '   ' }, 422, 'invalid'],
	    [s.token, { ...good, name: 'n'.repeat(201) }, 422, 'invalid'],
	    [s.token, { ...good, name: undefined }, 422, 'invalid'],
	    [s.token, { ...good, conversation_id: 'x' }, 422, 'invalid'],
	    [s.token, { ...good, conversation_id: -4 }, 422, 'invalid'],
	    [s.token, { ...good, subject_id: 'x' }, 422, 'invalid'],
	    [s.token, { ...good, client_id: 'has spaces' }, 422, 'invalid'],
	    // Another organisation's conversation with this token, and this
	    // conversation with another organisation's token.
	    [s.token, { ...good, conversation_id: foreign.conversation_id }, 404, 'not_found'],
	    [foreign.token, good, 404, 'not_found'],
	    // A subject of another site.
	    [s.token, { ...good, subject_id: 999999999 }, 422, 'invalid_subject'],
	];
	for (const [tok, body, code, err] of cases) {
		const r = await offline(tok, body);
		assert.equal(r.status, code, `${JSON.stringify(body).slice(0, 80)} → ${JSON.stringify(r.json)}`);
		assert.equal(r.json.error.code, err);
	}
	assert.equal((await offline(s.token, null, '{not json')).status, 400);
	assert.equal(snapshot(s.conversation_id), before);
	assert.equal(snapshot(foreign.conversation_id).split('|')[0], 'none');

	// An answered chat is not turned into a message.
	// (Attempts count towards the address's limit: another address here.)
	const fresh = { ...good, email: 'ann2@example.com' };
	sql(`UPDATE conversations SET routing = 'assigned' WHERE id = ${s.conversation_id}`);
	assert.equal((await offline(s.token, fresh)).status, 409);
	sql(`UPDATE conversations SET routing = 'none', status = 'closed' WHERE id = ${s.conversation_id}`);
	assert.equal((await offline(s.token, fresh)).status, 409);
	assert.equal(sql(`SELECT count(*) FROM messages WHERE conversation_id = ${s.conversation_id}`), '0');
});

test('rate limit per e-mail address', async () => {
	const { site } = await world();
	const email = unique('flood') + '@example.com';
	const codes = [];
	for (let i = 0; i < 7; i++) {
		const s = (await widgetSession(site.site_key)).json;
		codes.push((await offline(s.token, { conversation_id: s.conversation_id, name: 'F',
		    email, message: 'again ' + i })).status);
	}
	assert.deepEqual(codes, [201, 201, 201, 201, 201, 429, 429]);
	assert.equal(sql(`SELECT count(*) FROM messages WHERE body LIKE 'again %' AND meta->'offline'->>'email' = '${email}'`), '5');
});

test('abandoned contacts are listed; other organisations see nothing of them', async () => {
	const { admin, tenant, site, queue } = await world();
	const other = await world();
	const s = (await widgetSession(site.site_key)).json;
	// The customer wrote, waited, and left the queue.
	sql(`SELECT set_config('vb.tenant_id', '${tenant}', false); SELECT vb_message_add(${s.conversation_id}, 'customer', ${s.customer_id}, 'a1', 'Is anyone there?');
	    SELECT vb_acd_enqueue(${s.conversation_id}, ${queue}, 0, NULL); SELECT vb_acd_abandon(${s.conversation_id})`);
	const ada = await staff(admin, 'Ada Agent');
	const item = (await ada.client.get('/api/console/followups')).json.items.find((i) => i.id === s.conversation_id);
	assert.ok(item);
	assert.equal(item.kind, 'abandoned');
	assert.equal(item.preview, 'Is anyone there?');
	assert.equal((await ada.client.get(`/api/console/conversations/${s.conversation_id}/transcript`)).status, 200);

	const bob = await staff(other.admin, 'Bob Other');
	assert.ok(!(await bob.client.get('/api/console/followups')).json.items.some((i) => i.id === s.conversation_id));
	assert.equal((await bob.client.post(`/api/console/followups/${s.conversation_id}/done`)).status, 404);
	assert.equal((await bob.client.get(`/api/console/conversations/${s.conversation_id}/transcript`)).status, 404);
	assert.equal(sql(`SELECT handled_at IS NULL FROM conversations WHERE id = ${s.conversation_id}`), 't');
	// A customer without the console permission cannot list.
	assert.equal((await fetch(BASE + '/api/console/followups')).status, 401);
	ada.ws.close();
	bob.ws.close();
});

// A site in token mode (EdDSA) and a signer for one customer of the host site.
async function tokenSite(admin, site) {
	const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
	const r = await admin.put(`/api/sites/${site.id}/auth`, { mode: 'token', alg: 'EdDSA',
	    public_key: publicKey.export({ format: 'jwk' }).x });
	assert.equal(r.status, 200, r.text);
	const b64u = (b) => Buffer.from(b).toString('base64url');
	return (sub) => {
		const now = Math.floor(Date.now() / 1000);
		const input = b64u(JSON.stringify({ alg: 'EdDSA', typ: 'JWT' })) + '.' + b64u(JSON.stringify({ sub,
		    name: 'Tom Signed', email: 'tom@example.com', iat: now, exp: now + 120, jti: crypto.randomUUID(),
		    aud: site.site_key }));
		return input + '.' + b64u(crypto.sign(null, Buffer.from(input), privateKey));
	};
}

async function read(token, body) {
	const r = await fetch(BASE + '/api/widget/read', { method: 'POST', headers: {
	    'content-type': 'application/json', ...(token ? { authorization: 'Bearer ' + token } : {}) },
	    body: JSON.stringify(body) });
	return { status: r.status, json: await r.json() };
}

test("a signed-in customer continues their thread; the agent's later answer persists; unread until read", async () => {
	const { admin, tenant, site } = await world();
	const sign = await tokenSite(admin, site);
	const ext = unique('cust');
	const first = (await widgetSession(site.site_key, undefined, undefined, { token: sign(ext) })).json;
	assert.equal(first.unread, 0);
	assert.equal((await offline(first.token, { conversation_id: first.conversation_id, name: 'Tom',
	    email: 'tom@example.com', message: 'Can you raise my card limit?' })).status, 201);

	// The agent answers the follow-up by message: joins (audited once), writes.
	const ada = await staff(admin, 'Ada Agent');
	let r = await ada.client.post(`/api/console/followups/${first.conversation_id}/reply`);
	assert.equal(r.status, 200, r.text);
	await ada.client.post(`/api/console/followups/${first.conversation_id}/reply`);
	assert.equal(sql(`SELECT count(*) FROM audit_log WHERE tenant_id = ${tenant} AND action = 'followup.reply'
	    AND object_id = '${first.conversation_id}'`), '1');
	ada.ws.sendJson({ type: 'send', conversation_id: first.conversation_id, client_id: 'r1', text: 'Done: your limit is raised.' });
	await ada.ws.next((f) => f.type === 'ack' || f.type === 'error');
	ada.ws.sendJson({ type: 'send', conversation_id: first.conversation_id, client_id: 'r2', text: 'Anything else?' });
	await ada.ws.next((f) => f.type === 'ack' || f.type === 'error');
	assert.equal(sql(`SELECT count(*) FROM messages WHERE conversation_id = ${first.conversation_id} AND sender_kind = 'staff'`), '2');
	assert.equal(sql(`SELECT routing FROM conversations WHERE id = ${first.conversation_id}`), 'followup');

	// Next visit: the same thread, two unread, the answers replayed.
	const next = (await widgetSession(site.site_key, undefined, undefined, { token: sign(ext) })).json;
	assert.equal(next.conversation_id, first.conversation_id);
	assert.equal(next.unread, 2);
	assert.deepEqual([(await status(next.token)).json.unread, (await status(next.token)).json.thread], [2, true]);
	const ws = await connect(BASE, { token: next.token });
	ws.sendJson({ type: 'subscribe', conversation_id: next.conversation_id, after_seq: 0 });
	const got = await ws.next((f) => f.type === 'message' && f.text === 'Anything else?');
	assert.equal(got.sender.kind, 'staff');
	// The panel marks read: the count drops, never moves back, and is kept.
	assert.deepEqual((await read(next.token, { conversation_id: next.conversation_id, seq: 2 })).json, { unread: 1 });
	assert.deepEqual((await read(next.token, { conversation_id: next.conversation_id, seq: got.seq })).json, { unread: 0 });
	assert.deepEqual((await read(next.token, { conversation_id: next.conversation_id, seq: 1 })).json, { unread: 0 });
	assert.equal((await widgetSession(site.site_key, undefined, undefined, { token: sign(ext) })).json.unread, 0);
	// Bad input: no token, someone else's conversation, bad seq.
	const stranger = (await widgetSession(site.site_key, undefined, undefined, { token: sign(unique('other')) })).json;
	assert.notEqual(stranger.conversation_id, first.conversation_id, 'another customer gets a thread of their own');
	assert.equal((await read(null, { conversation_id: next.conversation_id, seq: 3 })).status, 401);
	assert.equal((await read(stranger.token, { conversation_id: next.conversation_id, seq: 3 })).status, 404);
	assert.equal((await read(next.token, { conversation_id: next.conversation_id, seq: 'x' })).status, 422);

	// Done, then the customer writes again in the thread: back on the list.
	assert.equal((await ada.client.post(`/api/console/followups/${first.conversation_id}/done`)).status, 200);
	ws.sendJson({ type: 'send', conversation_id: next.conversation_id, client_id: 'again1', text: 'One more question' });
	await ws.next((f) => f.type === 'ack');
	const back = (await ada.client.get('/api/console/followups')).json.items.find((i) => i.id === first.conversation_id);
	assert.deepEqual([back.handled_by, back.preview], [null, 'One more question']);
	assert.equal(sql(`SELECT routing FROM conversations WHERE id = ${first.conversation_id}`), 'followup', 'still not queued');

	// Once handled and closed, the next visit starts afresh.
	sql(`UPDATE conversations SET status = 'closed' WHERE id = ${first.conversation_id}`);
	const fresh = (await widgetSession(site.site_key, undefined, undefined, { token: sign(ext) })).json;
	assert.notEqual(fresh.conversation_id, first.conversation_id);
	ws.close();
	ada.ws.close();
});

test('reply to a follow-up: only a follow-up of the organisation, only while open', async () => {
	const { admin, site } = await world();
	const other = await world();
	const s = (await widgetSession(site.site_key)).json;
	const ada = await staff(admin, 'Ada Agent');
	assert.equal((await ada.client.post(`/api/console/followups/${s.conversation_id}/reply`)).status, 404,
	    'not a follow-up yet');
	await offline(s.token, { conversation_id: s.conversation_id, name: 'A', email: 'a@example.com', message: 'Hi' });
	const bob = await staff(other.admin, 'Bob Other');
	assert.equal((await bob.client.post(`/api/console/followups/${s.conversation_id}/reply`)).status, 404);
	assert.equal((await ada.client.post(`/api/console/followups/${s.conversation_id}/reply`, {}, { csrf: false })).status, 403);
	sql(`UPDATE conversations SET status = 'closed' WHERE id = ${s.conversation_id}`);
	assert.equal((await ada.client.post(`/api/console/followups/${s.conversation_id}/reply`)).status, 409);
	assert.equal(sql(`SELECT count(*) FROM conversation_staff WHERE conversation_id = ${s.conversation_id}`), '0');
	ada.ws.close();
	bob.ws.close();
});

// ---------------------------------------------------------------------------
// Follow-ups answered by e-mail (0023_followup_email.sql, app/followmail.c),
// the live nudge of the list, and "End chat" on a chat opened from the list.

// A mail as the sink got it: unfolded headers (name → [values]) and the
// base64 body decoded.
function parseMail(data) {
	const i = data.indexOf('\r\n\r\n');
	const head = data.slice(0, i).replace(/\r\n[ \t]/g, ' ');
	const headers = {};
	for (const line of head.split('\r\n')) {
		const k = line.slice(0, line.indexOf(':')).toLowerCase();
		(headers[k] ||= []).push(line.slice(line.indexOf(':') + 1).trim());
	}
	const raw = data.slice(i + 4);
	const body = headers['content-transfer-encoding']?.[0] === 'base64'
	    ? Buffer.from(raw.replace(/\r\n/g, ''), 'base64').toString('utf8') : raw;
	return { headers, body, head };
}
// RFC 2047 encoded words (B, utf-8) back to text.
const words = (v) => v.replace(/=\?utf-8\?B\?([^?]*)\?=\s*/gi, (_, b) => Buffer.from(b, 'base64').toString('utf8')).trim();

async function mailWorld(withSmtp = true) {
	const w = await world();
	const { smtpSink } = await import('../lib/smtpsink.mjs');
	const sink = withSmtp ? await smtpSink() : null;
	if (sink) {
		const r = await w.admin.put('/api/smtp', { host: '127.0.0.1', port: sink.port, starttls: false,
		    username: 'relay', password: 'Relay-Pw-1', from_address: 'help@bank.test' });
		assert.equal(r.status, 200, r.text);
	}
	const ada = await staff(w.admin, 'Ada Agent');
	return { ...w, sink, ada };
}

// The earlier tests spend most of the address's offline-message allowance
// (20 per 10 minutes): start these with a fresh count.
function resetOfflineLimit() {
	const sock = process.env.VB_REDIS_URL.replace(/^unix:\/\//, '');
	execFileSync('redis-cli', ['-s', sock, 'DEL', 'vb:offline:a:127.0.0.1']);
}

// These tests open many widget sessions and leave many messages from
// 127.0.0.1: leave the per-address limits as found for the files after.
after(() => {
	const sock = process.env.VB_REDIS_URL.replace(/^unix:\/\//, '');
	execFileSync('redis-cli', ['-s', sock, 'DEL', 'vb:offline:a:127.0.0.1', 'vb:wsess:127.0.0.1']);
});

async function leftMessage(site, email = unique('nora') + '@example.com', message = 'Please call me about my mortgage.') {
	resetOfflineLimit();
	const s = (await widgetSession(site.site_key)).json;
	const r = await offline(s.token, { conversation_id: s.conversation_id, name: 'Nora Field', email, message });
	assert.equal(r.status, 201, JSON.stringify(r.json));
	return { ...s, email };
}

const stored = (conv) => sql(`SELECT last_seq || '|' || coalesce(handled_by::text, '-') || '|'
    || (SELECT count(*) FROM conversation_staff WHERE conversation_id = ${conv}) || '|'
    || (SELECT count(*) FROM audit_log WHERE action = 'followup.email' AND object_id = '${conv}')
    FROM conversations WHERE id = ${conv}`);

test('reply by e-mail: the mail arrives with proper headers, is stored, audited, shown as answered', async () => {
	const { tenant, site, sink, ada } = await mailWorld();
	// A site name with a line break: it must not become a header of its own.
	sql(`UPDATE sites SET name = E'Bänk Demo\\r\\nBcc: evil@attacker.test' WHERE id = ${site.id}`);
	const c = await leftMessage(site, undefined, 'Please call me\nabout my mortgage, ünd thanks.');
	const cws = await connect(BASE, { token: c.token });
	cws.sendJson({ type: 'subscribe', conversation_id: c.conversation_id, after_seq: 0 });
	await cws.next((f) => f.type === 'subscribed');

	const long = 'Ø'.repeat(300);
	const text = `Hello Nora,\r\nBcc: evil@attacker.test\r\n\r\nWe have raised your limit. ${long}\nÆøå – done.`;
	const r = await ada.client.post(`/api/console/followups/${c.conversation_id}/email`, { text });
	assert.equal(r.status, 201, r.text);
	assert.equal(r.json.message.text, text);
	assert.equal(r.json.message.sender.kind, 'staff');
	assert.deepEqual(r.json.message.meta, { via: 'email', to: c.email });

	const mail = await sink.next((m) => m.to.includes(c.email));
	assert.deepEqual(mail.to, [c.email], 'exactly the customer: no injected recipient');
	assert.equal(mail.from, 'help@bank.test');
	assert.deepEqual(mail.auth, { user: 'relay', pass: 'Relay-Pw-1' }, 'the sealed password was unsealed');
	const m = parseMail(mail.data);
	for (const k of ['date', 'from', 'to', 'message-id', 'subject', 'mime-version', 'content-type', 'content-transfer-encoding'])
		assert.equal(m.headers[k]?.length, 1, `one ${k} header: ${m.head}`);
	assert.equal(m.headers.bcc, undefined, 'no header injected');
	assert.ok(!/evil/i.test(m.head.replace(/=\?utf-8\?B\?[^?]*\?=/gi, '')), 'nothing unencoded from input in headers');
	assert.equal(words(m.headers.subject[0]), 'Re: your message to Bänk Demo  Bcc: evil@attacker.test');
	assert.match(m.headers.from[0], /<help@bank\.test>$/);
	assert.equal(m.headers.to[0], `<${c.email}>`);
	assert.match(m.headers['message-id'][0], /^<[A-Za-z0-9_-]+@bank\.test>$/);
	assert.ok(!Number.isNaN(Date.parse(m.headers.date[0])));
	assert.equal(m.headers['content-type'][0], 'text/plain; charset=utf-8');
	assert.ok(mail.data.split('\r\n').every((l) => l.length <= 998), 'no overlong line');
	assert.ok(/^[\x20-\x7e\r\n\t]*$/.test(mail.data), 'the mail is 7-bit clean');
	assert.ok(m.body.startsWith('Hello Nora,\r\nBcc: evil@attacker.test\r\n\r\nWe have raised your limit. ' + long + '\r\nÆøå – done.\r\n'), m.body);
	assert.match(m.body, /\r\nOn .* UTC, Nora Field wrote:\r\n> Please call me\r\n> about my mortgage, ünd thanks\.\r\n$/);

	// Stored once, in the conversation; the agent joined; handled; audited.
	assert.equal(sql(`SELECT count(*) FROM messages WHERE conversation_id = ${c.conversation_id}
	    AND sender_kind = 'staff' AND sender_id = ${ada.id} AND meta->>'via' = 'email' AND meta->>'to' = '${c.email}'`), '1');
	assert.equal(stored(c.conversation_id), `2|${ada.id}|1|1`);
	const audit = JSON.parse(sql(`SELECT after FROM audit_log WHERE tenant_id = ${tenant} AND action = 'followup.email'
	    AND object_id = '${c.conversation_id}' AND actor_id = ${ada.id}`));
	assert.equal(audit.to, c.email);
	assert.equal(audit.seq, 2);
	// The customer's panel (if open) gets the answer too.
	const got = await cws.next((f) => f.type === 'message' && f.seq === 2);
	assert.equal(got.meta.via, 'email');
	cws.close();

	// The list shows it answered by e-mail: when, by whom, to where.
	const item = (await ada.client.get('/api/console/followups')).json.items.find((i) => i.id === c.conversation_id);
	assert.equal(item.handled_by.id, ada.id);
	assert.equal(item.emailed.by.name, 'Ada Agent');
	assert.equal(item.emailed.to, c.email);
	assert.ok(Date.parse(item.emailed.at) > Date.now() - 60000);
	ada.ws.close();
	await sink.close();
});

test('reply by e-mail: a refusing server stores nothing; bad input, other organisations and customers are refused', async () => {
	const { site, sink, ada, admin } = await mailWorld();
	const c = await leftMessage(site);
	const before = stored(c.conversation_id);
	const url = `/api/console/followups/${c.conversation_id}/email`;

	sink.refuse = true;
	let r = await ada.client.post(url, { text: 'Hello' });
	assert.equal(r.status, 502, r.text);
	assert.equal(r.json.error.code, 'mail_failed');
	assert.equal(stored(c.conversation_id), before, 'nothing stored after a refused mail');
	sink.refuse = false;

	const cases = [
	    [{ text: '' }, 422], [{ text: '  \n ' }, 422], [{ text: 'x'.repeat(4001) }, 422],
	    [{ text: 42 }, 422], [{}, 422], [null, 400],
	];
	for (const [body, code] of cases) {
		r = body === null ? await ada.client.req('POST', url, '{nope')
		    : await ada.client.post(url, body);
		assert.equal(r.status, code, `${JSON.stringify(body)?.slice(0, 40)} → ${r.text}`);
	}
	// 4000 characters (not bytes) are fine.
	r = await ada.client.post(url, { text: 'é'.repeat(4000) });
	assert.equal(r.status, 201, r.text);
	const after = stored(c.conversation_id);
	assert.notEqual(after, before);

	// Without CSRF; an unknown id; not a follow-up.
	const c2 = await leftMessage(site);
	const url2 = `/api/console/followups/${c2.conversation_id}/email`;
	assert.equal((await ada.client.post(url2, { text: 'Hi' }, { csrf: false })).status, 403);
	assert.equal((await ada.client.post('/api/console/followups/999999999/email', { text: 'Hi' })).status, 404);
	const plain = (await widgetSession(site.site_key)).json;
	assert.equal((await ada.client.post(`/api/console/followups/${plain.conversation_id}/email`, { text: 'Hi' })).status, 404);

	// Another organisation's agent (who has mail set up) gets 404.
	const other = await mailWorld();
	r = await other.ada.client.post(url2, { text: 'Hi' });
	assert.equal(r.status, 404, r.text);
	// A customer (widget token, no staff session) cannot.
	const cr = await fetch(BASE + url2, { method: 'POST', headers: { 'content-type': 'application/json',
	    authorization: 'Bearer ' + c2.token }, body: JSON.stringify({ text: 'Hi' }) });
	assert.equal(cr.status, 401);
	assert.equal(stored(c2.conversation_id).split('|').slice(1).join('|'), '-|0|0');
	assert.equal(sink.messages.filter((m) => m.to.includes(c2.email)).length, 0, 'no mail went out');
	void admin;
	ada.ws.close();
	other.ada.ws.close();
	await sink.close();
	await other.sink.close();
});

test('reply by e-mail: no address → 409 no_email; no SMTP settings → 503 mail_not_configured', async () => {
	const { tenant, site, queue, ada } = await mailWorld(false);
	const c = await leftMessage(site);
	let r = await ada.client.post(`/api/console/followups/${c.conversation_id}/email`, { text: 'Hi' });
	assert.equal(r.status, 503, r.text);
	assert.equal(r.json.error.code, 'mail_not_configured');
	// An abandoned contact of an anonymous customer: no address.
	const s = (await widgetSession(site.site_key)).json;
	sql(`SELECT set_config('vb.tenant_id', '${tenant}', false); SELECT vb_message_add(${s.conversation_id}, 'customer', ${s.customer_id}, 'a1', 'Is anyone there?');
	    SELECT vb_acd_enqueue(${s.conversation_id}, ${queue}, 0, NULL); SELECT vb_acd_abandon(${s.conversation_id})`);
	r = await ada.client.post(`/api/console/followups/${s.conversation_id}/email`, { text: 'Hi' });
	assert.equal(r.status, 409, r.text);
	assert.equal(r.json.error.code, 'no_email');
	assert.equal(stored(c.conversation_id).split('|').slice(1).join('|'), '-|0|0');
	ada.ws.close();
});

test('the follow-up list is live: consoles are nudged when a message is left, a contact is handled', async () => {
	const { admin, site } = await world();
	const other = await world();
	const ada = await staff(admin, 'Ada Agent');
	const bob = await staff(other.admin, 'Bob Other');
	const c = await leftMessage(site);
	await ada.ws.next((f) => f.type === 'followups', 3000);
	assert.equal((await ada.client.post(`/api/console/followups/${c.conversation_id}/done`)).status, 200);
	await ada.ws.next((f) => f.type === 'followups', 3000);
	await sleep(200);
	assert.ok(!bob.ws.all.some((f) => f.type === 'followups'), 'another organisation is not told');
	// A customer's connection never gets the staff nudge.
	const cws = await connect(BASE, { token: c.token });
	await sleep(100);
	await leftMessage(site);
	await sleep(300);
	assert.ok(!cws.all.some((f) => f.type === 'followups'));
	cws.close();
	ada.ws.close();
	bob.ws.close();
});

test('End chat on a chat opened from the follow-up list closes it, marks it handled, audits', async () => {
	const { admin, tenant, site } = await world();
	const ada = await staff(admin, 'Ada Agent');
	const c = await leftMessage(site);
	assert.equal((await ada.client.post(`/api/console/followups/${c.conversation_id}/reply`)).status, 200);
	ada.ws.sendJson({ type: 'subscribe', conversation_id: c.conversation_id, after_seq: 0 });
	ada.ws.sendJson({ type: 'finish', conversation_id: c.conversation_id });
	const f = await ada.ws.next((x) => (x.type === 'finished' || x.type === 'error'));
	assert.deepEqual(f, { type: 'finished', conversation_id: c.conversation_id, followup: true });
	// The customer, back later, finds the chat ended in the replay.
	const cws = await connect(BASE, { token: c.token });
	cws.sendJson({ type: 'subscribe', conversation_id: c.conversation_id, after_seq: 0 });
	const end = await cws.next((x) => x.type === 'message' && x.meta?.event === 'ended');
	assert.equal(end.text, 'Ada Agent ended the chat');
	cws.close();
	assert.equal(sql(`SELECT status || '|' || handled_by FROM conversations WHERE id = ${c.conversation_id}`), `closed|${ada.id}`);
	assert.equal(sql(`SELECT count(*) FROM audit_log WHERE tenant_id = ${tenant} AND action = 'followup.close'
	    AND object_id = '${c.conversation_id}' AND actor_id = ${ada.id}`), '1');
	await ada.ws.next((x) => x.type === 'followups', 3000);
	// Not in it: still refused, as before.
	const c2 = await leftMessage(site);
	const bea = await staff(admin, 'Bea Agent');
	bea.ws.sendJson({ type: 'finish', conversation_id: c2.conversation_id });
	const e = await bea.ws.next((x) => x.type === 'finished' || x.type === 'error');
	assert.equal(e.type, 'error');
	assert.equal(sql(`SELECT status FROM conversations WHERE id = ${c2.conversation_id}`), 'open');
	ada.ws.close();
	bea.ws.close();
});
