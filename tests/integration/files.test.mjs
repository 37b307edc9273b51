// File transfer inside chats (W7) and transcript download (W8) over the real
// stack: per-site settings, uploads both ways with live delivery over the
// WebSocket, downloads with their protective headers, every bad input, tenancy
// and the transcript zip (opened with unzip).
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { Client, sql, setPassword, newOrg, roleId, unique } from '../lib/vb.mjs';

const BASE = process.env.VB_TEST_URL;
const VBCTL = process.env.VBCTL;
const HOST_ORIGIN = 'http://127.0.0.2:9';

// A 1×1 PNG, a minimal PDF, and disguises.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const PDF = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n');
const HTML = Buffer.from('<!DOCTYPE html>\n<html><head><title>x</title></head><body><script>alert(document.cookie)</script></body></html>\n');
const SVG = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>\n');
const EXE = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(58), Buffer.from([0x80, 0, 0, 0]), Buffer.alloc(64), Buffer.from('PE\0\0'), Buffer.from([0x4c, 0x01, 0x03, 0x00]), Buffer.alloc(400)]);
const ELF = fs.readFileSync('/bin/true').subarray(0, 8192);
const TEXT = Buffer.from('Account number 12345\nPlease check the attached statement.\n');

async function siteFor(admin) {
	const r = await admin.post('/api/sites', { name: 'Harbour Bank', allowed_origins: [HOST_ORIGIN] });
	assert.equal(r.status, 201);
	return r.json.site;
}

async function widget(key) {
	const r = await fetch(BASE + '/api/widget/session', { method: 'POST',
	    headers: { 'content-type': 'application/json', origin: HOST_ORIGIN },
	    body: JSON.stringify({ site_key: key }) });
	assert.equal(r.status, 201);
	return r.json();
}

// Upload as a customer (token) or as staff (a Client with cookie and CSRF).
async function upload(who, conv, name, body, opts = {}) {
	const headers = { 'content-type': opts.type || 'application/octet-stream' };
	if (typeof who === 'string') headers.authorization = 'Bearer ' + who;
	else if (who) {
		headers.cookie = who.cookieHeader();
		if (opts.csrf !== false) headers['x-csrf-token'] = who.csrf;
	}
	const q = name === undefined ? '' : '?name=' + encodeURIComponent(name);
	const r = await fetch(`${BASE}/api/conversations/${conv}/files${q}`, { method: 'POST', headers, body });
	const text = await r.text();
	let json = null;
	try { json = JSON.parse(text); } catch { /* not JSON */ }
	return { status: r.status, json, text };
}

async function download(who, id, query = '') {
	const headers = {};
	let url = `${BASE}/api/files/${id}`;
	if (typeof who === 'string') url += '?token=' + who + query;
	else {
		if (query) url += '?' + query.slice(1);
		if (who) headers.cookie = who.cookieHeader();
	}
	const r = await fetch(url, { headers });
	return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
}

function connect({ token, cookie }) {
	const url = BASE.replace(/^http/, 'ws') + '/ws' + (token ? `?token=${token}` : '');
	const ws = new WebSocket(url, { origin: BASE, headers: cookie ? { cookie } : {} });
	ws.frames = [];
	ws.waiters = [];
	ws.on('message', (d) => {
		const f = JSON.parse(d.toString());
		ws.frames.push(f);
		ws.waiters = ws.waiters.filter((w) => !(w.pred(f) && (w.resolve(f), true)));
	});
	ws.next = (pred, ms = 5000) => {
		const hit = ws.frames.find(pred);
		if (hit) return Promise.resolve(hit);
		return new Promise((resolve, reject) => {
			const t = setTimeout(() => reject(new Error('timeout; got ' + JSON.stringify(ws.frames))), ms);
			ws.waiters.push({ pred, resolve: (f) => { clearTimeout(t); resolve(f); } });
		});
	};
	return new Promise((resolve, reject) => {
		ws.once('open', () => resolve(ws));
		ws.once('error', reject);
	});
}

