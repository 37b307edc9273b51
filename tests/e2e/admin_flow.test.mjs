// The acceptance scenario in the browser: a new organisation's administrator
// replaces the one-time password, sets up a unit, creates an agent with role,
// unit and skill; the agent signs in, sees no administration and is refused;
// the audit log shows the changes; sign-in works with the keyboard alone.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, unique } from '../lib/vb.mjs';
import { launch, newPage, goto, ready, login, signOut, createOrg, focusStyle, screenshot } from './lib.mjs';

let browser, context, page;
const org = createOrg('Flow');
const adminPassword = 'Admin-New-Password-' + org.slug;
const agentEmail = unique('agent') + '@flow.test';
const agentPassword = 'Agent-New-Password-1';
let agentTemp, agentId, unitId, skillId;

before(async () => {
	browser = await launch();
	({ context, page } = await newPage(browser));
});

after(async () => {
	await browser?.close();
});

test('administrator signs in with the one-time password and must replace it', async () => {
	await login(page, org.email, org.tempPassword);
	assert.equal(new URL(page.url()).pathname, '/password');
	await page.locator('#current-password').waitFor();
	assert.equal(await page.locator('#auth-title').textContent(), 'Choose a new password');
	assert.match(await page.locator('.auth__who').textContent(), new RegExp(org.email.replace(/\./g, '\\.')));
	// Too short a password is refused in the form and nothing is sent.
	await page.locator('#current-password').fill(org.tempPassword);
	await page.locator('#new-password').fill('short');
	await page.locator('#confirm-password').fill('short');
	await page.locator('#password-submit').click();
	await page.locator('#new-password[aria-invalid="true"]').waitFor();
	assert.equal(new URL(page.url()).pathname, '/password');

	await page.locator('#new-password').fill(adminPassword);
	await page.locator('#confirm-password').fill(adminPassword);
	await page.locator('#password-submit').click();
	await page.waitForURL('**/admin/users');
	await ready(page);
	assert.equal(await page.locator('#main h1').first().textContent(), 'Users');
	// The administrator is listed, marked as "you".
	await page.locator('tr[data-user-id]', { hasText: org.email }).waitFor();
	assert.deepEqual(page.errors, []);
	// The one-time password no longer works; the new one does.
	const c = new Client();
	assert.equal((await c.login(org.email, org.tempPassword)).status, 401);
	const ok = await c.login(org.email, adminPassword);
	assert.equal(ok.status, 200);
	assert.equal(ok.json.must_change_password, false);
});

test('administrator creates the unit "Retail" on the Units page', async () => {
	await goto(page, '/admin/units');
	await page.locator('#unit-create').click();
	const dialog = page.locator('dialog[open]');
	await dialog.waitFor();
	await page.locator('#unit-name').fill('Retail');
	await page.locator('#unit-save').click();
	await dialog.waitFor({ state: 'detached' });
	const item = page.locator('li[data-unit-id]', { has: page.locator('.tree__name', { hasText: /^Retail$/ }) });
	await item.waitFor();
	unitId = Number(await item.getAttribute('data-unit-id'));
	assert.ok(unitId > 0);
	// The skill is made with the API, signed in as the same administrator.
	const c = new Client();
	assert.equal((await c.login(org.email, adminPassword)).status, 200);
	const units = (await c.get('/api/units')).json.units;
	assert.deepEqual(units.map((u) => [u.id, u.name]), [[unitId, 'Retail']]);
	const s = await c.post('/api/skills', { name: 'Mortgages' });
	assert.equal(s.status, 201);
	skillId = s.json.skill.id;
});

