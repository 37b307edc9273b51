// Queue administration in the browser: an administrator creates a queue with
// a required skill and business hours, makes it a site's default queue and
// adds a subject; the pages pass axe-core at 1280 and 375 px; the widget on
// a host page then asks the customer for the subject before the first
// message, and the chat lands in the subject's queue. The contact settings
// page (wrap-up codes, not-ready reasons, canned replies) works too.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { sql, newOrg } from '../lib/vb.mjs';
import { launch, newPage, goto, login, axeCheck, screenshot, BASE, TIMEOUT } from './lib.mjs';

let browser, hostServer, HOST_ORIGIN, org, site, skill;

function hostPage(req, res) {
	if (req.url === '/favicon.ico') {
		res.writeHead(204);
		res.end();
		return;
	}
	res.writeHead(200, { 'content-type': 'text/html; charset=utf-8',
	    'content-security-policy': `default-src 'none'; script-src ${BASE}; connect-src ${BASE}; frame-src ${BASE}; style-src 'self'` });
	res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bank</title>
<script async src="${BASE}/widget/loader.js"></script></head><body><main><h1>Bank</h1></main>
<div data-vb-site="${site.site_key}" hidden></div></body></html>`);
}

before(async () => {
	hostServer = http.createServer(hostPage);
	await new Promise((r) => hostServer.listen(0, '127.0.0.2', r));
	HOST_ORIGIN = `http://127.0.0.2:${hostServer.address().port}`;
	org = await newOrg('Queues');
	site = (await org.admin.post('/api/sites', { name: 'Public website', allowed_origins: [HOST_ORIGIN] })).json.site;
	skill = (await org.admin.post('/api/skills', { name: 'Mortgages' })).json.skill;
	await org.admin.post('/api/queues', { name: 'General' });
	browser = await launch();
});

after(async () => {
	await browser?.close();
	hostServer?.close();
});

test('administrator creates a queue with skills and hours, and a subject on the site', async () => {
	const { page } = await newPage(browser);
	await login(page, org.email, org.password);
	await goto(page, '/admin/queues');
	assert.equal(await page.locator('#main h1').first().textContent(), 'Queues');
	await page.locator('#queue-create').click();
	const dialog = page.locator('dialog[open]');
	await dialog.waitFor();
	await page.locator('#queue-name').fill('Mortgage advice');
	await page.locator('#queue-strategy').selectOption('least_occupied');
	await page.locator('#queue-capacity').fill('2');
	await dialog.locator(`input[name=skill][value="${skill.id}"]`).check();
	await dialog.locator(`select[name="level-${skill.id}"]`).selectOption('4');
	await page.locator('#queue-overflow').selectOption({ label: 'General' });
	await page.locator('#queue-overflow-after').fill('600');
	await page.locator('#queue-hours-enabled').check();
	await page.locator('#queue-tz').fill('Europe/Vienna');
	// Monday 09:00–17:00 (the default of a new interval).
	await dialog.locator('.hours-day').first().locator('button', { hasText: 'Add hours' }).click();
	await dialog.locator('button', { hasText: 'Add closed date' }).click();
	await dialog.locator('.hours-closed input[type=date]').fill('2030-12-25');
	await dialog.locator('.hours-closed input[type=text]').fill('Christmas');
	await axeCheck(page, 'queue dialog');
	await screenshot(page, 'queues-dialog');
	// A bad time zone comes back on its field and keeps the dialog open.
	await page.locator('#queue-tz').fill('Mars/Base');
	await page.locator('#queue-save').click();
	await page.locator('#queue-tz[aria-invalid="true"]').waitFor();
	await page.locator('#queue-tz').fill('Europe/Vienna');
	await page.locator('#queue-save').click();
	await dialog.waitFor({ state: 'detached' });
	const row = page.locator('tr[data-queue-id]', { hasText: 'Mortgage advice' });
	await row.waitFor();
	assert.match(await row.textContent(), /Least occupied/);
	assert.match(await row.textContent(), /Mortgages \(level 4\+\)/);
	const q = JSON.parse(sql(`SELECT row_to_json(q) FROM queues q WHERE tenant_id = ${org.tenant} AND name = 'Mortgage advice'`));
	assert.equal(q.capacity, 2);
	assert.equal(q.overflow_after_s, 600);
	assert.equal(q.time_zone, 'Europe/Vienna');
	assert.equal(sql(`SELECT weekday || ' ' || opens || '-' || closes FROM queue_hours WHERE queue_id = ${q.id}`), '1 09:00:00-17:00:00');
	assert.equal(sql(`SELECT min_level FROM queue_skills WHERE queue_id = ${q.id}`), '4');
	await axeCheck(page, 'queues page 1280');
	await screenshot(page, 'queues-1280');

	// The site: default queue and a subject.
	await goto(page, '/admin/sites');
	const card = page.locator(`[data-site-id="${site.id}"]`);
	await card.locator('[data-role=default-queue]').selectOption({ label: 'General' });
	await card.locator('[data-action=save-default-queue]').click();
	await page.locator('.toast', { hasText: 'Saved the default queue' }).waitFor();
	await card.locator('[data-action=add-subject]').click();
	await page.locator('#subject-name').fill('Mortgages');
	await page.locator('#subject-queue').selectOption({ label: 'Mortgage advice' });
	await page.locator('#subject-save').click();
	await card.locator('.subject-row', { hasText: 'Mortgages' }).waitFor();
	assert.equal(sql(`SELECT q.name FROM sites s JOIN queues q ON q.id = s.default_queue_id WHERE s.id = ${site.id}`), 'General');
	await axeCheck(page, 'sites page with routing');
	await screenshot(page, 'sites-routing-1280');
	assert.deepEqual(page.errors, []);
	await page.context().close();
});