async function staffUser(admin, builtin, name) {
	const email = unique(builtin) + '@x.test';
	const r = await admin.post('/api/users', { email, name, role_ids: [await roleId(admin, builtin)] });
	assert.equal(r.status, 201);
	setPassword(email, 'Staff-Password-1');
	const c = new Client();
	assert.equal((await c.login(email, 'Staff-Password-1')).status, 200);
	c.id = r.json.user.id;
	return c;
}

async function setup() {
	const org = await newOrg('Files');
	const site = await siteFor(org.admin);
	const cust = await widget(site.site_key);
	return { ...org, site, cust };
}

test('site file settings: defaults, validation, audit, permission', async () => {
	const { admin, site } = await newOrg('Files').then(async (o) => ({ ...o, site: await siteFor(o.admin) }));
	const def = await admin.get(`/api/sites/${site.id}/files`);
	assert.equal(def.status, 200);
	assert.equal(def.json.files.enabled, true);
	assert.equal(def.json.files.max_bytes, 10 * 1024 * 1024);
	assert.ok(def.json.files.types.includes('application/pdf'));
	assert.ok(!def.json.files.types.includes('application/zip'));

	const bad = [
		{ enabled: true, max_bytes: 0, types: [] },
		{ enabled: true, max_bytes: 50 * 1024 * 1024 + 1, types: [] },
		{ enabled: true, max_bytes: 1000, types: ['text/html'] },
		{ enabled: true, max_bytes: 1000, types: ['image/svg+xml'] },
		{ enabled: true, max_bytes: 1000, types: ['image/png', 'image/png'] },
		{ enabled: 'yes', max_bytes: 1000, types: [] },
		{ max_bytes: 1000, types: [] },
		{ enabled: true, max_bytes: '1000', types: [] },
		{ enabled: true, max_bytes: 1000, types: 'image/png' },
		{ enabled: true, max_bytes: 1000, types: [1] },
	];
	for (const b of bad) {
		const r = await admin.put(`/api/sites/${site.id}/files`, b);
		assert.equal(r.status, 422, JSON.stringify(b) + ' ' + r.text);
	}
	assert.equal((await admin.get(`/api/sites/${site.id}/files`)).json.files.max_bytes, 10 * 1024 * 1024);

	const ok = await admin.put(`/api/sites/${site.id}/files`,
	    { enabled: true, max_bytes: 50 * 1024 * 1024, types: ['application/pdf', 'application/zip'] });
	assert.equal(ok.status, 200, ok.text);
	assert.deepEqual(ok.json.files, { enabled: true, max_bytes: 50 * 1024 * 1024,
	    types: ['application/pdf', 'application/zip'] });
	const audit = await admin.get('/api/audit?action=site.files');
	assert.equal(audit.status, 200);
	assert.ok(audit.json.entries.some((e) => e.object_id === String(site.id) &&
	    e.after.max_bytes === 50 * 1024 * 1024 && e.before.max_bytes === 10 * 1024 * 1024));

	assert.equal((await admin.put('/api/sites/999999999/files', { enabled: true, max_bytes: 10, types: [] })).status, 404);
	const agent = await staffUser(admin, 'agent', 'Alex Agent');
	assert.equal((await agent.put(`/api/sites/${site.id}/files`, { enabled: false, max_bytes: 10, types: [] })).status, 403);
	const other = await newOrg('Other');
	assert.equal((await other.admin.put(`/api/sites/${site.id}/files`, { enabled: false, max_bytes: 10, types: [] })).status, 404);
	assert.equal((await other.admin.get(`/api/sites/${site.id}/files`)).status, 404);
	assert.equal((await admin.put(`/api/sites/${site.id}/files`, { enabled: false, max_bytes: 10, types: [] },
	    { csrf: false })).status, 403);
});

