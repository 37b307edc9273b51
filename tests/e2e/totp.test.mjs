// Two-factor authentication in the browser: enrol on /account with the key
// shown, then a sign-in asks for the code and only the right one gets in.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, setPassword, unique, totp, roleId } from '../lib/vb.mjs';
import { launch, newPage, goto, ready, login, signOut, createOrg } from './lib.mjs';

let browser, page;
const org = createOrg('Totp');
const email = unique('sup') + '@totp.test';
const password = 'Supervisor-Password-1';
let secret;

before(async () => {
	browser = await launch();
	({ page } = await newPage(browser));
	setPassword(org.email, 'Admin-Totp-Password-1');
	const admin = new Client();
	assert.equal((await admin.login(org.email, 'Admin-Totp-Password-1')).status, 200);
	const r = await admin.post('/api/users', { email, name: 'Sam Supervisor',
	    role_ids: [await roleId(admin, 'supervisor')] });
	assert.equal(r.status, 201);
	setPassword(email, password);
});

after(async () => {
	await browser?.close();
});

test('a user turns on two-factor authentication on /account', async () => {
	await login(page, email, password);
	await goto(page, '/account');
	assert.equal(await page.locator('#totp-status').textContent(), 'Off');
	await page.locator('#totp-setup').click();
	const key = page.locator('#totp-secret');
	await key.waitFor();
	secret = (await key.textContent()).replace(/\s+/g, '');
	assert.match(secret, /^[A-Z2-7]{16,}=*$/);
	assert.equal(await key.getAttribute('data-secret'), secret);
	// The QR code is an image with a text alternative.
	assert.ok(await page.locator('#totp-qr').getAttribute('alt'));
	assert.match(await page.locator('#totp-qr').getAttribute('src'), /^data:image\/svg\+xml;base64,/);

	// A wrong code is refused and two-factor stays off.
	const good = totp(secret);
	const wrong = String((Number(good) + 500000) % 1000000).padStart(6, '0');
	await page.locator('#totp-enable-code').fill(wrong);
	await page.locator('#totp-enable').click();
	await page.locator('#totp-enable-code[aria-invalid="true"]').waitFor();
	assert.equal(await page.locator('#totp-status').textContent(), 'Off');

	await page.locator('#totp-enable-code').fill(totp(secret));
	await page.locator('#totp-enable').click();
	await page.locator('#totp-disable-password').waitFor();
	assert.equal(await page.locator('#totp-status').textContent(), 'On');
	assert.equal(await page.locator('#totp-setup').count(), 0);

	const c = new Client();
	const l = await c.login(email, password);
	assert.equal(l.status, 200);
	assert.equal(l.json.mfa_required, true);
	assert.deepEqual(page.errors, []);
	await signOut(page);
});

test('signing in then asks for the code; a wrong one is refused, the right one gets in', async () => {
	await login(page, email, password, { expectCode: true });
	assert.equal(new URL(page.url()).pathname, '/login');
	assert.equal(await page.locator('#auth-title').textContent(), 'Two-step verification');
	assert.equal(await page.evaluate(() => document.activeElement.id), 'totp-code');
	assert.ok(!await page.locator('#password').isVisible());

	// Half signed in: no access to anything that needs the second factor.
	const api = await page.evaluate(async () => (await fetch('/api/users', { credentials: 'same-origin' })).status);
	assert.equal(api, 401);

	const next = totp(secret, Date.now() + 30000);
	const wrong = String((Number(next) + 500000) % 1000000).padStart(6, '0');
	await page.locator('#totp-code').fill(wrong);
	await page.locator('#login-submit').click();
	await page.waitForFunction(() => document.getElementById('login-error').textContent.trim() !== '');
	assert.match(await page.locator('#login-error').textContent(), /not valid/);
	assert.equal(new URL(page.url()).pathname, '/login');
	assert.equal(await page.locator('#totp-code').inputValue(), '');

	// The next step's code (accepted for clock drift) differs from the one
	// used to turn two-factor on, so this works even with replay protection.
	await page.locator('#totp-code').fill(next);
	await page.locator('#login-submit').click();
	await page.waitForURL((u) => u.pathname !== '/login');
	await ready(page);
	assert.equal(new URL(page.url()).pathname, '/admin/users');	// a supervisor may read users
	const me = await page.evaluate(async () => (await fetch('/api/me', { credentials: 'same-origin' })).json());
	assert.equal(me.email, email);
	assert.equal(me.totp_enabled, true);
	assert.deepEqual(page.errors, []);
});
