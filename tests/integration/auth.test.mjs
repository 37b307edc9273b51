// Sign-in, sessions, CSRF, throttling, forced password change, TOTP.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Client, sql, setPassword, newOrg, roleId, unique, totp } from '../lib/vb.mjs';

test('wrong password is refused, audited, and sets no session', async () => {
	const { email, tenant } = await newOrg();
	const c = new Client();
	await c.get('/login');
	const r = await c.post('/api/auth/login', { email, password: 'not-the-password' });
	assert.equal(r.status, 401);
	assert.equal(r.json.error.code, 'invalid_credentials');
	assert.ok(!c.cookies.has('vb_session'));
	assert.equal(sql(`SELECT count(*) FROM audit_log WHERE tenant_id = ${tenant} AND action = 'auth.login_failed'`), '1');
	assert.equal((await c.get('/api/me')).status, 401);
});

test('unknown e-mail gets the same answer as a wrong password', async () => {
	const c = new Client();
	await c.get('/login');
	const r = await c.post('/api/auth/login', { email: unique('nobody') + '@x.test', password: 'whatever' });
	assert.equal(r.status, 401);
	assert.equal(r.json.error.code, 'invalid_credentials');
});

test('five failures lock the account for the window, even with the right password', async () => {
	const { email, password } = await newOrg();
	const c = new Client();
	await c.get('/login');
	for (let i = 0; i < 5; i++)
		assert.equal((await c.post('/api/auth/login', { email, password: 'wrong' + i })).status, 401);
	const r = await c.post('/api/auth/login', { email, password });
	assert.equal(r.status, 429);
	assert.equal(r.json.error.code, 'too_many_attempts');
	assert.equal(r.headers.get('retry-after'), '900');
});

test('login without the CSRF double-submit token is refused', async () => {
	const { email, password } = await newOrg();
	const c = new Client();
	const r = await c.post('/api/auth/login', { email, password }, { csrf: false });
	assert.equal(r.status, 403);
	assert.equal(r.json.error.code, 'csrf');
});

test('session cookie is HttpOnly and SameSite=Strict; logout ends the session', async () => {
	const { email, password } = await newOrg();
	const c = new Client();
	await c.get('/login');
	const res = await fetch(process.env.VB_TEST_URL + '/api/auth/login', {
		method: 'POST',
		headers: { 'content-type': 'application/json', cookie: c.cookieHeader(), 'x-csrf-token': c.cookies.get('vb_csrf') },
		body: JSON.stringify({ email, password }) });
	const sc = res.headers.getSetCookie().find((x) => x.startsWith('vb_session='));
	assert.match(sc, /HttpOnly/);
	assert.match(sc, /SameSite=Strict/);
	const token = sc.split(';')[0].split('=')[1];
	assert.equal(token.length, 43, '256-bit id in base64url');
	// The database holds only the hash of the id.
	assert.equal(sql(`SELECT count(*) FROM sessions WHERE id_hash = sha256('${token}'::bytea)`), '1');
	assert.equal(sql(`SELECT count(*) FROM sessions WHERE id_hash = '${token}'::bytea`), '0');
	c.cookies.set('vb_session', token);
	const me = await c.get('/api/me');
	assert.equal(me.status, 200);
	c.csrf = me.json.csrf_token;
	assert.equal((await c.post('/api/auth/logout')).status, 204);
	assert.equal((await c.get('/api/me')).status, 401);
});

test('state changes need the session CSRF token and change nothing without it', async () => {
	const { admin, tenant } = await newOrg();
	const before = sql(`SELECT count(*) FROM skills WHERE tenant_id = ${tenant}`);
	const r = await admin.post('/api/skills', { name: 'Loans' }, { headers: { 'x-csrf-token': 'forged' }, csrf: false });
	assert.equal(r.status, 403);
	assert.equal(r.json.error.code, 'csrf');
	assert.equal(sql(`SELECT count(*) FROM skills WHERE tenant_id = ${tenant}`), before);
});

