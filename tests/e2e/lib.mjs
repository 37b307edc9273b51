// Browser-test helpers: Debian's Chromium through playwright-core, axe-core
// checks, sign-in, screenshots and "page has finished loading" waits.
import { readFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { BASE, sql, setPassword, unique } from '../lib/vb.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const OUT = path.join(here, 'out');
export const TIMEOUT = 15000;
const AXE_SOURCE = readFileSync(path.join(here, '..', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

export { BASE };

export function launch() {
	return chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
		    '--disable-component-update', '--disable-sync', '--no-first-run'],
	});
}

// A fresh context (own cookie jar) and page. page.errors collects uncaught
// exceptions and CSP violations reported on the console.
export async function newPage(browser, { width = 1280, height = 800 } = {}) {
	const context = await browser.newContext({ baseURL: BASE, viewport: { width, height },
	    locale: 'en-GB', timezoneId: 'Europe/London', reducedMotion: 'reduce' });
	context.setDefaultTimeout(TIMEOUT);
	context.setDefaultNavigationTimeout(TIMEOUT);
	const page = await context.newPage();
	page.errors = [];
	page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
	page.on('console', (m) => {
		if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text()))
			page.errors.push(`csp: ${m.text()}`);
	});
	return { context, page };
}

// The page's module has run and nothing is still loading: no spinner and a
// heading in <main>.
export async function ready(page) {
	await page.waitForFunction(() => {
		const main = document.getElementById('main');
		return main && !document.querySelector('.loading') && main.querySelector('h1') &&
		    !document.querySelector('[aria-busy="true"]');
	}, null, { timeout: TIMEOUT });
}

export async function goto(page, url) {
	const res = await page.goto(url, { waitUntil: 'domcontentloaded' });
	await ready(page);
	return res;
}

// Sign in through the form. Resolves once the browser has left /login (or
// shows the second-factor step when expectCode is set).
export async function login(page, email, password, { expectCode = false } = {}) {
	await goto(page, '/login');
	await page.locator('#email').fill(email);
	await page.locator('#password').fill(password);
	await page.locator('#login-submit').click();
	if (expectCode) {
		await page.locator('#totp-code').waitFor({ state: 'visible' });
		return;
	}
	await page.waitForURL((u) => u.pathname !== '/login');
	await ready(page);
}

export async function signOut(page) {
	await page.locator('#sign-out').click();
	await page.waitForURL('**/login');
	await ready(page);
}

// Run axe-core (WCAG 2.0/2.1/2.2 A and AA) and fail listing each violation.
export async function axeCheck(page, label) {
	// The pages' CSP blocks injected <script> elements; evaluate is not subject to it.
	if (!await page.evaluate(() => typeof window.axe === 'object'))
		await page.evaluate(AXE_SOURCE);
	const result = await page.evaluate((tags) => window.axe.run(document,
	    { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }), WCAG_TAGS);
	const lines = [];
	for (const v of result.violations) {
		for (const n of v.nodes)
			lines.push(`${v.id} (${v.impact}): ${n.target.join(' ')} — ${n.failureSummary?.split('\n').slice(1).join('; ')}`);
	}
	assert.equal(lines.length, 0, `axe violations on ${label}:\n  ${lines.join('\n  ')}`);
	return result;
}

export async function screenshot(page, name) {
	mkdirSync(OUT, { recursive: true });
	const file = path.join(OUT, `${name}.png`);
	// From the top: a full-page capture of a scrolled page draws the sticky
	// top bar in the middle.
	await page.evaluate(() => window.scrollTo(0, 0));
	await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
	return file;
}

// An organisation made with vbctl: {name, slug, email, tempPassword}.
export function createOrg(label = 'E2E') {
	const slug = unique('e').toLowerCase().slice(0, 30);
	const email = `admin@${slug}.test`;
	const name = `${label} ${slug}`;
	const out = execFileSync(process.env.VBCTL, ['create-org', name, slug, email, 'Test Admin'],
	    { encoding: 'utf8' });
	const tempPassword = out.trim().split(/\s+/).pop();
	return { name, slug, email, tempPassword,
	    tenant: Number(sql(`SELECT id FROM organisations WHERE slug = '${slug}'`)) };
}

// A platform operator (administrator of the platform organisation).
export function createOperator(password) {
	const email = unique('op') + '@platform.test';
	const platform = sql('SELECT id FROM organisations WHERE is_platform');
	const hash = sql(`SELECT password_hash FROM users WHERE tenant_id = ${platform} LIMIT 1`);
	const role = sql(`SELECT id FROM roles WHERE tenant_id = ${platform} AND builtin = 'administrator'`);
	// psql also prints the command tag ("INSERT 0 1") after the returned id.
	const uid = sql(`INSERT INTO users (tenant_id, email, name, password_hash, must_change_password) VALUES (${platform}, '${email}', 'Platform Operator', '${hash}', false) RETURNING id`).split('\n')[0];
	sql(`INSERT INTO user_roles (tenant_id, user_id, role_id) VALUES (${platform}, ${uid}, ${role})`);
	setPassword(email, password);
	return { email, password };
}

// Visible focus indicator of the focused element: outline or box-shadow.
export function focusStyle(page) {
	return page.evaluate(() => {
		const el = document.activeElement;
		const s = getComputedStyle(el);
		return { id: el.id, focusVisible: el.matches(':focus-visible'), outlineStyle: s.outlineStyle,
		    outlineWidth: parseFloat(s.outlineWidth) || 0, boxShadow: s.boxShadow };
	});
}