test('customer uploads; staff following the chat gets it live; both download it', async () => {
	const { admin, cust } = await setup();
	const conv = cust.conversation_id;
	const staffWs = await connect({ cookie: admin.cookieHeader() });
	staffWs.send(JSON.stringify({ type: 'subscribe', conversation_id: conv, after_seq: 0 }));
	await staffWs.next((f) => f.type === 'subscribed');

	const up = await upload(cust.token, conv, 'statement.pdf', PDF, { type: 'image/png' });
	assert.equal(up.status, 201, up.text);
	const m = up.json.message;
	assert.equal(m.type, 'message');
	assert.equal(m.sender.kind, 'customer');
	assert.equal(m.text, 'statement.pdf');
	assert.equal(m.meta.file.name, 'statement.pdf');
	assert.equal(m.meta.file.type, 'application/pdf');	// sniffed, not the client's type
	assert.equal(m.meta.file.size, PDF.length);
	const live = await staffWs.next((f) => f.type === 'message' && f.meta?.file);
	assert.deepEqual(live.meta.file, m.meta.file);
	assert.equal(live.seq, m.seq);
	staffWs.close();

	const byCust = await download(cust.token, m.meta.file.id);
	assert.equal(byCust.status, 200);
	assert.deepEqual(byCust.body, PDF);
	assert.equal(byCust.headers.get('content-type'), 'application/pdf');
	assert.equal(byCust.headers.get('content-disposition'),
	    'attachment; filename="statement.pdf"; filename*=UTF-8\'\'statement.pdf');
	assert.equal(byCust.headers.get('x-content-type-options'), 'nosniff');
	assert.match(byCust.headers.get('content-security-policy'), /^sandbox/);
	const byStaff = await download(admin, m.meta.file.id);
	assert.equal(byStaff.status, 200);
	assert.deepEqual(byStaff.body, PDF);
	// Inline only for images.
	assert.match((await download(admin, m.meta.file.id, '&inline=1')).headers.get('content-disposition'), /^attachment/);

	// Stored by content under the tenant; the row says who sent it.
	const row = sql(`SELECT uploader_kind, size, sha256 FROM files WHERE id = ${m.meta.file.id}`).split('|');
	assert.equal(row[0], 'customer');
	assert.equal(Number(row[1]), PDF.length);
	assert.equal(row[2], (await import('node:crypto')).createHash('sha256').update(PDF).digest('hex'));

	// Replays on resume like any message.
	const ws = await connect({ token: cust.token });
	ws.send(JSON.stringify({ type: 'subscribe', conversation_id: conv, after_seq: 0 }));
	const replay = await ws.next((f) => f.type === 'message' && f.seq === m.seq);
	assert.equal(replay.meta.file.id, m.meta.file.id);
	ws.close();

	const list = await fetch(`${BASE}/api/conversations/${conv}/files`, { headers: { authorization: 'Bearer ' + cust.token } });
	const lj = await list.json();
	assert.equal(lj.settings.enabled, true);
	assert.deepEqual(lj.files.map((f) => f.id), [m.meta.file.id]);
});

