// Recording policy (S5), the recordings archive and TURN credentials (issue 4)
// over the real stack: per-site and per-queue policy with validation and
// audit; vb_recording_add with real Ogg Opus files made by sox + opusenc;
// search filters and paging; permissions; byte ranges for the player; audit
// of plays and downloads; tenancy; TURN REST credentials for staff and for
// widget customers with an open conversation.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, sql, setPassword, newOrg, roleId, unique } from '../lib/vb.mjs';

const BASE = process.env.VB_TEST_URL;
const VAR = process.env.VB_VAR;
const HOST_ORIGIN = 'http://127.0.0.2:9';

async function staffUser(admin, builtin, name) {
	const email = unique(builtin) + '@x.test';
	const r = await admin.post('/api/users', { email, name,
	    role_ids: builtin ? [await roleId(admin, builtin)] : [] });
	assert.equal(r.status, 201, r.text);
	setPassword(email, 'Staff-Password-1');
	const c = new Client();
	assert.equal((await c.login(email, 'Staff-Password-1')).status, 200);
	c.id = r.json.user.id;
	return c;
}

async function widget(key) {
	const r = await fetch(BASE + '/api/widget/session', { method: 'POST',
	    headers: { 'content-type': 'application/json', origin: HOST_ORIGIN },
	    body: JSON.stringify({ site_key: key }) });
	assert.equal(r.status, 201);
	return r.json();
}

async function site(admin, name = 'Harbour Bank') {
	const r = await admin.post('/api/sites', { name, allowed_origins: [HOST_ORIGIN] });
	assert.equal(r.status, 201, r.text);
	return r.json.site;
}

async function queue(admin, name) {
	const r = await admin.post('/api/queues', { name });
	assert.equal(r.status, 201, r.text);
	return r.json.queue;
}

// A tone of the given length as Ogg Opus (sox makes the WAV, opusenc encodes).
function opusFile(seconds, freq = 440) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vbrec-'));
	const wav = path.join(dir, 'a.wav'), ogg = path.join(dir, 'a.ogg');
	execFileSync('sox', ['-V1', '-n', '-r', '48000', '-c', '1', '-b', '16', wav, 'synth', String(seconds), 'sine', String(freq)]);
	execFileSync('opusenc', ['--quiet', wav, ogg]);
	const data = fs.readFileSync(ogg);
	fs.rmSync(dir, { recursive: true });
	return data;
}

const TONE = opusFile(3);

// Stores bytes under $VB_VAR/recordings/<tenant>/… and records them with
// vb_recording_add, as the application will when the relay reports a file.
function addRecording(tenant, conv, { user = null, customer = null, kind = 'audio',
    started = new Date().toISOString(), data = TONE, name, durationMs = 3000 } = {}) {
	const rel = `${tenant}/${conv}/${name || unique('r')}.ogg`;
	const full = path.join(VAR, 'recordings', rel);
	fs.mkdirSync(path.dirname(full), { recursive: true });
	fs.writeFileSync(full, data);
	const sha = crypto.createHash('sha256').update(data).digest('hex');
	const out = sql(`WITH s AS (SELECT set_config('vb.tenant_id', '${tenant}', true))
	    SELECT vb_recording_add(${conv}, ${user ?? 'NULL'}, ${customer ?? 'NULL'}, '${kind}', '${rel}',
	    'audio/ogg', '${started}', ${durationMs}, ${data.length}, '${sha}') FROM s`);
	return { ...JSON.parse(out), rel, data };
}

// The error psql reports for a statement, or null when it succeeded.
function sqlError(query) {
	try {
		execFileSync('psql', [process.env.VB_DATABASE_URL, '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1',
		    '-c', query], { encoding: 'utf8', stdio: 'pipe' });
	} catch (e) {
		return String(e.stderr || e.message);
	}
	return null;
}