test('administrator creates an agent with role, unit and skill level and gets a one-time password', async () => {
	await goto(page, '/admin/users');
	await page.locator('#user-create').click();
	const dialog = page.locator('dialog[open]');
	await page.locator('#user-email').waitFor();
	await page.locator('#user-email').fill(agentEmail);
	await page.locator('#user-name').fill('Alice Agent');
	const role = dialog.locator('.checkbox', { has: page.locator('label', { hasText: /^Agent$/ }) })
	    .locator('input[name=role]');
	await role.check();
	await dialog.locator(`input[name=unit][value="${unitId}"]`).check();
	assert.equal(await dialog.locator(`input[name=unit][value="${unitId}"] + label`).textContent(), 'Retail');
	await dialog.locator(`input[name=skill][value="${skillId}"]`).check();
	await dialog.locator(`select[name="level-${skillId}"]`).selectOption('4');
	await page.locator('#user-save').click();

	const secret = page.locator('#temp-password');
	await secret.waitFor();
	agentTemp = (await secret.textContent()).trim();
	assert.ok(agentTemp.length >= 12, `one-time password "${agentTemp}"`);
	const row = page.locator('tr[data-user-id]', { hasText: agentEmail });
	await row.waitFor();
	agentId = Number(await row.getAttribute('data-user-id'));
	assert.match(await row.textContent(), /Alice Agent/);
	assert.equal(await row.locator('.access__roles').textContent(), 'Roles: Agent');
	assert.equal(await row.locator('.access__units').textContent(), 'Units: Retail');
	await screenshot(page, 'flow-user-created');
	// Close the one-time password dialog.
	await page.locator('dialog[open] button', { hasText: 'Done' }).click();
	await page.locator('dialog[open]').waitFor({ state: 'detached' });

	// What the server stored.
	const c = new Client();
	await c.login(org.email, adminPassword);
	const u = (await c.get(`/api/users/${agentId}`)).json.user;
	assert.deepEqual(u.roles.map((x) => x.name), ['Agent']);
	assert.deepEqual(u.units.map((x) => x.name), ['Retail']);
	assert.deepEqual(u.skills, [{ id: skillId, name: 'Mortgages', level: 4 }]);
	assert.equal(u.name, 'Alice Agent');

	await signOut(page);
	assert.equal(new URL(page.url()).pathname, '/login');
	// The session is really gone: the admin page sends the browser to /login.
	await page.goto('/admin/users');
	await page.waitForURL('**/login');
	assert.deepEqual(page.errors, []);
});

test('the agent replaces the one-time password and sees no administration', async () => {
	await login(page, agentEmail, agentTemp);
	assert.equal(new URL(page.url()).pathname, '/password');
	await page.locator('#current-password').fill(agentTemp);
	await page.locator('#new-password').fill(agentPassword);
	await page.locator('#confirm-password').fill(agentPassword);
	await page.locator('#password-submit').click();
	// An agent starts in the console.
	await page.waitForURL('**/console');
	await goto(page, '/account');
	assert.equal(await page.locator('#page-title').textContent(), 'Your account');

	// The profile shows what the administrator granted.
	const profile = await page.locator('.profile').textContent();
	assert.match(profile, /Alice Agent/);
	assert.match(profile, /Retail/);
	assert.match(profile, /Mortgages/);

	const nav = page.locator('nav[aria-label="Main"]');
	await nav.locator('a[href="/account"]').waitFor();
	for (const href of ['/admin/users', '/admin/units', '/admin/roles', '/admin/audit', '/platform/orgs'])
		assert.equal(await nav.locator(`a[href="${href}"]`).count(), 0, href);

	const res = await page.goto('/admin/users', { waitUntil: 'domcontentloaded' });
	assert.equal(res.status(), 403);
	await ready(page);
	assert.equal(await page.locator('#main h1').textContent(), 'No access');
	assert.equal(await page.locator('#user-create').count(), 0);
	assert.equal(await page.locator('tr[data-user-id]').count(), 0);

	const api = await page.evaluate(async () => {
		const r = await fetch('/api/users', { credentials: 'same-origin' });
		return { status: r.status, body: await r.json() };
	});
	assert.equal(api.status, 403);
	assert.equal(api.body.error.code, 'forbidden');
	const post = await page.evaluate(async () => {
		const token = document.querySelector('meta[name="csrf-token"]').content;
		const r = await fetch('/api/units', { method: 'POST', credentials: 'same-origin',
		    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token },
		    body: JSON.stringify({ name: 'Sneaky' }) });
		return r.status;
	});
	assert.equal(post, 403);
	assert.deepEqual(page.errors, []);
});

