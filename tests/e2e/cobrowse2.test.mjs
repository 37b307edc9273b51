// Co-browsing, the remaining parts of issue 5, in Chromium: on the bank's
// page (another origin, strict CSP) the customer starts sharing from the
// widget menu ("Share this page") and consents (axe on the dialog, which says
// the site stores sessions); the agent sees the page; the agent pushes a
// document from the chat's files, the customer sees it and opens it with a
// click; the customer stops; the stored session holds the page masked (the
// typed secret is not in the stored bytes), and the agent replays it from the
// transcript's line (axe on the replay dialog).
// Screenshots: tests/e2e/out/cobrowse2-*.png.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { sql, newOrg, roleId, setPassword, unique } from '../lib/vb.mjs';
import { defaultQueue } from '../lib/chat.mjs';
import { launch, newPage, login, axeCheck, screenshot, BASE, TIMEOUT } from './lib.mjs';

const SECRET = '4111222233334444';
const MASK = '\u2022'.repeat(8);
const PDF = '%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n';

let browser, hostServer, HOST, org, site, ada;

function hostPage(req, res) {
	const csp = `default-src 'none'; script-src ${BASE}; connect-src ${BASE}; frame-src ${BASE}; ` +
	    `style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'`;
	if (req.url === '/logo.svg') {
		res.writeHead(200, { 'content-type': 'image/svg+xml' });
		return res.end('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="#1d4e89"/></svg>');
	}
	if (req.url === '/site.css') {
		res.writeHead(200, { 'content-type': 'text/css' });
		return res.end('body{font:16px system-ui;margin:2rem}label{display:block;margin:.5rem 0}');
	}
	if (req.url === '/') {
		res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp });
		return res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/site.css">
<script async src="${BASE}/widget/loader.js"></script><title>Northwind Savings</title></head>
<body><main><img id="logo" src="/logo.svg" alt="Northwind" width="40" height="40"><h1>Northwind Savings</h1><p>Loans and savings</p>
<form><label>Card number <input id="card" name="card" autocomplete="off"></label></form></main>
<div data-vb-site="${site.site_key}" hidden></div></body></html>`);
	}
	res.writeHead(404);
	res.end();
}

before(async () => {
	hostServer = http.createServer(hostPage);
	await new Promise((r) => hostServer.listen(0, '127.0.0.2', r));
	HOST = `http://127.0.0.2:${hostServer.address().port}`;
	org = await newOrg('Northwind');
	let r = await org.admin.post('/api/sites', { name: 'Northwind Savings', allowed_origins: [HOST] });
	assert.equal(r.status, 201, r.text);
	site = r.json.site;
	defaultQueue(org.tenant, site);
	r = await org.admin.put(`/api/sites/${site.id}/cobrowse-storage`, { enabled: true, retention_days: 30 });
	assert.equal(r.status, 200, r.text);
	const email = unique('agent') + '@northwind.test';
	r = await org.admin.post('/api/users', { email, name: 'Ada Lovelace', role_ids: [await roleId(org.admin, 'agent')] });
	assert.equal(r.status, 201, r.text);
	setPassword(email, 'Branch-Pass-123');
	sql(`UPDATE users SET must_change_password = false WHERE id = ${r.json.user.id}`);
	ada = { id: r.json.user.id, email };
	browser = await launch();
});

after(async () => {
	await browser?.close();
	hostServer?.close();
});

