// axe-core (WCAG 2.0–2.2, levels A and AA) on every page of the staff UI, on
// a desktop and a phone-sized viewport, with screenshots in tests/e2e/out/.
// Pages are filled with some data first so tables, trees and chips render.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, setPassword, unique, roleId } from '../lib/vb.mjs';
import {
	launch, newPage, goto, login, axeCheck, screenshot, createOrg, createOperator,
} from './lib.mjs';

const WIDTHS = [1280, 375];
const HEIGHT = 800;

let browser;
const pages = {};	// who → page
const org = createOrg('A11y');
const adminPassword = 'Admin-A11y-Password-1';

before(async () => {
	browser = await launch();
	setPassword(org.email, adminPassword);
	const admin = new Client();
	assert.equal((await admin.login(org.email, adminPassword)).status, 200);
	// Data for the pages.
	const retail = (await admin.post('/api/units', { name: 'Retail', parent_id: null })).json.unit;
	await admin.post('/api/units', { name: 'Mortgage desk', parent_id: retail.id });
	await admin.post('/api/units', { name: 'Business banking', parent_id: null });
	const mortgages = (await admin.post('/api/skills', { name: 'Mortgages' })).json.skill;
	await admin.post('/api/skills', { name: 'Savings' });
	await admin.post('/api/roles', { name: 'Team lead', permissions: ['users.read', 'units.read'] });
	await admin.post('/api/sites', { name: 'Public web site', allowed_origins: ['https://www.example.com'] });
	const agentRole = await roleId(admin, 'agent');
	await admin.post('/api/users', { email: unique('ann') + '@a11y.test', name: 'Ann Agent',
	    role_ids: [agentRole], unit_ids: [retail.id], skills: [{ skill_id: mortgages.id, level: 4 }] });
	// Someone who still has to replace a one-time password.
	const newbieEmail = unique('new') + '@a11y.test';
	const newbie = await admin.post('/api/users', { email: newbieEmail, name: 'Nina New',
	    role_ids: [agentRole] });
	assert.equal(newbie.status, 201);

	pages.anon = (await newPage(browser)).page;
	pages.admin = (await newPage(browser)).page;
	await login(pages.admin, org.email, adminPassword);
	pages.newbie = (await newPage(browser)).page;
	await login(pages.newbie, newbieEmail, newbie.json.temporary_password);
	assert.equal(new URL(pages.newbie.url()).pathname, '/password');
	const op = createOperator('Operator-A11y-Password-1');
	pages.operator = (await newPage(browser)).page;
	await login(pages.operator, op.email, op.password);
});

after(async () => {
	await browser?.close();
});

// [label, who, url, heading, prepare(page)]
const STATES = [
	['login', 'anon', '/login', 'Sign in'],
	['password', 'newbie', '/password', 'Choose a new password'],
	['account', 'admin', '/account', 'Your account'],
	['account-totp-setup', 'admin', '/account', 'Your account', async (page) => {
		await page.locator('#totp-setup').click();
		await page.locator('#totp-secret').waitFor();
		await page.locator('#totp-qr').evaluate((img) => img.complete || new Promise((r) => { img.onload = r; }));
	}],
	['users', 'admin', '/admin/users', 'Users', async (page) => {
		await page.locator('tr[data-user-id]', { hasText: 'Ann Agent' }).waitFor();
	}],
	['users-create-dialog', 'admin', '/admin/users', 'Users', async (page) => {
		await page.locator('#user-create').click();
		await page.locator('dialog[open] #user-email').waitFor();
		await page.locator('dialog[open] input[name=skill]').first().waitFor();
	}],
	['units', 'admin', '/admin/units', 'Units', async (page) => {
		await page.locator('.tree__name', { hasText: 'Mortgage desk' }).waitFor();
	}],
	['roles', 'admin', '/admin/roles', 'Roles', async (page) => {
		await page.locator('#roles-matrix').waitFor();
	}],
	['skills', 'admin', '/admin/skills', 'Skills', async (page) => {
		await page.locator('#skills-table', { hasText: 'Savings' }).waitFor();
	}],
	['sites', 'admin', '/admin/sites', 'Sites', async (page) => {
		await page.getByText('Public web site').first().waitFor();
	}],
	['audit', 'admin', '/admin/audit', 'Audit log', async (page) => {
		await page.locator('#audit-table tr[data-audit-id]').first().waitFor();
	}],
	['orgs', 'operator', '/platform/orgs', 'Organisations', async (page) => {
		await page.locator('#orgs-table').waitFor();
	}],
];