test("the administrator finds the changes in the audit log", async () => {
	await goto(page, '/account');
	await signOut(page);
	await login(page, org.email, adminPassword);
	assert.equal(new URL(page.url()).pathname, '/admin/users');
	await goto(page, '/admin/audit');
	const rows = page.locator('#audit-table tr[data-audit-id]');
	await rows.first().waitFor();
	const entries = await rows.evaluateAll((trs) => trs.map((tr) => ({
		id: Number(tr.dataset.auditId),
		action: tr.querySelector('code.tag')?.textContent,
		object: tr.querySelector('.audit__object')?.textContent,
		actor: tr.querySelector('.person__sub')?.textContent || tr.querySelector('.person__name')?.textContent,
	})));
	const userCreate = entries.find((e) => e.action === 'user.create' && e.object === `user #${agentId}`);
	assert.ok(userCreate, `user.create for #${agentId} in ${JSON.stringify(entries)}`);
	assert.equal(userCreate.actor, org.email);
	const unitCreate = entries.find((e) => e.action === 'unit.create' && e.object === `unit #${unitId}`);
	assert.ok(unitCreate, `unit.create in ${JSON.stringify(entries)}`);
	assert.equal(unitCreate.actor, org.email);
	assert.ok(entries.find((e) => e.action === 'skill.create'), 'skill.create');
	// Newest first.
	assert.ok(userCreate.id > unitCreate.id);
	assert.ok(entries.findIndex((e) => e === userCreate) < entries.findIndex((e) => e === unitCreate));

	// The details of the user.create entry show the agent as created.
	const tr = page.locator(`tr[data-audit-id="${userCreate.id}"]`);
	await tr.locator('button.audit__toggle').click();
	assert.equal(await tr.locator('button.audit__toggle').getAttribute('aria-expanded'), 'true');
	const detail = tr.locator('xpath=following-sibling::tr[1]');
	await detail.waitFor({ state: 'visible' });
	assert.match(await detail.textContent(), new RegExp(agentEmail.replace(/\./g, '\\.')));
	await screenshot(page, 'flow-audit');
	assert.deepEqual(page.errors, []);
	await signOut(page);
});

test('sign-in works with the keyboard alone and focus is visible', async () => {
	await goto(page, '/login');
	await page.evaluate(() => document.activeElement && document.activeElement.blur());
	const order = [];
	for (let i = 0; i < 6 && (order.at(-1) !== 'email'); i++) {
		await page.keyboard.press('Tab');
		order.push(await page.evaluate(() => document.activeElement.id));
	}
	assert.equal(order.at(-1), 'email', `Tab order ${order.join(', ')}`);
	const styles = [await focusStyle(page)];
	await page.keyboard.type(org.email);
	await page.keyboard.press('Tab');
	assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
	styles.push(await focusStyle(page));
	await page.keyboard.type(adminPassword);
	await page.keyboard.press('Tab');
	assert.equal(await page.evaluate(() => document.activeElement.id), 'login-submit');
	styles.push(await focusStyle(page));
	for (const s of styles) {
		assert.ok(s.focusVisible, `${s.id} matches :focus-visible`);
		assert.ok((s.outlineStyle !== 'none' && s.outlineWidth > 0) || (s.boxShadow && s.boxShadow !== 'none'),
		    `${s.id} has a visible focus indicator: ${JSON.stringify(s)}`);
	}
	await page.keyboard.press('Enter');
	await page.waitForURL('**/admin/users');
	await ready(page);
	assert.equal(await page.locator('#main h1').first().textContent(), 'Users');
	assert.deepEqual(page.errors, []);
	await context.close();
});
