// Health, metrics, request ids, logs, and behaviour while Redis is down.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Client, newOrg } from '../lib/vb.mjs';

const BASE = process.env.VB_TEST_URL;

test('healthz reports both stores', async () => {
	const r = await fetch(BASE + '/healthz');
	assert.equal(r.status, 200);
	assert.deepEqual(await r.json(), { status: 'ok', postgres: 'ok', redis: 'ok' });
});

test('metrics in Prometheus text format', async () => {
	await fetch(BASE + '/healthz');
	const text = await (await fetch(BASE + '/metrics')).text();
	assert.match(text, /# TYPE vb_http_requests_total counter/);
	assert.match(text, /vb_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
	assert.match(text, /vb_http_request_duration_seconds_bucket\{method="GET",route="\/healthz",le="\+Inf"\} \d+/);
	assert.match(text, /vb_websockets_open \d+/);
	assert.match(text, /vb_db_connections\{state="idle"\} \d+/);
	assert.match(text, /vb_db_queue_depth \d+/);
});

test('request ids are echoed, generated, and logged as JSON lines', async () => {
	const r = await fetch(BASE + '/healthz', { headers: { 'x-request-id': 'trace-abc-123' } });
	assert.equal(r.headers.get('x-request-id'), 'trace-abc-123');
	const g = await fetch(BASE + '/healthz', { headers: { 'x-request-id': 'bad id<script>' } });
	assert.match(g.headers.get('x-request-id'), /^[\w-]{22}$/);
	await new Promise((res) => setTimeout(res, 200));
	const log = execFileSync('grep', ['trace-abc-123', process.env.VB_VAR + '/server.log'], { encoding: 'utf8' });
	const line = JSON.parse(log.trim().split('\n')[0]);
	assert.equal(line.request_id, 'trace-abc-123');
	assert.equal(line.status, 200);
	assert.equal(line.route, '/healthz');
});

test('pages carry a CSP with a fresh nonce and no inline script', async () => {
	const a = await fetch(BASE + '/login');
	const b = await fetch(BASE + '/login');
	const csp = a.headers.get('content-security-policy');
	assert.match(csp, /script-src 'self' 'nonce-[\w-]+'/);
	assert.doesNotMatch(csp, /unsafe-inline/);
	assert.notEqual(csp, b.headers.get('content-security-policy'));
	const html = await a.text();
	const nonce = csp.match(/nonce-([\w-]+)/)[1];
	for (const tag of html.match(/<script[^>]*>/g) || [])
		assert.ok(tag.includes(`nonce="${nonce}"`) && tag.includes('src='), tag);
	assert.equal(a.headers.get('x-frame-options'), 'DENY');
});

test('static files: known types only, no path traversal', async () => {
	assert.equal((await fetch(BASE + '/static/../conf/kore.conf.in')).status, 404);
	assert.equal((await fetch(BASE + '/static/%2e%2e/Makefile')).status, 404);
	assert.equal((await fetch(BASE + '/static/admin/nope.js')).status, 404);
	const css = await fetch(BASE + '/static/admin/app.css');
	assert.equal(css.status, 200);
	assert.match(css.headers.get('content-type'), /^text\/css/);
});

test('Redis down: sign-in answers 503, sessions keep working, recovery is automatic', async () => {
	const { admin, email, password } = await newOrg();
	const sock = process.env.VB_VAR + '/run/redis.sock';
	execFileSync('redis-cli', ['-s', sock, 'shutdown', 'nosave']);
	try {
		await new Promise((res) => setTimeout(res, 300));
		const c = new Client();
		await c.get('/login');
		const r = await c.post('/api/auth/login', { email, password });
		assert.equal(r.status, 503);
		assert.equal(r.json.error.code, 'unavailable');
		const h = await fetch(BASE + '/healthz');
		assert.equal(h.status, 503);
		assert.equal((await h.json()).redis, 'down');
		assert.equal((await admin.get('/api/users')).status, 200);
	} finally {
		execFileSync(process.env.VB_ROOT + '/conf/bin/vb-services', ['start']);
	}
	let ok = false;
	for (let i = 0; i < 40 && !ok; i++) {
		await new Promise((res) => setTimeout(res, 250));
		ok = (await fetch(BASE + '/healthz')).status === 200 && (await fetch(BASE + '/healthz')).status === 200;
	}
	assert.ok(ok, 'healthz recovers');
	const c2 = new Client();
	assert.equal((await c2.login(email, password)).status, 200);
});
