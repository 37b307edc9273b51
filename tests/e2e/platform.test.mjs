// A platform operator creates an organisation in the browser; its first
// administrator signs in with the one-time password shown once.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { unique } from '../lib/vb.mjs';
import { launch, newPage, goto, ready, login, signOut, createOperator, TIMEOUT } from './lib.mjs';

let browser, page;
const op = createOperator('Operator-Password-1');
const slug = unique('ui').toLowerCase().slice(0, 30);
let temp;

before(async () => {
	browser = await launch();
	({ page } = await newPage(browser));
});

after(async () => {
	await browser?.close();
});

test('the operator creates an organisation and sees its one-time password once', async () => {
	await login(page, op.email, op.password);
	await goto(page, '/platform/orgs');
	await page.locator('#org-create').click();
	await page.locator('#org-name').fill('Harbour Insurance');
	await page.locator('#org-slug').fill(slug);
	await page.locator('#org-admin-email').fill(`boss@${slug}.test`);
	await page.locator('#org-admin-name').fill('Hana Harbour');
	await page.locator('#org-save').click();
	const secret = page.locator('#temp-password');
	await secret.waitFor({ timeout: TIMEOUT });
	temp = (await secret.textContent()).trim();
	assert.match(temp, /^[\w]{4}-[\w]{4}-[\w]{4}-[\w]{4}$/);
	await page.keyboard.press('Escape');
	await page.locator('#orgs-table').getByText('Harbour Insurance').waitFor({ timeout: TIMEOUT });
	await signOut(page);
});

test("the new organisation's administrator signs in with it and must change it", async () => {
	await page.goto(new URL('/login', process.env.VB_TEST_URL).href);
	await page.locator('#email').fill(`boss@${slug}.test`);
	await page.locator('#password').fill(temp);
	await page.locator('#login-submit').click();
	await page.waitForURL((u) => u.pathname === '/password', { timeout: TIMEOUT });
	await page.locator('#current-password').fill(temp);
	await page.locator('#new-password').fill('Harbour-Admin-Password');
	await page.locator('#confirm-password').fill('Harbour-Admin-Password');
	await page.locator('#password-submit').click();
	await page.waitForURL((u) => u.pathname === '/admin/users', { timeout: TIMEOUT });
	await ready(page);
	const rows = await page.locator('tr[data-user-id]').count();
	assert.equal(rows, 1, 'a new organisation holds only its administrator');
	const nav = await page.locator('nav[aria-label="Main"] a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
	assert.ok(!nav.includes('/platform/orgs'), 'an organisation administrator is no platform operator');
});