// An organisation with a site, a queue, an agent in a conversation with a
// named customer.
async function world(label = 'Rec') {
	const org = await newOrg(label);
	const s = await site(org.admin);
	const q = await queue(org.admin, 'Mortgages ' + label);
	const agent = await staffUser(org.admin, 'agent', 'Alex Agent');
	const sup = await staffUser(org.admin, 'supervisor', 'Sam Supervisor');
	const cust = await widget(s.site_key);
	const conv = cust.conversation_id;
	const customer = Number(sql(`SELECT customer_id FROM conversations WHERE id = ${conv}`));
	sql(`UPDATE customers SET display_name = 'Maria Lopez', email = 'maria.lopez@example.test' WHERE id = ${customer}`);
	sql(`UPDATE conversations SET queue_id = ${q.id} WHERE id = ${conv}`);
	sql(`INSERT INTO conversation_staff (tenant_id, conversation_id, user_id, role) VALUES (${org.tenant}, ${conv}, ${agent.id}, 'agent')`);
	return { ...org, site: s, queue: q, agent, sup, cust, conv, customer };
}

test('site recording policy: default, validation, audit, permission, tenancy', async () => {
	const { admin, site: s, agent } = await world('Policy');
	const def = await admin.get(`/api/sites/${s.id}/recording`);
	assert.equal(def.status, 200, def.text);
	assert.deepEqual(def.json.recording, { policy: 'never', notice: null });

	const bad = [
		[{ policy: 'sometimes' }, 'policy'],
		[{ policy: 1 }, 'policy'],
		[{ notice: 'x' }, 'policy'],
		[{ policy: null }, 'policy'],
		[{ policy: 'always', notice: 5 }, 'notice'],
		[{ policy: 'always', notice: 'x'.repeat(501) }, 'notice'],
	];
	for (const [b, field] of bad) {
		const r = await admin.put(`/api/sites/${s.id}/recording`, b);
		assert.equal(r.status, 422, JSON.stringify(b) + ' ' + r.text);
		assert.equal(r.json.error.field, field, JSON.stringify(b));
	}
	assert.equal((await admin.put(`/api/sites/${s.id}/recording`, '[1]')).status, 400);
	assert.equal((await admin.put(`/api/sites/${s.id}/recording`, 'not json')).status, 400);
	assert.deepEqual((await admin.get(`/api/sites/${s.id}/recording`)).json.recording,
	    { policy: 'never', notice: null }, 'bad input changed nothing');

	const ok = await admin.put(`/api/sites/${s.id}/recording`,
	    { policy: 'always', notice: '  This call is recorded for your security.  ' });
	assert.equal(ok.status, 200, ok.text);
	assert.deepEqual(ok.json.recording, { policy: 'always', notice: 'This call is recorded for your security.' });
	const blank = await admin.put(`/api/sites/${s.id}/recording`, { policy: 'on_demand', notice: '   ' });
	assert.deepEqual(blank.json.recording, { policy: 'on_demand', notice: null }, 'blank notice is the default');
	const audit = await admin.get('/api/audit?action=site.recording');
	assert.ok(audit.json.entries.some((e) => e.object_id === String(s.id) && e.before.policy === 'always' &&
	    e.after.policy === 'on_demand'), JSON.stringify(audit.json.entries));

	assert.equal((await agent.put(`/api/sites/${s.id}/recording`, { policy: 'never' })).status, 403);
	assert.equal((await admin.put('/api/sites/999999999/recording', { policy: 'never' })).status, 404);
	const other = await newOrg('Other');
	assert.equal((await other.admin.get(`/api/sites/${s.id}/recording`)).status, 404);
	assert.equal((await other.admin.put(`/api/sites/${s.id}/recording`, { policy: 'never' })).status, 404);
	assert.equal((await admin.put(`/api/sites/${s.id}/recording`, { policy: 'never' }, { csrf: false })).status, 403);
});