test('staff uploads; the customer gets it live and downloads it; images inline on request', async () => {
	const { admin, cust } = await setup();
	const conv = cust.conversation_id;
	const ws = await connect({ token: cust.token });
	ws.send(JSON.stringify({ type: 'subscribe', conversation_id: conv, after_seq: 0 }));
	await ws.next((f) => f.type === 'subscribed');

	const up = await upload(admin, conv, 'Übersicht "Q3".png', PNG, { type: 'application/pdf' });
	assert.equal(up.status, 201, up.text);
	const file = up.json.message.meta.file;
	assert.equal(file.type, 'image/png');
	assert.equal(up.json.message.sender.kind, 'staff');
	const live = await ws.next((f) => f.type === 'message' && f.meta?.file);
	assert.equal(live.meta.file.id, file.id);
	assert.equal(live.sender.name, 'Test Admin');
	ws.close();

	const d = await download(cust.token, file.id, '&inline=1');
	assert.equal(d.status, 200);
	assert.deepEqual(d.body, PNG);
	assert.equal(d.headers.get('content-type'), 'image/png');
	assert.equal(d.headers.get('content-disposition'),
	    'inline; filename="_bersicht _Q3_.png"; filename*=UTF-8\'\'%C3%9Cbersicht%20%22Q3%22.png');
	assert.match(d.headers.get('content-security-policy'), /sandbox/);

	// A large file travels through Kore's disk spool (bodies over 1 MiB), both ways.
	const big = Buffer.alloc(3 * 1024 * 1024 + 7, 'spool test line\n');
	const bigUp = await upload(admin, conv, 'big.txt', big);
	assert.equal(bigUp.status, 201, bigUp.text);
	assert.equal(bigUp.json.message.meta.file.size, big.length);
	const bigDown = await download(cust.token, bigUp.json.message.meta.file.id);
	assert.equal(bigDown.status, 200);
	assert.equal(Number(bigDown.headers.get('content-length')), big.length);
	assert.ok(bigDown.body.equals(big));
	const head = await fetch(`${BASE}/api/files/${bigUp.json.message.meta.file.id}?token=${cust.token}`, { method: 'HEAD' });
	assert.equal(head.status, 200);
	assert.equal(Number(head.headers.get('content-length')), big.length);
	assert.deepEqual(fs.readdirSync(path.join(process.env.VB_VAR, 'files', 'tmp')), []);

	// A name without a known extension gets the sniffed type's own.
	const noext = await upload(cust.token, conv, 'scan', PNG);
	assert.equal(noext.status, 201);
	assert.equal(noext.json.message.meta.file.name, 'scan.png');
	const exe = await upload(cust.token, conv, 'photo.exe', PNG);
	assert.equal(exe.json.message.meta.file.name, 'photo.exe.png');
	// Plain text and CSV are one family; the name decides.
	const csv = await upload(cust.token, conv, 'rates.csv', Buffer.from('a,b\n1,2\n3,4\n'));
	assert.equal(csv.status, 201, csv.text);
	assert.equal(csv.json.message.meta.file.type, 'text/csv');
});

test('bad uploads get clear errors and store nothing', async () => {
	const { admin, site, cust } = await setup();
	const conv = cust.conversation_id;
	const count = () => Number(sql(`SELECT count(*) FROM files WHERE conversation_id = ${conv}`));
	const msgs = () => Number(sql(`SELECT count(*) FROM messages WHERE conversation_id = ${conv}`));
	const tmpFiles = () => fs.readdirSync(path.join(process.env.VB_VAR, 'files', 'tmp')).length;
	const cases = [
		['invoice.pdf', HTML, 415, 'type_not_allowed'],
		['photo.png', EXE, 415, 'type_not_allowed'],
		['report.pdf', ELF, 415, 'type_not_allowed'],
		['logo.png', SVG, 415, 'type_not_allowed'],
		['statement.pdf', TEXT, 415, 'type_mismatch'],
		['photo.jpg', PNG, 415, 'type_mismatch'],
		['empty.txt', Buffer.alloc(0), 400, 'empty_file'],
		['../../etc/passwd', TEXT, 422, 'bad_name'],
		['a/b.txt', TEXT, 422, 'bad_name'],
		['a\\b.txt', TEXT, 422, 'bad_name'],
		['bad\u0001name.txt', TEXT, 422, 'bad_name'],
		['invoice\u202Etxt.exe', TEXT, 422, 'bad_name'],
		['..', TEXT, 422, 'bad_name'],
		['   ', TEXT, 422, 'bad_name'],
		['x'.repeat(201) + '.txt', TEXT, 422, 'bad_name'],
		[undefined, TEXT, 422, 'bad_name'],
	];
	for (const [name, body, status, code] of cases) {
		const r = await upload(cust.token, conv, name, body);
		assert.equal(r.status, status, `${name}: ${r.text}`);
		assert.equal(r.json.error.code, code, name);
		assert.ok(r.json.error.message.length > 5);
	}
	// Invalid UTF-8 in the name.
	const r8 = await fetch(`${BASE}/api/conversations/${conv}/files?name=%C3%28.txt`, { method: 'POST',
	    headers: { authorization: 'Bearer ' + cust.token }, body: TEXT });
	assert.equal(r8.status, 422);

	// Types and size the site does not allow.
	assert.equal((await admin.put(`/api/sites/${site.id}/files`,
	    { enabled: true, max_bytes: 1000, types: ['application/pdf', 'text/plain'] })).status, 200);
	const png = await upload(cust.token, conv, 'photo.png', PNG);
	assert.equal(png.status, 415);
	assert.equal(png.json.error.code, 'type_not_allowed');
	const big = await upload(cust.token, conv, 'big.txt', Buffer.alloc(1001, 'a'));
	assert.equal(big.status, 413);
	assert.equal(big.json.error.code, 'too_large');
	assert.equal((await upload(cust.token, conv, 'fits.txt', Buffer.alloc(1000, 'a'))).status, 201);
	// A body beyond what the server takes at all (50 MiB).
	const huge = await new Promise((resolve, reject) => {
		const req = http.request(`${BASE}/api/conversations/${conv}/files?name=huge.txt`, { method: 'POST',
		    headers: { authorization: 'Bearer ' + cust.token, 'content-length': 50 * 1024 * 1024 + 1 } },
		(res) => { res.resume(); resolve(res.statusCode); });
		req.on('error', reject);
		req.flushHeaders();
	});
	assert.equal(huge, 413);

	// Disabled for the site.
	assert.equal((await admin.put(`/api/sites/${site.id}/files`,
	    { enabled: false, max_bytes: 1000, types: ['text/plain'] })).status, 200);
	const off = await upload(cust.token, conv, 'a.txt', TEXT);
	assert.equal(off.status, 403);
	assert.equal(off.json.error.code, 'files_disabled');

	assert.equal(count(), 1);
	assert.equal(msgs(), 1);
	assert.equal(tmpFiles(), 0);
});