async function frameOf(page, pred, what) {
	const end = Date.now() + TIMEOUT;
	for (;;) {
		const f = page.frames().find((x) => !x.isDetached() && pred(x.url()));
		if (f)
			return f;
		assert.ok(Date.now() < end, `no ${what} frame`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

async function until(cond, what, ms = TIMEOUT) {
	const end = Date.now() + ms;
	while (!await cond()) {
		assert.ok(Date.now() < end, `timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

// Playwright's screenshot injects a style the page's CSP reports.
async function shot(page, name) {
	const n = page.errors.length;
	await screenshot(page, name);
	await new Promise((r) => setTimeout(r, 200));
	page.errors.length = n;
}

test('share this page from the widget, push a file, stored session replayed', { timeout: 120000 }, async () => {
	const a = await newPage(browser, { width: 1400, height: 900 });
	await login(a.page, ada.email, 'Branch-Pass-123');
	await a.page.goto('/console');
	await a.page.locator('#console-conn', { hasText: 'Connected' }).waitFor();
	await a.page.locator('#agent-state').selectOption('ready');

	const c = await newPage(browser, { width: 1280, height: 800 });
	const pc = c.page;
	await pc.addInitScript(() => {
		const attach = Element.prototype.attachShadow;
		window.__vbRoots = new Map();
		Element.prototype.attachShadow = function (o) {
			const r = attach.call(this, o);
			window.__vbRoots.set(this.id, r);
			return r;
		};
	});
	await pc.goto(HOST + '/');
	await pc.locator('#vb-widget').waitFor({ state: 'attached' });
	await pc.evaluate(() => window.vbq.push(['open']));
	const panel = await frameOf(pc, (u) => u.startsWith(`${BASE}/widget/panel`), 'chat panel');
	await panel.locator('.panel[data-state="online"]').waitFor({ timeout: 30000 });
	await panel.locator('#vb-input').fill('Hello, I sent you my loan form.');
	await panel.locator('#vb-input').press('Enter');
	const conv = JSON.parse(await pc.evaluate(() => sessionStorage.getItem('vb.session'))).conversation_id;
	const offer = a.page.locator(`.offer[data-conv="${conv}"]`);
	await offer.waitFor();
	await offer.locator('[data-action="accept"]').click();
	await a.page.locator('#chat-log .msg--customer', { hasText: 'loan form' }).waitFor();
	await a.page.locator('#composer-text').fill('Thank you, I have it here.');
	await a.page.locator('#composer-text').press('Enter');
	await panel.locator('.row--staff', { hasText: 'I have it here' }).waitFor();

	// A document in the chat's files (the customer's upload).
	await panel.locator('#vb-file').setInputFiles({ name: 'loan-terms.pdf', mimeType: 'application/pdf', buffer: Buffer.from(PDF) });
	await a.page.locator('#chat-log .msg__file', { hasText: 'loan-terms.pdf' }).waitFor();
	const fileId = Number(sql(`SELECT id FROM files WHERE conversation_id = ${conv}`));

	// "Share this page" from the widget's menu: a clear consent dialog first.
	await panel.locator('#vb-menu-button').click();
	await panel.locator('#vb-cb-start').click();
	await panel.locator('#vb-cb:not([hidden])').waitFor();
	assert.match(await panel.locator('#vb-cb').textContent(), /Share this page with the adviser\?/);
	await axeCheck(panel, 'the customer\'s own co-browse offer');
	await shot(pc, 'cobrowse2-share-consent');
	assert.equal(await pc.evaluate(() => typeof window.rrwebRecord), 'undefined', 'no recorder before consent');
	await panel.locator('#vb-cb-yes').click();

	// The agent sees the page; the banner tells the customer it is stored.
	await a.page.locator('#cobrowse:not([hidden])').waitFor();
	const view = await frameOf(a.page, (u) => u.includes('/console/cobrowse-view'), 'viewer');
	const live = view.frameLocator('iframe');
	await live.locator('h1', { hasText: 'Northwind Savings' }).waitFor({ timeout: 20000 });
	await pc.locator('#vb-cobrowse').waitFor({ state: 'attached' });
	assert.match(await pc.evaluate(() => window.__vbRoots.get('vb-cobrowse').textContent), /stored for review/);
	await pc.locator('#card').fill(SECRET);
	await until(async () => await live.locator('#card').evaluate((e) => e.value) === MASK, 'the mask in the agent\'s view');

	// Ada pushes the document from the chat's files.
	await a.page.locator('#cobrowse-push').click();
	const dlg = a.page.locator('dialog[open]');
	await dlg.waitFor();
	await dlg.locator('#cobrowse-file').selectOption(String(fileId));
	await dlg.locator('#cobrowse-push-submit').click();
	await dlg.waitFor({ state: 'detached' });

	// The customer sees it on the page and opens it with a click.
	await pc.waitForFunction(() => window.__vbRoots.get('vb-cobrowse')?.querySelector('.k a'), null, { timeout: 20000 });
	const card = await pc.evaluate(() => {
		const k = window.__vbRoots.get('vb-cobrowse').querySelector('.k');
		const link = k.querySelector('a');
		const r = link.getBoundingClientRect();
		return { text: k.textContent, name: link.textContent, href: link.href, target: link.target, rel: link.rel,
		    x: r.x + r.width / 2, y: r.y + r.height / 2 };
	});
	assert.match(card.text, /^Ada Lovelace sent you:loan-terms\.pdf/, 'named after the adviser\'s messages');
	assert.equal(card.name, 'loan-terms.pdf');
	assert.match(card.href, new RegExp(`^${BASE}/api/files/${fileId}\\?token=`));
	assert.equal(card.target, '_blank');
	assert.match(card.rel, /noopener/);
	await shot(pc, 'cobrowse2-pushed-file');
	// A new tab asks for the document (served as an attachment: a download).
	const opened = pc.context().waitForEvent('page', { timeout: TIMEOUT });
	const asked = pc.context().waitForEvent('response', { timeout: TIMEOUT,
	    predicate: (r) => r.url().startsWith(`${BASE}/api/files/${fileId}?`) });
	await pc.mouse.click(card.x, card.y);
	const [tab, res] = await Promise.all([opened, asked]);
	assert.equal(res.status(), 200);
	assert.equal(res.frame().page(), tab, 'in a new tab, not on the bank\'s page');
	const got = await (await fetch(card.href)).text();
	assert.equal(got, PDF, 'the link serves the document');
	await tab.close().catch(() => {});

	// The customer stops; the session was stored, masked.
	await pc.evaluate(() => [...window.__vbRoots.get('vb-cobrowse').querySelectorAll('button')]
	    .find((x) => x.textContent === 'Stop sharing').click());
	await a.page.locator('#cobrowse-status', { hasText: 'Co-browsing has ended.' }).waitFor();
	let stored = '';
	await until(() => {
		const b64 = sql(`SELECT string_agg(encode(k.data, 'base64'), ',' ORDER BY k.seq) FROM cobrowse_chunks k
		    JOIN cobrowse_recordings r ON r.id = k.recording_id WHERE r.conversation_id = ${conv}`);
		stored = (b64 || '').split(',').filter(Boolean).map((x) => zlib.inflateSync(Buffer.from(x, 'base64')).toString('utf8')).join('');
		return stored.includes(MASK);
	}, 'the stored session');
	assert.ok(stored.includes('Northwind Savings'), 'the page is stored');
	for (const s of [SECRET, '"4111'])
		assert.ok(!stored.includes(s), `"${s}" in the stored bytes`);
	const raw = sql(`SELECT string_agg(encode(k.data, 'hex'), '') FROM cobrowse_chunks k JOIN cobrowse_recordings r
	    ON r.id = k.recording_id WHERE r.conversation_id = ${conv}`);
	assert.ok(!raw.includes(Buffer.from(SECRET).toString('hex')));

	// Ada replays it from the transcript's line.
	await a.page.locator('#cobrowse-stop').click();	// closes the ended panel
	const replayBtn = a.page.locator('#chat-log [data-action="cobrowse-replay"]');
	await replayBtn.waitFor();
	await replayBtn.click();
	const rd = a.page.locator('dialog[open]');
	await rd.waitFor();
	await rd.locator('#cobrowse-replay-status', { hasText: /Playing the stored session \(\d+:\d\d long\)/ }).waitFor({ timeout: 20000 });
	const replayed = rd.frameLocator('#cobrowse-replay-view').frameLocator('iframe');
	await replayed.locator('h1', { hasText: 'Northwind Savings' }).waitFor({ timeout: 20000 });
	await until(async () => await replayed.locator('#card').evaluate((e) => e.value).catch(() => '') === MASK,
	    'the masked field in the replay', 20000);
	// The page's image, fetched through the asset proxy for the replay.
	await until(async () => await replayed.locator('#logo').evaluate((e, c) => e.complete && e.naturalWidth === 40 &&
	    e.getAttribute('src').startsWith(`/api/cobrowse/proxy?conversation_id=${c}&`), conv).catch(() => false),
	    'the image in the replay', 20000);
	await axeCheck(a.page, 'the replay dialog');
	await shot(a.page, 'cobrowse2-replay');
	assert.equal(sql(`SELECT count(*) FROM audit_log WHERE action = 'cobrowse.replay' AND object_id = '${conv}'`), '1');
	await rd.locator('#cobrowse-replay-again').click();
	await replayed.locator('h1', { hasText: 'Northwind Savings' }).waitFor();
	await rd.locator('button', { hasText: 'Close' }).first().click().catch(() => {});

	// Sharing again, then the customer ends the chat: the sharing stops on
	// the page too, and the agent is told.
	await panel.locator('#vb-menu-button').click();
	await panel.locator('#vb-cb-start').click();
	await panel.locator('#vb-cb-yes').click();
	const bar = () => pc.evaluate(() => Boolean([...(window.__vbRoots.get('vb-cobrowse')?.querySelectorAll('button') || [])]
	    .find((x) => x.textContent === 'Stop sharing' && x.offsetParent !== null)));
	await until(bar, 'the sharing bar');
	await panel.locator('#vb-menu-button').click();
	await panel.locator('#vb-end').click();
	await panel.locator('#vb-end-yes').click();
	await panel.getByRole('button', { name: 'Start a new chat' }).waitFor();
	await a.page.locator('#chat-log .msg', { hasText: 'The customer ended the chat' }).waitFor();
	await a.page.locator('#wrapup-form').waitFor();
	await until(async () => !(await bar()), 'the sharing bar gone with the chat');
	assert.deepEqual(pc.errors.filter((e) => !/favicon/.test(e)), []);
	await a.context.close();
	await c.context.close();
});

test('site admin: storing sessions, with retention, checked and audited', { timeout: 60000 }, async () => {
	const { page } = await newPage(browser, { width: 1280, height: 900 });
	await login(page, org.email, org.password);
	await page.goto('/admin/sites');
	const section = page.locator('.site-cobrowse');
	await section.getByText('Sessions are stored for 30 days.').waitFor();
	await section.getByRole('button', { name: /Edit/ }).click();
	const dialog = page.locator('dialog[open]');
	await dialog.waitFor();
	await dialog.getByLabel('Keep stored sessions for (days)').fill('0');
	await dialog.locator('#site-cb-save').click();
	await dialog.getByText('Enter a whole number of days from 1 to 3650.').waitFor();
	await dialog.getByLabel('Keep stored sessions for (days)').fill('90');
	await axeCheck(page, 'the co-browsing settings dialog with storage');
	await shot(page, 'cobrowse2-site-storage');
	await dialog.locator('#site-cb-save').click();
	await dialog.waitFor({ state: 'detached' });
	await section.getByText('Sessions are stored for 90 days.').waitFor();
	assert.equal(sql(`SELECT after->>'retention_days' FROM audit_log WHERE action = 'site.cobrowse_storage'
	    AND object_id = '${site.id}' ORDER BY id DESC LIMIT 1`), '90');
	await section.getByRole('button', { name: /Edit/ }).click();
	await dialog.waitFor();
	await dialog.getByLabel('Store co-browse sessions for replay').uncheck();
	await dialog.locator('#site-cb-save').click();
	await dialog.waitFor({ state: 'detached' });
	await section.getByText('Sessions are not stored.').waitFor();
	assert.deepEqual(page.errors, []);
});
