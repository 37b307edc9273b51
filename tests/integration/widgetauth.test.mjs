// Widget customer authorisation (W3), per-site appearance (W1) and context
// relay (W19): admin settings (audited, validated), the public config and
// challenge endpoints, CAPTCHA (ALTCHA) and signed-token sessions with every
// bad input the issue names, and the conversation's context.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { Client, sql, newOrg, unique } from '../lib/vb.mjs';

const BASE = process.env.VB_TEST_URL;
const ORIGIN = 'http://127.0.0.2:9';

async function call(method, path, { origin = ORIGIN, body } = {}) {
	const headers = {};
	if (origin) headers.origin = origin;
	if (body !== undefined) headers['content-type'] = 'application/json';
	const r = await fetch(BASE + path, { method, headers,
	    body: body === undefined ? undefined : JSON.stringify(body) });
	const text = await r.text();
	let json = null;
	try { json = JSON.parse(text); } catch { /* not JSON */ }
	return { status: r.status, headers: r.headers, json };
}
const session = (body, origin) => call('POST', '/api/widget/session', { origin, body });
const code = (r) => r.json && r.json.error && r.json.error.code;

async function site(admin, name = 'Bank') {
	const r = await admin.post('/api/sites', { name, allowed_origins: [ORIGIN] });
	assert.equal(r.status, 201);
	return r.json.site;
}