test('who may upload and download: auth, CSRF, tenancy, other customers, closed chats', async () => {
	const { admin, site, cust } = await setup();
	const conv = cust.conversation_id;
	const other = await widget(site.site_key);		// another customer, same site
	const orgB = await newOrg('B');
	const siteB = await siteFor(orgB.admin);
	const custB = await widget(siteB.site_key);

	const mine = await upload(cust.token, conv, 'a.txt', TEXT);
	assert.equal(mine.status, 201);
	const fid = mine.json.message.meta.file.id;

	// No auth, a bad token, a missing CSRF header.
	assert.equal((await upload(null, conv, 'a.txt', TEXT)).status, 401);
	assert.equal((await upload('not-a-real-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', conv, 'a.txt', TEXT)).status, 401);
	const nocsrf = await upload(admin, conv, 'a.txt', TEXT, { csrf: false });
	assert.equal(nocsrf.status, 403);
	assert.equal(nocsrf.json.error.code, 'csrf');
	assert.equal((await download(null, fid)).status, 401);

	// Another customer, another organisation: not found, the same answer as unknown ids.
	assert.equal((await upload(other.token, conv, 'a.txt', TEXT)).status, 404);
	assert.equal((await upload(custB.token, conv, 'a.txt', TEXT)).status, 404);
	assert.equal((await upload(orgB.admin, conv, 'a.txt', TEXT)).status, 404);
	const unknown = await download(cust.token, 999999999);
	assert.equal(unknown.status, 404);
	for (const who of [other.token, custB.token, orgB.admin]) {
		const r = await download(who, fid);
		assert.equal(r.status, 404);
		assert.equal(JSON.parse(r.body).error.code, unknown.status === 404 ? 'not_found' : '');
	}
	// Staff who may not follow the conversation.
	const agent = await staffUser(admin, 'agent', 'Alex Agent');
	assert.equal((await upload(agent, conv, 'a.txt', TEXT)).status, 403);
	assert.equal((await download(agent, fid)).status, 404);
	sql(`INSERT INTO conversation_staff (tenant_id, conversation_id, user_id)
	    SELECT tenant_id, id, ${agent.id} FROM conversations WHERE id = ${conv}`);
	assert.equal((await download(agent, fid)).status, 200);
	assert.equal((await upload(agent, conv, 'b.txt', TEXT)).status, 201);
	// Transcript: the same rules.
	const tr = (who) => fetch(`${BASE}/api/conversations/${conv}/transcript` +
	    (typeof who === 'string' ? '?token=' + who : ''), { headers: who && typeof who !== 'string' ? { cookie: who.cookieHeader() } : {} });
	assert.equal((await tr(other.token)).status, 404);
	assert.equal((await tr(custB.token)).status, 404);
	assert.equal((await tr(orgB.admin)).status, 404);
	assert.equal((await tr(null)).status, 401);

	// Closed conversations take no more files.
	sql(`UPDATE conversations SET status = 'closed', closed_at = now() WHERE id = ${conv}`);
	const closed = await upload(cust.token, conv, 'a.txt', TEXT);
	assert.equal(closed.status, 409);
	assert.equal(closed.json.error.code, 'closed');
	assert.equal((await download(cust.token, fid)).status, 200);	// still downloadable
});