test('idle and absolute expiry end a session', async () => {
	const { admin } = await newOrg();
	assert.equal((await admin.get('/api/me')).status, 200);
	const uid = (await admin.get('/api/me')).json.id;
	sql(`UPDATE sessions SET last_seen_at = now() - interval '31 minutes' WHERE user_id = ${uid}`);
	const r = await admin.get('/api/me');
	assert.equal(r.status, 401);
	assert.equal(r.json.error.code, 'unauthenticated');
	assert.equal(sql(`SELECT count(*) FROM sessions WHERE user_id = ${uid}`), '0');

	const { admin: a2 } = await newOrg();
	const uid2 = (await a2.get('/api/me')).json.id;
	sql(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = ${uid2}`);
	assert.equal((await a2.get('/api/me')).status, 401);
});

test('the sweep removes sessions nobody presents again, and only those', async () => {
	const { admin } = await newOrg();
	const { admin: other } = await newOrg();
	const uid = (await admin.get('/api/me')).json.id;
	const live = (await other.get('/api/me')).json.id;
	sql(`UPDATE sessions SET last_seen_at = now() - interval '2 hours' WHERE user_id = ${uid}`);
	const n = Number(sql("SET ROLE vb_app; SELECT vb_sessions_sweep('30 minutes')"));
	assert.ok(n >= 1);
	assert.equal(sql(`SELECT count(*) FROM sessions WHERE user_id = ${uid}`), '0');
	assert.equal(sql(`SELECT count(*) FROM sessions WHERE user_id = ${live}`), '1');
	assert.equal((await other.get('/api/me')).status, 200);
});

test('a one-time password must be changed before anything else', async () => {
	const { admin } = await newOrg();
	const email = unique('new') + '@x.test';
	const r = await admin.post('/api/users', { email, name: 'New Person', role_ids: [await roleId(admin, 'agent')] });
	assert.equal(r.status, 201);
	const temp = r.json.temporary_password;
	assert.match(temp, /^[\w]{4}-[\w]{4}-[\w]{4}-[\w]{4}$/);
	const u = new Client();
	const l = await u.login(email, temp);
	assert.equal(l.status, 200);
	assert.equal(l.json.must_change_password, true);
	const blocked = await u.get('/api/users');
	assert.equal(blocked.status, 403);
	assert.equal(blocked.json.error.code, 'password_change_required');
	const page = await u.get('/account');
	assert.equal(page.status, 303);
	assert.equal(page.headers.get('location'), '/password');
	assert.equal((await u.post('/api/me/password', { current_password: temp, new_password: 'short' })).status, 422);
	assert.equal((await u.post('/api/me/password', { current_password: 'wrong', new_password: 'A-much-longer-password' })).status, 422);
	assert.equal((await u.post('/api/me/password', { current_password: temp, new_password: 'A-much-longer-password' })).status, 204);
	assert.equal((await u.get('/api/me')).json.must_change_password, false);
	assert.equal((await u.get('/account')).status, 200);
});

test('TOTP: enrol with a QR code, then sign-in needs the code', async () => {
	const { admin, email, password } = await newOrg();
	const setup = await admin.post('/api/me/totp/setup');
	assert.equal(setup.status, 200);
	assert.match(setup.json.otpauth_uri, /^otpauth:\/\/totp\/Virtual%20Branch:.+\?secret=[A-Z2-7]+&issuer=Virtual%20Branch/);
	assert.match(setup.json.qr_svg, /^<svg[^>]*viewBox/);
	assert.equal((await admin.post('/api/me/totp/enable', { code: '000000' === totp(setup.json.secret) ? '111111' : '000000' })).status, 422);
	assert.equal((await admin.post('/api/me/totp/enable', { code: totp(setup.json.secret) })).status, 204);
	assert.equal((await admin.get('/api/me')).json.totp_enabled, true);

	const c = new Client();
	const l = await c.login(email, password);
	assert.equal(l.json.mfa_required, true);
	const me = await c.get('/api/me');			// half-authenticated: allowed
	assert.equal(me.status, 200);
	c.csrf = me.json.csrf_token;
	const denied = await c.get('/api/users');
	assert.equal(denied.status, 401);
	assert.equal(denied.json.error.code, 'mfa_required');
	assert.equal((await c.post('/api/auth/totp', { code: 'abcdef' })).status, 422);
	const bad = await c.post('/api/auth/totp', { code: totp(setup.json.secret, Date.now() - 300000) });
	assert.equal(bad.status, 401);
	// The code that turned two-factor on was used once already (RFC 6238 5.2).
	const reused = await c.post('/api/auth/totp', { code: totp(setup.json.secret) });
	assert.equal(reused.status, 401);
	assert.match(reused.json.error.message, /already used/);
	const next = totp(setup.json.secret, Date.now() + 30000);
	assert.equal((await c.post('/api/auth/totp', { code: next })).status, 200);
	assert.equal((await c.get('/api/users')).status, 200);
	// And the code that just worked does not work for a second sign-in.
	const c2 = new Client();
	await c2.login(email, password);
	c2.csrf = (await c2.get('/api/me')).json.csrf_token;
	assert.equal((await c2.post('/api/auth/totp', { code: next })).status, 401);

	assert.equal((await admin.post('/api/me/totp/disable', { password: 'wrong' })).status, 422);
	assert.equal((await admin.post('/api/me/totp/disable', { password })).status, 204);
	assert.equal((await admin.get('/api/me')).json.totp_enabled, false);
});

test('a disabled user cannot sign in and loses open sessions', async () => {
	const { admin } = await newOrg();
	const email = unique('dis') + '@x.test';
	const r = await admin.post('/api/users', { email, name: 'Soon Disabled', role_ids: [await roleId(admin, 'agent')] });
	setPassword(email, 'Disabled-User-Pass');
	const u = new Client();
	assert.equal((await u.login(email, 'Disabled-User-Pass')).status, 200);
	assert.equal((await admin.post(`/api/users/${r.json.user.id}/disable`)).json.user.status, 'disabled');
	assert.equal((await u.get('/api/me')).status, 401);
	const again = await new Client().login(email, 'Disabled-User-Pass');
	assert.equal(again.status, 403);
	assert.equal(again.json.error.code, 'account_disabled');
	assert.equal((await admin.post(`/api/users/${r.json.user.id}/enable`)).json.user.status, 'active');
	assert.equal((await new Client().login(email, 'Disabled-User-Pass')).status, 200);
});