// These tests open many sessions from 127.0.0.1 within a minute; the
// per-address limit (60 a minute) is not what they test, so its counter in
// the stack's private Redis is cleared before each.
function resetRate() {
	const sock = process.env.VB_REDIS_URL.replace(/^unix:\/\//, '');
	execFileSync('redis-cli', ['-s', sock, 'DEL', 'vb:wsess:127.0.0.1']);
}
test.beforeEach(resetRate);

function solve(ch) {
	for (let n = 0; n <= ch.maxnumber; n++)
		if (crypto.createHash('sha256').update(ch.salt + n).digest('hex') === ch.challenge)
			return n;
	throw new Error('no solution');
}
const payload = (o) => Buffer.from(JSON.stringify(o)).toString('base64');
const b64u = (b) => Buffer.from(b).toString('base64url');

test('appearance: validated, contrast-checked, audited, per tenant; config answers the page', async () => {
	const { admin } = await newOrg();
	const s = await site(admin);
	let r = await admin.get(`/api/sites/${s.id}/widget`);
	assert.equal(r.status, 200);
	assert.equal(r.json.auth.mode, 'anonymous');
	assert.deepEqual(r.json.appearance, {});

	r = await admin.put(`/api/sites/${s.id}/appearance`, { position: 'left', colour: '#0B5CAD',
	    logo_url: 'https://bank.example/logo.svg', language: 'en', greeting: 'Welcome to Harbour Bank' });
	assert.equal(r.status, 200, JSON.stringify(r.json));
	assert.deepEqual(r.json.appearance, { position: 'left', colour: '#0b5cad',
	    logo_url: 'https://bank.example/logo.svg', language: 'en', greeting: 'Welcome to Harbour Bank' });
	assert.equal(sql(`SELECT after->>'position' FROM audit_log WHERE action = 'site.appearance' AND object_id = '${s.id}'`), 'left');

	const bad = [
		[{ colour: '#ffcc00' }, 'colour', 'low_contrast'],
		[{ colour: '#777777' }, 'colour', 'low_contrast'],
		[{ colour: 'blue' }, 'colour', 'invalid'],
		[{ position: 'top' }, 'position', 'invalid'],
		[{ logo_url: 'javascript:alert(1)' }, 'logo_url', 'invalid'],
		[{ logo_url: '//evil.example/x.png' }, 'logo_url', 'invalid'],
		[{ logo_url: 'http://bank.example/x.png' }, 'logo_url', 'invalid'],
		[{ language: 'xx' }, 'language', 'invalid'],
		[{ language: '../../etc/passwd' }, 'language', 'invalid'],
		[{ greeting: 'x'.repeat(301) }, 'greeting', 'invalid'],
		[{ greeting: 42 }, 'greeting', 'invalid'],
	];
	for (const [body, field, c] of bad) {
		r = await admin.put(`/api/sites/${s.id}/appearance`, body);
		assert.equal(r.status, 422, JSON.stringify(body));
		assert.equal(r.json.error.field, field, JSON.stringify(body));
		assert.equal(r.json.error.code, c, JSON.stringify(body));
	}
	r = await admin.put(`/api/sites/${s.id}/appearance`, { colour: '#ffcc00' });
	assert.match(r.json.error.message, /contrast of 1\.\d\d:1.*4\.5:1/);
	assert.equal((await admin.get(`/api/sites/${s.id}/widget`)).json.appearance.colour, '#0b5cad',
	    'refused changes change nothing');
	assert.equal((await admin.put(`/api/sites/${s.id}/appearance`, { position: 'left', logo_url: '/static/logo.svg' })).status, 200);

	// Another organisation's site is not found; without sites.write, forbidden.
	const other = await newOrg();
	assert.equal((await other.admin.put(`/api/sites/${s.id}/appearance`, { position: 'left' })).status, 404);
	assert.equal((await other.admin.get(`/api/sites/${s.id}/widget`)).status, 404);
	assert.equal((await new Client().put(`/api/sites/${s.id}/appearance`, { position: 'left' })).status, 401);

	// The public config: the page's origin must be allowed; no secrets.
	r = await call('GET', `/api/widget/config?site_key=${s.site_key}`);
	assert.equal(r.status, 200);
	assert.equal(r.headers.get('access-control-allow-origin'), ORIGIN);
	assert.equal(r.json.appearance.logo_url, '/static/logo.svg');
	assert.equal(r.json.auth.mode, 'anonymous');
	assert.equal(code(await call('GET', `/api/widget/config?site_key=${s.site_key}`, { origin: 'https://evil.example' })), 'origin_not_allowed');
	assert.equal((await call('GET', `/api/widget/config?site_key=${s.site_key}`, { origin: null })).status, 403);
	assert.equal(code(await call('GET', '/api/widget/config?site_key=pk_nosuchkey0000000000')), 'unknown_site');
	assert.equal(code(await call('GET', '/api/widget/config?site_key=a%20b')), 'unknown_site');
	// The session answer carries the appearance for the panel.
	r = await session({ site_key: s.site_key });
	assert.equal(r.status, 201);
	assert.equal(r.json.appearance.position, 'left');
});

test('auth settings: validated and audited; HS256 secret shown once, never listed', async () => {
	const { admin } = await newOrg();
	const s = await site(admin);
	const bad = [
		[{ mode: 'magic' }, 'mode'], [{}, 'mode'], [{ mode: 'token', alg: 'none' }, 'alg'],
		[{ mode: 'token', alg: 'RS256' }, 'alg'], [{ mode: 'token' }, 'public_key'],
		[{ mode: 'token', alg: 'EdDSA', public_key: 'AAAA' }, 'public_key'],
		[{ mode: 'captcha', complexity: 10 }, 'complexity'],
		[{ mode: 'captcha', complexity: 'hard' }, 'complexity'],
	];
	for (const [body, field] of bad) {
		const r = await admin.put(`/api/sites/${s.id}/auth`, body);
		assert.equal(r.status, 422, JSON.stringify(body));
		assert.equal(r.json.error.field, field, JSON.stringify(body));
	}
	let r = await admin.put(`/api/sites/${s.id}/auth`, { mode: 'token', alg: 'HS256' });
	assert.equal(r.status, 422);
	assert.equal(code(r), 'no_secret');
	r = await admin.post(`/api/sites/${s.id}/token-secret`);
	assert.equal(r.status, 200);
	assert.match(r.json.secret, /^[\w-]{43}$/);
	assert.equal(r.json.site.auth.has_secret, true);
	const listed = JSON.stringify((await admin.get(`/api/sites/${s.id}/widget`)).json) +
	    JSON.stringify((await admin.get('/api/sites')).json);
	assert.ok(!listed.includes(r.json.secret), 'the secret is never answered again');
	const audit = sql(`SELECT string_agg(action || coalesce(after::text, ''), ' ') FROM audit_log WHERE object_id = '${s.id}' AND action LIKE 'site.token_secret%'`);
	assert.match(audit, /site\.token_secret_create/);
	assert.ok(!audit.includes(r.json.secret));
	const again = await admin.post(`/api/sites/${s.id}/token-secret`);
	assert.notEqual(again.json.secret, r.json.secret, 'rotation gives a new secret');
	r = await admin.put(`/api/sites/${s.id}/auth`, { mode: 'token', alg: 'HS256', audience: 'bank-app' });
	assert.equal(r.status, 200);
	assert.equal(r.json.auth.audience, 'bank-app');
	assert.equal(sql(`SELECT after->>'mode' FROM audit_log WHERE action = 'site.auth' AND object_id = '${s.id}'`), 'token');
	const other = await newOrg();
	assert.equal((await other.admin.post(`/api/sites/${s.id}/token-secret`)).status, 404);
	assert.equal((await other.admin.put(`/api/sites/${s.id}/auth`, { mode: 'anonymous' })).status, 404);
});

test('captcha: ALTCHA challenge, single-use solution, forged and expired ones refused', async () => {
	const { admin } = await newOrg();
	const s = await site(admin);
	assert.equal(code(await call('GET', `/api/widget/challenge?site_key=${s.site_key}`)), 'captcha_not_used');
	assert.equal((await admin.put(`/api/sites/${s.id}/auth`, { mode: 'captcha', complexity: 5000 })).status, 200);
	assert.equal((await call('GET', `/api/widget/config?site_key=${s.site_key}`)).json.auth.mode, 'captcha');

	assert.equal(code(await session({ site_key: s.site_key })), 'captcha_required');
	assert.equal(code(await call('GET', `/api/widget/challenge?site_key=${s.site_key}`, { origin: 'https://evil.example' })), 'origin_not_allowed');
	assert.equal(code(await call('GET', '/api/widget/challenge?site_key=pk_nosuchkey0000000000')), 'unknown_site');

	const r = await call('GET', `/api/widget/challenge?site_key=${s.site_key}`);
	assert.equal(r.status, 200);
	assert.equal(r.headers.get('access-control-allow-origin'), ORIGIN);
	const ch = r.json;
	assert.equal(ch.algorithm, 'SHA-256');
	assert.equal(ch.maxnumber, 5000);
	assert.match(ch.salt, /^[0-9a-f]{24}\?expires=\d+&site=\d+&$/);
	const expires = Number(/expires=(\d+)/.exec(ch.salt)[1]);
	assert.ok(expires > Date.now() / 1000 + 500 && expires < Date.now() / 1000 + 700);
	const number = solve(ch);
	const good = payload({ algorithm: 'SHA-256', challenge: ch.challenge, number, salt: ch.salt, signature: ch.signature });

	let w = await session({ site_key: s.site_key, altcha: payload({ ...JSON.parse(Buffer.from(good, 'base64')), number: number + 1 }) });
	assert.equal(code(w), 'captcha_wrong');
	w = await session({ site_key: s.site_key, altcha: payload({ algorithm: 'SHA-256', challenge: ch.challenge, number, salt: ch.salt,
	    signature: crypto.createHmac('sha256', 'guess').update(ch.challenge).digest('hex') }) });
	assert.equal(code(w), 'captcha_forged');
	assert.equal(code(await session({ site_key: s.site_key, altcha: 'not base64!' })), 'captcha_invalid');
	assert.equal(code(await session({ site_key: s.site_key, altcha: payload({ algorithm: 'SHA-1' }) })), 'captcha_invalid');
	assert.equal(code(await session({ site_key: s.site_key, altcha: 'x'.repeat(5000) })), 'captcha_invalid');

	// A bad context is refused before the solution is spent.
	assert.equal((await session({ site_key: s.site_key, altcha: good, context: { device: 5 } })).status, 422);
	w = await session({ site_key: s.site_key, altcha: good });
	assert.equal(w.status, 201, JSON.stringify(w.json));
	assert.equal(sql(`SELECT auth_mode FROM conversations WHERE id = ${w.json.conversation_id}`), 'captcha');
	const reuse = await session({ site_key: s.site_key, altcha: good });
	assert.equal(reuse.status, 403);
	assert.equal(code(reuse), 'captcha_reused');

	// A challenge for another site does not open this one.
	const s2 = await site(admin, 'Other');
	await admin.put(`/api/sites/${s2.id}/auth`, { mode: 'captcha', complexity: 1000 });
	const ch2 = (await call('GET', `/api/widget/challenge?site_key=${s2.site_key}`)).json;
	assert.equal(code(await session({ site_key: s.site_key, altcha: payload({ algorithm: 'SHA-256',
	    challenge: ch2.challenge, number: solve(ch2), salt: ch2.salt, signature: ch2.signature }) })), 'captcha_forged');

	// Expired: signed with the server's own key (derived as documented).
	const master = Buffer.from(sql("SELECT encode(value, 'hex') FROM server_secrets WHERE name = 'master'"), 'hex');
	const key = crypto.createHmac('sha256', master).update('vb-key:altcha').digest();
	const salt = `00112233445566778899aabb?expires=${Math.floor(Date.now() / 1000) - 5}&site=${s.id}&`;
	const challenge = crypto.createHash('sha256').update(salt + 7).digest('hex');
	const sig = crypto.createHmac('sha256', key).update(challenge).digest('hex');
	assert.equal(code(await session({ site_key: s.site_key, altcha: payload({ algorithm: 'SHA-256', challenge, number: 7, salt, signature: sig }) })), 'captcha_expired');
	// The same, not yet expired, is accepted: the key derivation is right.
	const salt2 = salt.replace(/expires=\d+/, `expires=${Math.floor(Date.now() / 1000) + 60}`);
	const challenge2 = crypto.createHash('sha256').update(salt2 + 7).digest('hex');
	assert.equal((await session({ site_key: s.site_key, altcha: payload({ algorithm: 'SHA-256', challenge: challenge2, number: 7,
	    salt: salt2, signature: crypto.createHmac('sha256', key).update(challenge2).digest('hex') }) })).status, 201);
});

function jws(header, claims, sign) {
	const input = b64u(JSON.stringify(header)) + '.' + b64u(JSON.stringify(claims));
	return input + '.' + b64u(sign(Buffer.from(input)));
}

test('token: EdDSA and HS256 JWS, claims, replay, audience, algorithm confusion', async () => {
	const { admin, tenant } = await newOrg();
	const s = await site(admin);
	const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
	const x = publicKey.export({ format: 'jwk' }).x;
	let r = await admin.put(`/api/sites/${s.id}/auth`, { mode: 'token', alg: 'EdDSA', public_key: x });
	assert.equal(r.status, 200, JSON.stringify(r.json));
	assert.equal(r.json.auth.public_key, Buffer.from(x, 'base64url').toString('base64'));
	const ed = (b) => crypto.sign(null, b, privateKey);
	const now = Math.floor(Date.now() / 1000);
	const ext = unique('cust');
	const claims = (o = {}) => ({ sub: ext, name: 'Ada Lovelace', email: 'ada@example.com', vip: 80,
	    iat: now, exp: now + 120, jti: crypto.randomUUID(), aud: s.site_key, ...o });
	const tok = (o, h = { alg: 'EdDSA', typ: 'JWT' }, sign = ed) => jws(h, claims(o), sign);

	assert.equal(code(await session({ site_key: s.site_key })), 'token_required');
	const good = tok();
	r = await session({ site_key: s.site_key, token: good });
	assert.equal(r.status, 201, JSON.stringify(r.json));
	const row = sql(`SELECT c.external_id || '|' || c.display_name || '|' || c.email || '|' || v.importance || '|' || v.auth_mode
	    FROM conversations v JOIN customers c ON c.id = v.customer_id WHERE v.id = ${r.json.conversation_id}`);
	assert.equal(row, `${ext}|Ada Lovelace|ada@example.com|80|token`);
	assert.equal(code(await session({ site_key: s.site_key, token: good })), 'token_replayed');

	// The same customer next time, with their new name; no duplicate.
	r = await session({ site_key: s.site_key, token: tok({ name: 'Ada King', vip: 10 }) });
	assert.equal(r.status, 201);
	assert.equal(sql(`SELECT count(*) || display_name FROM customers WHERE tenant_id = ${tenant} AND external_id = '${ext}' GROUP BY display_name`), '1Ada King');
	// A correlation id of a tokenised customer does not open them anonymously.
	await admin.put(`/api/sites/${s.id}/auth`, { mode: 'anonymous' });
	const anon = await session({ site_key: s.site_key, correlation_id: r.json.correlation_id });
	assert.notEqual(anon.json.customer_id, r.json.customer_id);
	await admin.put(`/api/sites/${s.id}/auth`, { mode: 'token', alg: 'EdDSA', public_key: x });

	const cases = [
		[tok({ exp: now - 60 }), 'token_expired'],
		[tok({ exp: now + 3600 }), 'token_too_long'],
		[tok({ aud: 'someone-else' }), 'token_audience'],
		[tok({ aud: undefined }), 'token_audience'],
		[tok({ sub: undefined }), 'token_invalid'],
		[tok({ jti: undefined }), 'token_invalid'],
		[tok({ exp: undefined }), 'token_invalid'],
		[tok({ vip: 101 }), 'token_invalid'],
		[tok({ email: 'not an address' }), 'token_invalid'],
		[tok({}, { alg: 'HS256' }), 'token_alg_mismatch'],
		[tok({}, { alg: 'none' }), 'token_alg_mismatch'],
		[tok({}, { alg: 'EdDSA', crit: ['exp'] }), 'token_invalid'],
		[tok({}, { alg: 'EdDSA' }, (b) => crypto.sign(null, b, crypto.generateKeyPairSync('ed25519').privateKey)), 'token_signature'],
		[b64u('{"alg":"none"}') + '.' + b64u(JSON.stringify(claims())) + '.', 'token_invalid'],
		[good.replace(/\.[^.]+$/, '') + '.' + b64u(Buffer.alloc(64)) + '=', 'token_invalid'],
		['a.b.c.d', 'token_invalid'],
		['x'.repeat(5000), 'token_invalid'],
	];
	for (const [t, c] of cases) {
		r = await session({ site_key: s.site_key, token: t });
		assert.equal(r.status, 401, c + ' ' + JSON.stringify(r.json));
		assert.equal(code(r), c);
	}
	// Payload altered after signing.
	const parts = tok().split('.');
	parts[1] = b64u(JSON.stringify({ ...claims(), sub: 'someone-else' }));
	assert.equal(code(await session({ site_key: s.site_key, token: parts.join('.') })), 'token_signature');
	// Wrong origin and unknown site key come first.
	assert.equal(code(await session({ site_key: s.site_key, token: tok() }, 'https://evil.example')), 'origin_not_allowed');
	assert.equal(code(await session({ site_key: 'pk_nosuchkey0000000000', token: tok() })), 'unknown_site');
	const other = await newOrg();
	const foreign = await site(other.admin);
	const theirs = crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x;
	await other.admin.put(`/api/sites/${foreign.id}/auth`, { mode: 'token', public_key: theirs });
	assert.equal(code(await session({ site_key: foreign.site_key, token: tok({ aud: foreign.site_key }) })), 'token_signature',
	    'our key does not sign for another organisation\'s site');

	// HS256 with the server-made secret, and a custom audience.
	const secret = Buffer.from((await admin.post(`/api/sites/${s.id}/token-secret`)).json.secret, 'base64url');
	await admin.put(`/api/sites/${s.id}/auth`, { mode: 'token', alg: 'HS256', audience: 'harbour' });
	const hs = (b) => crypto.createHmac('sha256', secret).update(b).digest();
	r = await session({ site_key: s.site_key, token: tok({ aud: 'harbour' }, { alg: 'HS256' }, hs) });
	assert.equal(r.status, 201, JSON.stringify(r.json));
	assert.equal(code(await session({ site_key: s.site_key, token: tok({ aud: s.site_key }, { alg: 'HS256' }, hs) })), 'token_audience');
	assert.equal(code(await session({ site_key: s.site_key, token: tok({ aud: 'harbour' }, { alg: 'EdDSA' }) })), 'token_alg_mismatch');
	// Alg confusion: an HS256 token keyed with the old public key is refused.
	const confused = (b) => crypto.createHmac('sha256', Buffer.from(x, 'base64url')).update(b).digest();
	assert.equal(code(await session({ site_key: s.site_key, token: tok({ aud: 'harbour' }, { alg: 'HS256' }, confused) })), 'token_signature');
});

test('context: sent with the session and on page change, validated, 8 KB at most', async () => {
	const { admin } = await newOrg();
	const s = await site(admin);
	const ctx = { device: 'desktop', browser: 'Chrome 120', os: 'Linux', language: 'en-GB', screen: '1280x720',
	    time_zone: 'Europe/London', page: { url: 'https://bank.example/loans', title: 'Loans' },
	    pages: [{ url: 'https://bank.example/', title: 'Home', at: '2026-11-21T10:00:00Z' },
		{ url: 'https://bank.example/loans', title: 'Loans', at: '2026-11-21T10:01:00Z' }], extra: 'dropped' };
	let r = await session({ site_key: s.site_key, context: ctx });
	assert.equal(r.status, 201, JSON.stringify(r.json));
	const stored = JSON.parse(sql(`SELECT context FROM conversations WHERE id = ${r.json.conversation_id}`));
	assert.equal(stored.page.title, 'Loans');
	assert.equal(stored.pages.length, 2);
	assert.equal(stored.time_zone, 'Europe/London');
	assert.equal(stored.extra, undefined, 'unknown members are dropped');

	const big = { ...ctx, pages: Array.from({ length: 20 }, (_, i) => ({ url: 'https://bank.example/' + 'p'.repeat(400) + i, title: 'T' })) };
	assert.equal(code(await session({ site_key: s.site_key, context: big })), 'context_too_large');
	const many = { pages: Array.from({ length: 21 }, () => ({ url: 'https://bank.example/' })) };
	assert.equal(code(await session({ site_key: s.site_key, context: many })), 'context_too_large');
	for (const bad of [{ page: { url: 'javascript:alert(1)' } }, { device: 7 }, { pages: 'x' }, []]) {
		const b = await session({ site_key: s.site_key, context: bad });
		assert.equal(b.status, 422, JSON.stringify(bad));
	}

	const upd = { ...ctx, page: { url: 'https://bank.example/mortgages', title: 'Mortgages' } };
	const post = (body, origin) => call('POST', '/api/widget/context', { origin, body });
	assert.equal((await post({ token: r.json.token, conversation_id: r.json.conversation_id, context: upd })).status, 200);
	assert.equal(sql(`SELECT context->'page'->>'title' FROM conversations WHERE id = ${r.json.conversation_id}`), 'Mortgages');
	assert.equal(code(await post({ token: 'x'.repeat(43), conversation_id: r.json.conversation_id, context: upd })), 'unauthenticated');
	const r2 = await session({ site_key: s.site_key });
	assert.equal(code(await post({ token: r2.json.token, conversation_id: r.json.conversation_id, context: upd })), 'not_found');
	assert.equal(code(await post({ token: r.json.token, conversation_id: r.json.conversation_id, context: big })), 'context_too_large');
	assert.equal((await post({ token: r.json.token, conversation_id: r.json.conversation_id, context: upd }, null)).status, 403);
	const pre = await fetch(BASE + '/api/widget/context', { method: 'OPTIONS', headers: { origin: ORIGIN } });
	assert.equal(pre.status, 204);
});

test('e-mail code: SMTP settings sealed and audited, code sent, wrong/expired/too many/reused refused', async () => {
	const { smtpSink } = await import('../lib/smtpsink.mjs');
	const sink = await smtpSink();
	try {
		const { admin } = await newOrg();
		const s = await site(admin);
		assert.equal((await admin.put(`/api/sites/${s.id}/auth`, { mode: 'email_otp' })).status, 200);
		// Not configured yet.
		let r = await call('POST', '/api/widget/otp', { body: { site_key: s.site_key, email: 'ada@example.com' } });
		assert.equal(r.status, 503);
		assert.equal(code(r), 'mail_not_configured');

		for (const [body, field] of [[{ host: 'mail example', port: 25, from_address: 'a@b.example' }, 'host'],
		    [{ host: 'mail.example', port: 0, from_address: 'a@b.example' }, 'port'],
		    [{ host: 'mail.example', port: 25, from_address: 'nobody' }, 'from_address'],
		    [{ host: 'mail.example', port: 25, starttls: 'yes', from_address: 'a@b.example' }, 'starttls'],
		    [{ host: 'mail.example', port: 25, password: 'x'.repeat(300), from_address: 'a@b.example' }, 'password']]) {
			r = await admin.put('/api/smtp', body);
			assert.equal(r.status, 422, JSON.stringify(body));
			assert.equal(r.json.error.field, field);
		}
		r = await admin.put('/api/smtp', { host: '127.0.0.1', port: sink.port, starttls: false,
		    username: 'relay-user', password: 'S3cret-Relay-Pw', from_address: 'chat@bank.example' });
		assert.equal(r.status, 200, JSON.stringify(r.json));
		assert.equal(r.json.smtp.has_password, true);
		assert.ok(!JSON.stringify(r.json).includes('S3cret'), 'the password is never answered');
		assert.ok(!JSON.stringify((await admin.get('/api/smtp')).json).includes('S3cret'));
		assert.ok(!sql(`SELECT encode(password_sealed, 'escape') FROM smtp_settings`).includes('S3cret-Relay-Pw'), 'sealed at rest');
		assert.ok(!sql("SELECT string_agg(coalesce(before::text, '') || after::text, ' ') FROM audit_log WHERE action = 'smtp.update'").includes('S3cret'));
		assert.equal(sql(`SELECT after->>'host' FROM audit_log WHERE action = 'smtp.update' ORDER BY id DESC LIMIT 1`), '127.0.0.1');
		// Saving without a password keeps it.
		r = await admin.put('/api/smtp', { host: '127.0.0.1', port: sink.port, starttls: false, username: 'relay-user',
		    from_address: 'chat@bank.example' });
		assert.equal(r.json.smtp.has_password, true);

		const email = unique('ada') + '@Example.com';
		r = await call('POST', '/api/widget/otp', { body: { site_key: s.site_key, email } });
		assert.equal(r.status, 202, JSON.stringify(r.json));
		assert.equal(r.headers.get('access-control-allow-origin'), ORIGIN);
		const mail = await sink.next((m) => m.to.includes(email.toLowerCase()));
		assert.equal(mail.from, 'chat@bank.example');
		assert.deepEqual(mail.auth, { user: 'relay-user', pass: 'S3cret-Relay-Pw' }, 'the sealed password opens');
		const otp = /^\s+(\d{6})$/m.exec(mail.data)[1];
		assert.match(mail.data, /Subject: Your chat code: \d{6}/);
		assert.match(mail.data, /start a chat on Bank is:/);
		assert.equal(sql(`SELECT count(*) FROM widget_otps WHERE code_hash = convert_to('${otp}', 'UTF8')`), '0', 'stored as an HMAC');

		assert.equal(code(await session({ site_key: s.site_key })), 'otp_required');
		assert.equal(code(await session({ site_key: s.site_key, email, code: '12345' })), 'invalid');
		const wrong = otp === '000000' ? '000001' : '000000';
		r = await session({ site_key: s.site_key, email, code: wrong });
		assert.equal(r.status, 401);
		assert.equal(code(r), 'otp_wrong');
		r = await session({ site_key: s.site_key, email: email.toUpperCase(), code: otp });
		assert.equal(r.status, 201, JSON.stringify(r.json));
		assert.equal(sql(`SELECT c.email || '|' || v.auth_mode FROM conversations v JOIN customers c ON c.id = v.customer_id WHERE v.id = ${r.json.conversation_id}`),
		    `${email.toLowerCase()}|email_otp`);
		assert.equal(code(await session({ site_key: s.site_key, email, code: otp })), 'otp_invalid', 'single use');

		// Five wrong attempts end the code, even for the right one after.
		await call('POST', '/api/widget/otp', { body: { site_key: s.site_key, email } });
		const mail2 = await sink.next((m) => m !== mail && m.to.includes(email.toLowerCase()));
		const otp2 = /^\s+(\d{6})$/m.exec(mail2.data)[1];
		const bad = otp2 === '999999' ? '999998' : '999999';
		for (let i = 0; i < 4; i++)
			assert.equal(code(await session({ site_key: s.site_key, email, code: bad })), 'otp_wrong');
		r = await session({ site_key: s.site_key, email, code: bad });
		assert.equal(r.status, 429);
		assert.equal(code(r), 'otp_too_many_attempts');
		assert.equal(code(await session({ site_key: s.site_key, email, code: otp2 })), 'otp_too_many_attempts');

		// Expired.
		await call('POST', '/api/widget/otp', { body: { site_key: s.site_key, email } });
		const mail3 = await sink.next((m) => m !== mail && m !== mail2 && m.to.includes(email.toLowerCase()));
		const otp3 = /^\s+(\d{6})$/m.exec(mail3.data)[1];
		sql(`UPDATE widget_otps SET expires_at = now() - interval '1 second' WHERE email = '${email.toLowerCase()}'`);
		assert.equal(code(await session({ site_key: s.site_key, email, code: otp3 })), 'otp_expired');
		// A fourth code within 10 minutes for the same address is refused.
		assert.equal(code(await call('POST', '/api/widget/otp', { body: { site_key: s.site_key, email } })), 'too_many_codes');

		// Wrong origin, unknown key, bad address, a site not in e-mail mode.
		assert.equal(code(await call('POST', '/api/widget/otp', { origin: 'https://evil.example', body: { site_key: s.site_key, email } })), 'origin_not_allowed');
		assert.equal(code(await call('POST', '/api/widget/otp', { body: { site_key: 'pk_nosuchkey0000000000', email } })), 'unknown_site');
		assert.equal(code(await call('POST', '/api/widget/otp', { body: { site_key: s.site_key, email: 'a\r\nBcc: x@y.example' } })), 'invalid');
		const plain = await site(admin, 'Plain');
		assert.equal(code(await call('POST', '/api/widget/otp', { body: { site_key: plain.site_key, email } })), 'otp_not_used');
		// Another organisation's admin sees their own (empty) settings.
		const other = await newOrg();
		assert.deepEqual((await other.admin.get('/api/smtp')).json, { smtp: {} });
	} finally {
		await sink.close();
	}
});