test('uploads are rate-limited per conversation', async () => {
	const { cust } = await setup();
	let last;
	for (let i = 0; i < 21; i++) last = await upload(cust.token, cust.conversation_id, `n${i}.txt`, TEXT);
	assert.equal(last.status, 429);
	assert.equal(last.json.error.code, 'rate_limited');
});

test('transcript: a zip with a readable page, every visible message and the files, no notes', async () => {
	const { admin, tenant, cust } = await setup();
	const conv = cust.conversation_id;
	const cws = await connect({ token: cust.token });
	cws.send(JSON.stringify({ type: 'send', conversation_id: conv, client_id: 'c1',
	    text: 'Hello <b>bank</b> & "friends"\nsecond line' }));
	await cws.next((f) => f.type === 'ack');
	cws.close();
	const f1 = (await upload(cust.token, conv, 'statement.pdf', PDF)).json.message.meta.file;
	const f2 = (await upload(admin, conv, 'chart <1>.png', PNG)).json.message.meta.file;
	// An internal note (staff only), with a file in it: never in the transcript.
	sql(`SELECT set_config('vb.tenant_id', '${tenant}', false);
	    INSERT INTO files (tenant_id, conversation_id, uploader_kind, uploader_id, name, mime_type, size, sha256, message_seq)
	    VALUES (${tenant}, ${conv}, 'staff', 1, 'secret.txt', 'text/plain', 3, '${'0'.repeat(64)}',
	        (vb_message_add(${conv}, 'staff', NULL, 'note-1', 'INTERNAL NOTE do not show',
	        '{"internal": true, "file": {"id": 0}}')).seq)`);
	const secret = sql(`SELECT id FROM files WHERE name = 'secret.txt' AND conversation_id = ${conv}`);
	assert.equal((await download(cust.token, secret)).status, 404);

	for (const who of ['customer', 'staff']) {
		const r = await fetch(`${BASE}/api/conversations/${conv}/transcript` + (who === 'customer' ? '?token=' + cust.token : ''),
		    { headers: who === 'staff' ? { cookie: admin.cookieHeader() } : {} });
		assert.equal(r.status, 200);
		assert.equal(r.headers.get('content-type'), 'application/zip');
		assert.match(r.headers.get('content-disposition'), new RegExp(`^attachment; filename="transcript-${conv}.zip"`));
		assert.match(r.headers.get('content-security-policy'), /sandbox/);
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vbtr-'));
		const zip = path.join(dir, 't.zip');
		fs.writeFileSync(zip, Buffer.from(await r.arrayBuffer()));
		const names = execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).trim().split('\n').sort();
		assert.deepEqual(names, ['files/' + f1.id + '-statement.pdf', 'files/' + f2.id + '-chart _1_.png', 'transcript.html'].sort());
		const html = execFileSync('unzip', ['-p', zip, 'transcript.html'], { encoding: 'utf8' });
		assert.match(html, /Harbour Bank/);
		assert.match(html, /Hello &lt;b&gt;bank&lt;\/b&gt; &amp; &quot;friends&quot;<br>second line/);
		assert.match(html, new RegExp(`href="files/${f1.id}-statement.pdf">statement.pdf</a>`));
		assert.match(html, new RegExp(`href="files/${f2.id}-chart%20_1_.png">chart &lt;1&gt;.png</a>`));
		assert.match(html, /Test Admin/);
		assert.doesNotMatch(html, /INTERNAL NOTE|secret\.txt/);
		assert.doesNotMatch(html, /<script/i);
		assert.deepEqual(execFileSync('unzip', ['-p', zip, `files/${f1.id}-statement.pdf`]), PDF);
		assert.deepEqual(execFileSync('unzip', ['-p', zip, `files/${f2.id}-chart _1_.png`]), PNG);
		fs.rmSync(dir, { recursive: true });
	}
	// The list for the customer leaves the note's file out too.
	const lj = await (await fetch(`${BASE}/api/conversations/${conv}/files?token=${cust.token}`)).json();
	assert.deepEqual(lj.files.map((f) => f.id), [f1.id, f2.id]);
});

