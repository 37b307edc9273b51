// HTTPS through nginx with conf/nginx.conf, as deployed in front of Kore.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';

const dir = path.join(process.env.VB_VAR, 'nginx');
let nginx, port;

function freePort() {
	return new Promise((res) => {
		const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
	});
}

function get(p, headers = {}, localAddress = '127.0.0.1') {
	return new Promise((res, rej) => {
		https.get({ host: '127.0.0.1', port, path: p, rejectUnauthorized: false, headers, localAddress }, (r) => {
			let body = '';
			r.on('data', (d) => { body += d; });
			r.on('end', () => res({ status: r.statusCode, headers: r.headers, body }));
		}).on('error', rej);
	});
}

before(async () => {
	fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
	execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
	    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'],
	    { stdio: 'ignore' });
	port = await freePort();
	const kore = new URL(process.env.VB_TEST_URL);
	// The shipped file, with the "# site:" lines pointed at this test.
	const conf = fs.readFileSync(path.join(process.env.VB_ROOT, 'conf/nginx.conf'), 'utf8')
	    .replace(/^user .*$/m, '')
	    .replace(/^pid .*$/m, `pid ${dir}/nginx.pid;`)
	    .replace(/^error_log .*$/m, `error_log ${dir}/logs/error.log warn;`)
	    .replace(/access_log .*;/, `access_log ${dir}/logs/access.log;`)
	    .replace(/server 127\.0\.0\.1:8888;/, `server ${kore.host};`)
	    .replace(/listen 80;/, `listen 127.0.0.1:${await freePort()};`)
	    .replace(/listen 443 ssl http2;/, `listen 127.0.0.1:${port} ssl;`)
	    .replace(/ssl_certificate \/etc\S+;/, `ssl_certificate ${dir}/cert.pem;`)
	    .replace(/ssl_certificate_key \/etc\S+;/, `ssl_certificate_key ${dir}/key.pem;`)
	    .replace(/worker_processes auto;/, 'worker_processes 1;\ndaemon off;')
	    .replace(/worker_connections 16384;/, 'worker_connections 256;');
	fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
	execFileSync('nginx', ['-t', '-q', '-p', dir, '-c', path.join(dir, 'nginx.conf')]);
	nginx = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
	for (let i = 0; i < 50; i++) {
		try { await get('/healthz'); return; } catch { await new Promise((r) => setTimeout(r, 100)); }
	}
	throw new Error('nginx did not start');
});

after(() => { if (nginx) nginx.kill('SIGQUIT'); });

test('HTTPS through nginx reaches Kore, keeps security headers, and carries the request id', async () => {
	const r = await get('/healthz');
	assert.equal(r.status, 200);
	assert.equal(JSON.parse(r.body).status, 'ok');
	assert.match(r.headers['x-request-id'], /^[\w-]+$/);
	const page = await get('/login');
	assert.equal(page.status, 200);
	assert.match(page.headers['content-security-policy'], /script-src 'self' 'nonce-/);
	assert.equal(page.headers['x-frame-options'], 'DENY');
	const api = await get('/api/me');
	assert.equal(api.status, 401);
	assert.equal(JSON.parse(api.body).error.code, 'unauthenticated');
});

test('metrics are served to the local monitor only', async () => {
	assert.equal((await get('/metrics')).status, 200);
	// Another source address (still loopback) stands in for the outside.
	assert.equal((await get('/metrics', {}, '127.0.0.2')).status, 403);
	assert.equal((await get('/healthz', {}, '127.0.0.2')).status, 200);
});