test('queues, sites and contact settings at 375 px pass axe-core', async () => {
	const { page } = await newPage(browser, { width: 375, height: 800 });
	await login(page, org.email, org.password);
	await goto(page, '/admin/queues');
	await page.locator('tr[data-queue-id]').first().waitFor();
	await axeCheck(page, 'queues page 375');
	await screenshot(page, 'queues-375');
	await goto(page, '/admin/contact-settings');
	await page.locator('#canned-create').click();
	await page.locator('#canned-title-input').fill('Greeting');
	await page.locator('#canned-shortcut').fill('hi');
	await page.locator('#canned-body').fill('Hello {{customer.name}}, this is {{agent.name}}.');
	await page.locator('#canned-save').click();
	await page.locator('#canned-table tr', { hasText: 'Greeting' }).waitFor();
	await page.locator('#wrapup-create').click();
	await page.locator('#wrapup-name').fill('Question answered');
	await page.locator('#wrapup-save').click();
	await page.locator('#wrapup-table tr', { hasText: 'Question answered' }).waitFor();
	await axeCheck(page, 'contact settings 375');
	await screenshot(page, 'contact-settings-375');
	assert.equal(sql(`SELECT shortcut FROM canned_replies WHERE tenant_id = ${org.tenant}`), 'hi');
	assert.deepEqual(page.errors, []);
	await page.context().close();
});

async function panelFrame(page) {
	const end = Date.now() + TIMEOUT;
	for (;;) {
		const f = page.frames().find((x) => !x.isDetached() && x.url().startsWith(`${BASE}/widget/panel`));
		if (f)
			return f;
		assert.ok(Date.now() < end, 'no chat panel frame');
		await new Promise((r) => setTimeout(r, 50));
	}
}

test('the widget asks for the subject before the first message', async () => {
	const { page } = await newPage(browser, { width: 375, height: 700 });
	await page.goto(HOST_ORIGIN + '/');
	await page.locator('#vb-widget').waitFor({ state: 'attached' });
	for (let i = 0; i < 12 && await page.evaluate(() => document.activeElement?.id) !== 'vb-widget'; i++)
		await page.keyboard.press('Tab');
	await page.keyboard.press('Enter');
	const frame = await panelFrame(page);
	await frame.locator('.panel[data-state="online"]').waitFor();
	await frame.locator('#vb-subjects:not([hidden])').waitFor();
	assert.equal((await frame.locator('#vb-subjects legend').textContent()).trim(), 'What is your question about?');
	// Writing without a choice asks for one and sends nothing.
	await frame.locator('#vb-input').fill('I would like a mortgage');
	await frame.locator('#vb-send').click();
	await frame.locator('#vb-subjects-error', { hasText: 'Please choose a subject first.' }).waitFor();
	await axeCheck(frame, 'widget subject choice');
	await screenshot(page, 'widget-subjects-375');
	await frame.locator('label', { hasText: 'Mortgages' }).click();
	await frame.locator('#vb-send').click();
	await frame.locator('#vb-subjects').waitFor({ state: 'hidden' });
	const end = Date.now() + TIMEOUT;
	let got = '';
	while (Date.now() < end) {
		got = sql(`SELECT s.name || '|' || q.name FROM conversations c JOIN subjects s ON s.id = c.subject_id
		    JOIN queues q ON q.id = c.queue_id WHERE c.site_id = ${site.id}`);
		if (got)
			break;
		await page.waitForTimeout(100);
	}
	assert.equal(got, 'Mortgages|Mortgage advice');
	assert.deepEqual(page.errors, []);
	await page.context().close();
});