// vbctl sweep-files: blobs no row names (a failed commit, a deleted
// conversation) go once old; named ones, young ones and other organisations'
// stay; stale upload temporaries go.
test('sweep-files removes orphaned blobs only', async () => {
	const { admin, tenant, cust } = await setup();
	const conv = cust.conversation_id;
	const up = await upload(cust.token, conv, 'statement.pdf', PDF);
	assert.equal(up.status, 201, up.text);
	const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
	const blob = (t, h) => path.join(process.env.VB_VAR, 'files', String(t), h.slice(0, 2), h);
	const old = (p) => fs.utimesSync(p, new Date(Date.now() - 7200e3), new Date(Date.now() - 7200e3));
	const put = (t, b) => {
		const p = blob(t, sha(b));
		fs.mkdirSync(path.dirname(p), { recursive: true });
		fs.writeFileSync(p, b);
		return p;
	};
	const named = blob(tenant, sha(PDF));
	assert.ok(fs.existsSync(named));
	old(named);
	const orphan = put(tenant, Buffer.from('bytes whose commit failed ' + unique('x')));
	old(orphan);
	const young = put(tenant, Buffer.from('bytes being stored right now ' + unique('y')));
	// The same bytes as another organisation's file: named there, not here.
	const other = await setup();
	const up2 = await upload(other.cust.token, other.cust.conversation_id, 'chart.png', PNG);
	assert.equal(up2.status, 201, up2.text);
	const otherNamed = blob(other.tenant, sha(PNG));
	old(otherNamed);
	const sameBytesHere = put(tenant, PNG);
	old(sameBytesHere);
	const tmp = path.join(process.env.VB_VAR, 'files', 'tmp', 'up-stale-' + unique('t'));
	fs.writeFileSync(tmp, 'half an upload');
	old(tmp);

	const out = execFileSync(VBCTL, ['sweep-files'], { encoding: 'utf8', env: process.env });
	assert.match(out, /removed [1-9]\d* orphaned files/);
	assert.ok(fs.existsSync(named), 'a blob a row names stays');
	assert.ok(fs.existsSync(otherNamed), "another organisation's blob stays");
	assert.ok(fs.existsSync(young), 'a young blob stays (its row may be on its way)');
	assert.ok(!fs.existsSync(orphan), 'the orphan is gone');
	assert.ok(!fs.existsSync(sameBytesHere), 'bytes named only in another organisation are an orphan here');
	assert.ok(!fs.existsSync(tmp), 'the stale temporary is gone');
	assert.deepEqual((await download(admin, up.json.message.meta.file.id)).body, PDF);
	// A deleted conversation's files become orphans.
	sql(`DELETE FROM conversations WHERE id = ${conv}`);
	execFileSync(VBCTL, ['sweep-files'], { env: process.env });
	assert.ok(!fs.existsSync(named));
	// Bad arguments: usage, nothing done.
	assert.throws(() => execFileSync(VBCTL, ['sweep-files', 'soon'], { stdio: 'pipe' }), (e) => e.status === 2);
});