test('queue recording policy overrides the site; null inherits; who reads it', async () => {
	const w = await world('Queue');
	const { admin, site: s, queue: q, conv, tenant } = w;
	const eff = () => JSON.parse(sql(`SELECT vb_recording_policy(${conv})`));
	assert.deepEqual(eff(), { policy: 'never', source: 'default', notice: null });
	await admin.put(`/api/sites/${s.id}/recording`, { policy: 'on_demand', notice: 'Site notice' });
	assert.deepEqual(eff(), { policy: 'on_demand', source: 'site', notice: 'Site notice' });

	const def = await admin.get(`/api/queues/${q.id}/recording`);
	assert.deepEqual(def.json.recording, { policy: null, notice: null });
	for (const [b, field] of [[{ policy: 'loud' }, 'policy'], [{ policy: 'always', notice: [] }, 'notice'],
	    [{ policy: 'always', notice: 'n'.repeat(501) }, 'notice']]) {
		const r = await admin.put(`/api/queues/${q.id}/recording`, b);
		assert.equal(r.status, 422, r.text);
		assert.equal(r.json.error.field, field);
	}
	const r = await admin.put(`/api/queues/${q.id}/recording`, { policy: 'always', notice: null });
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json.recording, { policy: 'always', notice: null });
	assert.deepEqual(eff(), { policy: 'always', source: 'queue', notice: 'Site notice' });
	await admin.put(`/api/queues/${q.id}/recording`, { policy: 'never', notice: 'Queue notice' });
	assert.deepEqual(eff(), { policy: 'never', source: 'queue', notice: 'Queue notice' });
	await admin.put(`/api/queues/${q.id}/recording`, { policy: null });
	assert.deepEqual(eff(), { policy: 'on_demand', source: 'site', notice: 'Site notice' });
	assert.equal(sql(`SELECT count(*) FROM audit_log WHERE tenant_id = ${tenant} AND action = 'queue.recording'`), '3');

	// What the people in the conversation read: its agent in the console, its customer in the panel.
	const { agent: inConv, cust } = w;
	const con = await inConv.get(`/api/console/conversations/${conv}/recording-policy`);
	assert.equal(con.status, 200, con.text);
	assert.deepEqual(con.json.recording, { policy: 'on_demand', source: 'site', notice: 'Site notice' });
	const wp = (c, q) => fetch(`${process.env.VB_TEST_URL}/api/widget/recording-policy${q}`,
	    { headers: c ? { authorization: 'Bearer ' + c } : {} });
	const mine = await wp(cust.token, `?conversation_id=${conv}`);
	assert.equal(mine.status, 200);
	assert.deepEqual((await mine.json()).recording, { policy: 'on_demand', notice: 'Site notice' });
	const stranger = await widget(w.site.site_key);
	assert.equal((await wp(stranger.token, `?conversation_id=${conv}`)).status, 404);
	assert.equal((await wp(cust.token, '?conversation_id=999999999')).status, 404);
	assert.equal((await wp(cust.token, '?conversation_id=abc')).status, 422);
	assert.equal((await wp(cust.token, '')).status, 422);
	assert.equal((await wp(null, `?conversation_id=${conv}`)).status, 401);
	assert.equal((await wp('a'.repeat(43), `?conversation_id=${conv}`)).status, 401);

	const agent = await staffUser(admin, 'agent', 'Other Agent');
	assert.equal((await agent.get(`/api/console/conversations/${conv}/recording-policy`)).status, 404,
	    'an agent who may not see the conversation');
	const otherOrg = await newOrg('OtherCon');
	assert.equal((await otherOrg.admin.get(`/api/console/conversations/${conv}/recording-policy`)).status, 404);
	assert.equal((await agent.put(`/api/queues/${q.id}/recording`, { policy: 'never' })).status, 403);
	const other = await newOrg('Other');
	assert.equal((await other.admin.put(`/api/queues/${q.id}/recording`, { policy: 'never' })).status, 404);
	assert.equal((await admin.put('/api/queues/999999999/recording', { policy: 'never' })).status, 404);
});