for (const width of WIDTHS) {
	for (const [label, who, url, heading, prepare] of STATES) {
		test(`a11y: ${label} (${url}) at ${width}×${HEIGHT} has no WCAG 2.2 AA violations`, async () => {
			const page = pages[who];
			await page.setViewportSize({ width, height: HEIGHT });
			const res = await goto(page, url);
			assert.equal(res.status(), 200);
			assert.equal(new URL(page.url()).pathname, url);
			const h1 = await page.locator('#main h1').first().textContent();
			assert.equal(h1, heading);
			if (prepare)
				await prepare(page);
			// Page titles name the page.
			assert.match(await page.title(), new RegExp(`^${heading.replace(/[()]/g, '\\$&')}`, 'i'));
			await screenshot(page, `${label}-${width}`);
			await axeCheck(page, `${label} at ${width}px`);
			// Reflow (WCAG 1.4.10): no sideways scrolling of the whole page.
			const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
			assert.ok(overflow <= 0, `${label} at ${width}px scrolls sideways by ${overflow}px`);
			assert.deepEqual(page.errors, []);
		});
	}
}

test('keyboard: skip link, phone-size menu and the user dialog work without a mouse', async () => {
	const page = pages.admin;
	const active = () => page.evaluate(() => {
		const el = document.activeElement;
		return { id: el.id, cls: el.className, href: el.getAttribute('href'), tag: el.tagName,
		    inDialog: Boolean(el.closest('dialog[open]')) };
	});
	// The first Tab reaches the skip link, which moves focus to <main>.
	await page.setViewportSize({ width: 1280, height: HEIGHT });
	await goto(page, '/admin/users');
	await page.keyboard.press('Tab');
	assert.equal((await active()).cls, 'skip-link');
	assert.ok(await page.locator('.skip-link').isVisible(), 'skip link is visible when focused');
	await page.keyboard.press('Enter');
	assert.equal((await active()).id, 'main');

	// The create dialog takes focus, keeps it inside, and Escape gives it back.
	await page.locator('#user-create').focus();
	await page.keyboard.press('Enter');
	await page.locator('dialog[open] #user-email').waitFor();
	assert.equal((await active()).id, 'user-email');
	// (After the last control a modal dialog lets focus go to the browser's
	// own controls, seen here as <body>, never to the page behind it.)
	let wrapped = false;
	for (let i = 0; i < 25; i++) {
		await page.keyboard.press('Tab');
		const a = await active();
		wrapped ||= a.tag === 'BODY';
		assert.ok(a.inDialog || a.tag === 'BODY', `Tab ${i + 1} reached ${JSON.stringify(a)} behind the dialog`);
	}
	assert.ok(wrapped, 'Tab went round the dialog');
	await page.keyboard.press('Escape');
	await page.locator('dialog').waitFor({ state: 'detached' });
	assert.equal((await active()).id, 'user-create');

	// On a phone the navigation hides behind a menu button.
	await page.setViewportSize({ width: 375, height: HEIGHT });
	await goto(page, '/admin/users');
	const menu = page.locator('.topbar__menu');
	const nav = page.locator('nav[aria-label="Main"]');
	assert.ok(await menu.isVisible());
	assert.ok(!await nav.isVisible(), 'navigation hidden until opened');
	await menu.focus();
	await page.keyboard.press('Enter');
	assert.equal(await menu.getAttribute('aria-expanded'), 'true');
	await nav.locator('a[href="/admin/units"]').waitFor({ state: 'visible' });
	assert.equal((await active()).href, '/console', 'the first entry of the menu has focus');
	await page.keyboard.press('Escape');
	assert.equal(await menu.getAttribute('aria-expanded'), 'false');
	assert.ok(!await nav.isVisible());
	assert.ok((await active()).cls.includes('topbar__menu'));
	await menu.click();
	await nav.locator('a[href="/admin/units"]').click();
	await page.waitForURL('**/admin/units');
	assert.deepEqual(page.errors, []);
});