test('vb_recording_add refuses what does not belong', async () => {
	const { tenant, conv, agent, customer } = await world('Add');
	const other = await world('AddOther');
	const ok = addRecording(tenant, conv, { customer });
	assert.equal(ok.kind, 'audio');
	assert.equal(ok.participant.type, 'customer');
	assert.equal(ok.customer.name, 'Maria Lopez');
	assert.equal(ok.agents[0].name, 'Alex Agent');
	assert.equal(sql(`SELECT count(*) FROM audit_log WHERE action = 'recording.add' AND object_id = '${ok.id}'`), '1');
	const cases = [
		[`${conv}, ${agent.id}, ${customer}, 'audio', '${tenant}/x/a.ogg'`, /one participant/],
		[`${conv}, ${agent.id}, NULL, 'mix', '${tenant}/x/b.ogg'`, /one participant/],
		[`${conv}, ${other.agent.id}, NULL, 'audio', '${tenant}/x/c.ogg'`, /did not take part|foreign key/],
		[`${conv}, NULL, ${other.customer}, 'audio', '${tenant}/x/d.ogg'`, /not this conversation/],
		[`${conv}, NULL, ${customer}, 'audio', '${other.tenant}/x/e.ogg'`, /organisation's folder/],
		[`${conv}, NULL, ${customer}, 'audio', '${tenant}/../etc/passwd'`, /organisation's folder/],
		[`${conv}, NULL, ${customer}, 'sound', '${tenant}/x/f.ogg'`, /kind must be/],
		[`${conv}, NULL, ${customer}, 'audio', '${ok.rel}'`, /already recorded/],
	];
	for (const [args, re] of cases) {
		const err = sqlError((`WITH s AS (SELECT set_config('vb.tenant_id', '${tenant}', true))
		    SELECT vb_recording_add(${args}, 'audio/ogg', now(), 10, 10, '${'a'.repeat(64)}') FROM s`));
		assert.match(err || 'accepted', re, args);
	}
	const badSha = sqlError((`SELECT vb_recording_add(${conv}, NULL, ${customer}, 'audio',
	    '${tenant}/x/g.ogg', 'audio/ogg', now(), 10, 10, 'XYZ')`));
	assert.match(badSha || 'accepted', /sha256/);
	const badMime = sqlError((`SELECT vb_recording_add(${conv}, NULL, ${customer}, 'audio',
	    '${tenant}/x/h.ogg', 'text/html', now(), 10, 10, '${'a'.repeat(64)}')`));
	assert.match(badMime || 'accepted', /media type/);
	// Another tenant cannot add to this conversation (row-level security as the app).
	const cross = sqlError((`SET ROLE vb_app; SELECT set_config('vb.tenant_id', '${other.tenant}', false);
	    SELECT vb_recording_add(${conv}, NULL, ${customer}, 'audio', '${tenant}/x/i.ogg', 'audio/ogg', now(), 10, 10, '${'a'.repeat(64)}')`));
	assert.match(cross || 'accepted', /No such conversation/);
});

test('search: customer, agent, queue, dates, paging; permissions', async () => {
	const w = await world('Search');
	const { admin, tenant, conv, agent, sup, customer } = w;
	const q2 = await queue(admin, 'Cards Search');
	const agent2 = await staffUser(admin, 'agent', 'Bea Banker');
	const cust2 = await widget(w.site.site_key);
	const conv2 = cust2.conversation_id;
	const customer2 = Number(sql(`SELECT customer_id FROM conversations WHERE id = ${conv2}`));
	sql(`UPDATE customers SET display_name = 'John Smith', email = 'jsmith@example.test' WHERE id = ${customer2}`);
	sql(`UPDATE conversations SET queue_id = ${q2.id} WHERE id = ${conv2}`);
	sql(`INSERT INTO conversation_staff (tenant_id, conversation_id, user_id, role) VALUES (${tenant}, ${conv2}, ${agent2.id}, 'agent')`);

	const a1 = addRecording(tenant, conv, { customer, started: '2026-03-01T10:00:00Z' });
	const a2 = addRecording(tenant, conv, { user: agent.id, started: '2026-03-01T10:00:00Z' });
	const a3 = addRecording(tenant, conv, { kind: 'mix', started: '2026-03-01T10:00:00Z' });
	const b1 = addRecording(tenant, conv2, { customer: customer2, started: '2026-04-15T09:30:00Z' });

	const ids = (r) => r.json.recordings.map((x) => x.id);
	const all = await sup.get('/api/recordings');
	assert.equal(all.status, 200, all.text);
	assert.deepEqual(ids(all), [b1.id, a3.id, a2.id, a1.id], 'newest first, then by id');
	assert.equal(all.json.next, null);
	const rec = all.json.recordings[0];
	assert.equal(rec.customer.name, 'John Smith');
	assert.equal(rec.queue.name, 'Cards Search');
	assert.equal(rec.agents[0].name, 'Bea Banker');
	assert.equal(rec.duration_ms, 3000);
	assert.equal(rec.bytes, TONE.length);
	assert.equal(rec.path, undefined, 'the path never leaves the server');

	assert.deepEqual(ids(await sup.get('/api/recordings?customer=maria')), [a3.id, a2.id, a1.id]);
	assert.deepEqual(ids(await sup.get('/api/recordings?customer=JSMITH%40EXAMPLE')), [b1.id]);
	assert.deepEqual(ids(await sup.get('/api/recordings?customer=%25')), [], 'LIKE wildcards are literal');
	assert.deepEqual(ids(await sup.get(`/api/recordings?agent_id=${agent2.id}`)), [b1.id]);
	assert.deepEqual(ids(await sup.get(`/api/recordings?agent_id=${agent.id}`)), [a3.id, a2.id, a1.id]);
	assert.deepEqual(ids(await sup.get(`/api/recordings?queue_id=${q2.id}`)), [b1.id]);
	assert.deepEqual(ids(await sup.get('/api/recordings?from=2026-04-01&to=2026-05-01')), [b1.id]);
	assert.deepEqual(ids(await sup.get('/api/recordings?to=2026-04-01')), [a3.id, a2.id, a1.id]);
	assert.deepEqual(ids(await sup.get(`/api/recordings?customer=maria&queue_id=${q2.id}`)), []);

	// Paging with the cursor.
	const seen = [];
	let cursor = null;
	for (let i = 0; i < 5; i++) {
		const r = await sup.get('/api/recordings?limit=3' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
		assert.equal(r.status, 200, r.text);
		seen.push(...ids(r));
		cursor = r.json.next;
		if (!cursor) break;
	}
	assert.deepEqual(seen, [b1.id, a3.id, a2.id, a1.id]);

	for (const q of ['limit=0', 'limit=101', 'limit=x', 'agent_id=abc', 'queue_id=-1', 'from=yesterday',
	    'cursor=nonsense', 'from=2026-05-01&to=2026-04-01', 'customer=' + 'x'.repeat(101)]) {
		const r = await sup.get('/api/recordings?' + q);
		assert.equal(r.status, 422, q + ' ' + r.text);
	}

	const filters = await sup.get('/api/recordings/filters');
	assert.equal(filters.status, 200);
	assert.deepEqual(filters.json.agents.map((a) => a.name), ['Alex Agent', 'Bea Banker']);
	assert.ok(filters.json.queues.some((x) => x.id === q2.id));

	// A plain agent may not search, play or download; an administrator may.
	assert.equal((await agent.get('/api/recordings')).status, 403);
	assert.equal((await agent.get('/api/recordings/filters')).status, 403);
	assert.equal((await agent.get(`/api/recordings/${a1.id}/media`)).status, 403);
	assert.equal((await agent.get(`/api/recordings/${a1.id}/download`)).status, 403);
	assert.equal((await admin.get('/api/recordings')).status, 200);
	assert.equal((await new Client().get('/api/recordings')).status, 401);
	// The page is for those who may.
	assert.equal((await sup.get('/console/recordings')).status, 200);
	assert.equal((await agent.get('/console/recordings')).status, 403);
	// The permission is listed for roles and granted to new organisations' supervisors.
	const roles = (await admin.get('/api/roles')).json.roles;
	assert.ok(roles.find((r) => r.builtin === 'supervisor').permissions.includes('recordings.read'));
	assert.ok(roles.find((r) => r.builtin === 'administrator').permissions.includes('recordings.read'));
	assert.ok(!roles.find((r) => r.builtin === 'agent').permissions.includes('recordings.read'));
});

async function fetchAs(client, url, headers = {}, method = 'GET') {
	const r = await fetch(BASE + url, { method, headers: { cookie: client.cookieHeader(), ...headers } });
	return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
}

test('play and download: byte ranges, headers, audit, tenancy', async () => {
	const { tenant, conv, customer, sup, admin } = await world('Play');
	const rec = addRecording(tenant, conv, { customer });
	const size = TONE.length;
	const url = `/api/recordings/${rec.id}/media`;

	const full = await fetchAs(sup, url);
	assert.equal(full.status, 200);
	assert.deepEqual(full.body, TONE);
	assert.equal(full.headers.get('content-type'), 'audio/ogg');
	assert.equal(full.headers.get('accept-ranges'), 'bytes');
	assert.equal(full.headers.get('content-length'), String(size));
	assert.equal(full.headers.get('x-content-type-options'), 'nosniff');
	assert.match(full.headers.get('content-security-policy'), /^sandbox/);
	assert.match(full.headers.get('content-disposition'), new RegExp(`^inline; filename="recording-${conv}-${rec.id}-audio.ogg"`));
	assert.equal(full.headers.get('cache-control'), 'private, no-store');
	assert.equal(TONE.subarray(0, 4).toString(), 'OggS');

	const part = await fetchAs(sup, url, { range: 'bytes=100-1099' });
	assert.equal(part.status, 206);
	assert.equal(part.headers.get('content-range'), `bytes 100-1099/${size}`);
	assert.equal(part.headers.get('content-length'), '1000');
	assert.deepEqual(part.body, TONE.subarray(100, 1100));
	const open = await fetchAs(sup, url, { range: `bytes=${size - 10}-` });
	assert.equal(open.status, 206);
	assert.deepEqual(open.body, TONE.subarray(size - 10));
	const suffix = await fetchAs(sup, url, { range: 'bytes=-20' });
	assert.equal(suffix.status, 206);
	assert.equal(suffix.headers.get('content-range'), `bytes ${size - 20}-${size - 1}/${size}`);
	assert.deepEqual(suffix.body, TONE.subarray(size - 20));
	const past = await fetchAs(sup, url, { range: `bytes=${size}-` });
	assert.equal(past.status, 416);
	assert.equal(past.headers.get('content-range'), `bytes */${size}`);
	const multi = await fetchAs(sup, url, { range: 'bytes=0-1,5-6' });
	assert.equal(multi.status, 200, 'several ranges: the whole file');
	assert.equal(multi.body.length, size);
	const head = await fetchAs(sup, url, { range: 'bytes=0-9' }, 'HEAD');
	assert.equal(head.status, 206);
	assert.equal(head.headers.get('content-length'), '10');

	const dl = await fetchAs(sup, `/api/recordings/${rec.id}/download`);
	assert.equal(dl.status, 200);
	assert.deepEqual(dl.body, TONE);
	assert.match(dl.headers.get('content-disposition'), /^attachment; filename="recording-/);

	// One audit entry per user, recording and action within ten minutes.
	const entries = (await admin.get('/api/audit?object_type=recording')).json.entries
	    .filter((e) => e.object_id === String(rec.id));
	const plays = entries.filter((e) => e.action === 'recording.play');
	const downloads = entries.filter((e) => e.action === 'recording.download');
	assert.equal(plays.length, 1, JSON.stringify(entries));
	assert.equal(downloads.length, 1);
	assert.equal(plays[0].actor_id ?? plays[0].actor?.id, sup.id);
	await fetchAs(admin, url, { range: 'bytes=0-' });
	assert.equal(sql(`SELECT count(*) FROM audit_log WHERE object_type = 'recording' AND object_id = '${rec.id}' AND action = 'recording.play'`), '2',
	    'another user is audited separately');

	// Another organisation: 404 for the same id; unknown ids 404.
	const other = await world('PlayOther');
	for (const u of [url, `/api/recordings/${rec.id}/download`]) {
		const r = await fetchAs(other.sup, u);
		assert.equal(r.status, 404, u);
		assert.ok(!r.body.includes(TONE.subarray(0, 64)));
	}
	assert.equal((await fetchAs(sup, '/api/recordings/999999999/media')).status, 404);
	assert.equal(sql(`SELECT count(*) FROM audit_log WHERE object_type = 'recording' AND object_id = '${rec.id}' AND tenant_id = ${other.tenant}`), '0');

	// A file gone from disk is a clean 404; a path that is a link is not followed.
	const gone = addRecording(tenant, conv, { customer });
	fs.rmSync(path.join(VAR, 'recordings', gone.rel));
	assert.equal((await fetchAs(sup, `/api/recordings/${gone.id}/media`)).status, 404);
	const linked = addRecording(tenant, conv, { customer });
	const lp = path.join(VAR, 'recordings', linked.rel);
	fs.rmSync(lp);
	fs.symlinkSync('/etc/passwd', lp);
	const lr = await fetchAs(sup, `/api/recordings/${linked.id}/media`);
	assert.equal(lr.status, 404);
	assert.ok(!lr.body.toString().includes('root:'));
});

test('TURN credentials: staff, widget customer with an open conversation, refusals', async () => {
	const { admin, cust, conv, tenant, customer } = await world('Turn');
	const secret = fs.readFileSync(path.join(VAR, 'turn', 'secret'), 'utf8').trim();
	const check = (j, id) => {
		assert.equal(j.iceServers.length, 1);
		const s = j.iceServers[0];
		assert.ok(s.urls.length >= 1 && s.urls.every((u) => /^turns?:/.test(u)), JSON.stringify(s.urls));
		const [exp, who] = s.username.split(':');
		assert.equal(who, id);
		const now = Math.floor(Date.now() / 1000);
		assert.ok(Number(exp) > now + j.ttl - 30 && Number(exp) <= now + j.ttl + 2, s.username);
		assert.equal(s.credential, crypto.createHmac('sha1', secret).update(s.username).digest('base64'));
	};
	const staff = await admin.get('/api/turn');
	assert.equal(staff.status, 200, staff.text);
	assert.equal(staff.json.ttl, 3600);
	const me = await admin.get('/api/me');
	check(staff.json, `t${tenant}u${me.json.id}`);
	assert.equal(staff.headers.get('cache-control'), 'no-store');

	const w = await fetch(BASE + '/api/widget/turn', { headers: { authorization: 'Bearer ' + cust.token } });
	assert.equal(w.status, 200);
	check(await w.json(), `t${tenant}c${customer}`);

	// Refusals: nobody, a bad or unknown token, a closed conversation, staff without console.agent.
	assert.equal((await new Client().get('/api/turn')).status, 401);
	assert.equal((await fetch(BASE + '/api/widget/turn')).status, 401);
	assert.equal((await fetch(BASE + '/api/widget/turn', { headers: { authorization: 'Bearer x"y' } })).status, 401);
	assert.equal((await fetch(BASE + '/api/widget/turn', { headers: { authorization: 'Bearer ' + 'a'.repeat(43) } })).status, 401);
	assert.equal((await fetch(BASE + '/api/widget/turn?token=' + cust.token)).status, 401, 'the token is not taken from the URL');
	sql(`UPDATE conversations SET status = 'closed', closed_at = now() WHERE id = ${conv}`);
	const closed = await fetch(BASE + '/api/widget/turn', { headers: { authorization: 'Bearer ' + cust.token } });
	assert.equal(closed.status, 403);
	assert.equal((await closed.json()).error.code, 'no_conversation');
	const nobody = await staffUser(admin, null, 'No Roles');
	assert.equal((await nobody.get('/api/turn')).status, 403);
});
