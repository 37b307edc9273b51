// The customer chat widget on someone else's site: a host page on a second
// loopback origin (127.0.0.2) with a strict CSP embeds the two tags; the
// customer opens the chat with the keyboard, writes, a supervisor answers
// over the WebSocket, the page is reloaded and the chat resumes. axe-core
// checks the panel; screenshots go to tests/e2e/out/.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import WebSocket from 'ws';
import { Client, sql, setPassword, newOrg, roleId, unique } from '../lib/vb.mjs';
import { launch, newPage, axeCheck, screenshot, BASE, TIMEOUT, OUT } from './lib.mjs';

const ROOT = path.resolve(OUT, '..', '..', '..');
let browser, hostServer, HOST_ORIGIN, org, site, otherSite;

// A bank's page as a site owner would write it: the loader and the site key
// in a hidden element (no inline script), or the inline command queue.
function hostPage(req, res) {
	const u = new URL(req.url, HOST_ORIGIN);
	if (u.pathname === '/favicon.ico') {
		res.writeHead(204);
		res.end();
		return;
	}
	const key = u.searchParams.get('site') || site.site_key;
	const nonce = crypto.randomBytes(16).toString('base64');
	const inline = u.pathname === '/inline';
	const embed = inline
	    ? `<script nonce="${nonce}">(window.vbq=window.vbq||[]).push(['init',{site:'${key}',position:'left'}])</script>
<script async src="${BASE}/widget/loader.js"></script>`
	    : `<script async src="${BASE}/widget/loader.js"></script>`;
	const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Test Savings Bank</title>${embed}</head>
<body><main><h1>Test Savings Bank</h1><p>Rates, accounts and <a href="/?page=2">more</a>.</p></main>
${inline ? '' : `<div data-vb-site="${key}" hidden></div>`}</body></html>`;
	res.writeHead(200, {
		'content-type': 'text/html; charset=utf-8',
		'content-security-policy': `default-src 'none'; script-src ${BASE}${inline ? ` 'nonce-${nonce}'` : ''}; ` +
		    `connect-src ${BASE}; frame-src ${BASE}; style-src 'self'; img-src 'self'; base-uri 'none'`,
	});
	res.end(html);
}

before(async () => {
	hostServer = http.createServer(hostPage);
	await new Promise((r) => hostServer.listen(0, '127.0.0.2', r));
	HOST_ORIGIN = `http://127.0.0.2:${hostServer.address().port}`;
	org = await newOrg('Widget');
	let r = await org.admin.post('/api/sites', { name: 'Test Savings Bank', allowed_origins: [HOST_ORIGIN] });
	assert.equal(r.status, 201, r.text);
	site = r.json.site;
	r = await org.admin.post('/api/sites', { name: 'Elsewhere', allowed_origins: ['https://elsewhere.example'] });
	otherSite = r.json.site;
	browser = await launch();
});

after(async () => {
	await browser?.close();
	hostServer?.close();
});

// The panel iframe lives in a closed shadow root, out of reach of selectors;
// Playwright still lists it among the page's frames.
async function panelFrame(page) {
	const end = Date.now() + TIMEOUT;
	for (;;) {
		const f = page.frames().find((x) => !x.isDetached() && x.url().startsWith(`${BASE}/widget/panel`));
		if (f)
			return f;
		if (Date.now() > end)
			throw new Error('no chat panel frame');
		await new Promise((r) => setTimeout(r, 50));
	}
}

// Tab until the launcher (inside #vb-widget) has the focus.
async function tabToLauncher(page) {
	for (let i = 0; i < 12; i++) {
		await page.keyboard.press('Tab');
		if (await page.evaluate(() => document.activeElement?.id) === 'vb-widget')
			return;
	}
	throw new Error('the launcher never got the keyboard focus');
}

// What assistive technology sees, closed shadow roots included.
async function axText(page) {
	const cdp = await page.context().newCDPSession(page);
	const { nodes } = await cdp.send('Accessibility.getFullAXTree');
	await cdp.detach();
	return nodes.filter((n) => !n.ignored).map((n) => ({ role: n.role?.value, name: n.name?.value,
	    expanded: n.properties?.find((p) => p.name === 'expanded')?.value?.value }));
}

async function waitAx(page, pred, what) {
	const end = Date.now() + TIMEOUT;
	for (;;) {
		const nodes = await axText(page);
		if (nodes.some(pred))
			return nodes;
		assert.ok(Date.now() < end, what);
		await page.waitForTimeout(100);
	}
}

function connect({ cookie }) {
	const ws = new WebSocket(BASE.replace(/^http/, 'ws') + '/ws', { origin: BASE, headers: { cookie } });
	ws.frames = [];
	ws.waiters = [];
	ws.on('message', (d) => {
		const f = JSON.parse(d.toString());
		ws.frames.push(f);
		ws.waiters = ws.waiters.filter((w) => !(w.pred(f) && (w.resolve(f), true)));
	});
	ws.next = (pred, ms = TIMEOUT) => {
		const hit = ws.frames.find(pred);
		if (hit)
			return Promise.resolve(hit);
		return new Promise((resolve, reject) => {
			const t = setTimeout(() => reject(new Error('timeout; got ' + JSON.stringify(ws.frames))), ms);
			ws.waiters.push({ pred, resolve: (f) => { clearTimeout(t); resolve(f); } });
		});
	};
	ws.sendJson = (o) => ws.send(JSON.stringify(o));
	return new Promise((resolve, reject) => {
		ws.once('open', () => resolve(ws));
		ws.once('error', reject);
	});
}

async function supervisor(admin) {
	const email = unique('sup') + '@widget.test';
	const r = await admin.post('/api/users', { email, name: 'Sam Supervisor',
	    role_ids: [await roleId(admin, 'supervisor')] });
	assert.equal(r.status, 201, r.text);
	setPassword(email, 'Supervisor-Pass-1');
	const c = new Client();
	assert.equal((await c.login(email, 'Supervisor-Pass-1')).status, 200);
	return c;
}

// 5 KB, plus the iframe's permissions for calls (camera, microphone,
// display-capture: issue 4), which main's loader had no room left for.
test('the loader stays under 5.1 KB gzip', () => {
	const size = gzipSync(readFileSync(path.join(ROOT, 'static/widget/loader.js')), { level: 9 }).length;
	assert.ok(size < 5200, `loader.js is ${size} bytes gzip`);
});

test('a customer chats from a strict-CSP page with the keyboard, a supervisor answers, a reload resumes', async () => {
	const { page, context } = await newPage(browser, { width: 1280, height: 800 });
	const widgetRequests = [];
	page.on('request', (r) => {
		if (/\/widget\/panel|\/static\/widget\/(?!loader\.js)|\/api\/widget\/(?!config\?)/.test(r.url()))
			widgetRequests.push(r.url());
	});
	await page.goto(HOST_ORIGIN + '/');
	await page.locator('#vb-widget').waitFor({ state: 'attached' });

	// Only the launcher (and the site's appearance, /api/widget/config)
	// until the customer asks: no session, no panel code.
	await page.waitForTimeout(300);
	assert.deepEqual(widgetRequests, [], 'nothing loaded before opening');
	const launcher = (await axText(page)).find((n) => n.role === 'button' && n.name === 'Chat with us');
	assert.ok(launcher, 'a button "Chat with us" inside the shadow root');
	assert.equal(launcher.expanded, false);
	await tabToLauncher(page);
	await page.keyboard.press('Enter');

	const frame = await panelFrame(page);
	await frame.locator('.panel[data-state="online"]').waitFor();
	// The focus moved into the composer: the customer just types.
	await frame.waitForFunction(() => document.activeElement?.id === 'vb-input');
	await page.keyboard.type('Hello');
	await page.keyboard.press('Enter');
	const mine = frame.locator('.row--me', { hasText: 'Hello' });
	await mine.locator('.msg__status--sent').waitFor();
	assert.equal((await mine.locator('.msg__status').textContent()).trim(), 'Sent');

	const sess = await page.evaluate(() => JSON.parse(sessionStorage.getItem('vb.session')));
	assert.ok(sess.conversation_id > 0);
	assert.match(await page.evaluate(() => JSON.parse(localStorage.getItem('vb.correlation'))), /^[0-9a-f-]{36}$/);
	assert.equal(sql(`SELECT sender_kind || ':' || body FROM messages WHERE conversation_id = ${sess.conversation_id} ORDER BY seq`),
	    'customer:Hello');
	assert.equal(sql(`SELECT s.site_key FROM conversations c JOIN sites s ON s.id = c.site_id WHERE c.id = ${sess.conversation_id}`),
	    site.site_key);
	await frame.getByText('An adviser will be with you shortly').waitFor();

	// A supervisor follows the conversation, types, and answers.
	const sup = await supervisor(org.admin);
	const sws = await connect({ cookie: sup.cookieHeader() });
	sws.sendJson({ type: 'subscribe', conversation_id: sess.conversation_id, after_seq: 0 });
	await sws.next((f) => f.type === 'subscribed');
	sws.sendJson({ type: 'typing', conversation_id: sess.conversation_id });
	await frame.getByText('Agent is typing…').waitFor();
	sws.sendJson({ type: 'send', conversation_id: sess.conversation_id, client_id: 'sup-1',
	    text: 'Hi, this is Sam. How can I help? See https://example.com/rates' });
	await sws.next((f) => f.type === 'ack' && f.client_id === 'sup-1');
	const reply = frame.locator('.row--staff', { hasText: 'Hi, this is Sam.' });
	await reply.waitFor();
	assert.equal((await reply.locator('.msg__name').textContent()).replace(':', '').trim(), 'Sam Supervisor');
	const link = reply.locator('a');
	assert.equal(await link.getAttribute('href'), 'https://example.com/rates');
	assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
	assert.equal(await link.getAttribute('target'), '_blank');
	await frame.getByText('An adviser will be with you shortly').waitFor({ state: 'detached' });
	await screenshot(page, 'widget-1280');
	await axeCheck(frame, 'the chat panel');

	// The customer moves on: the same chat comes back, each message once.
	await page.reload();
	const again = await panelFrame(page);
	await again.locator('.panel[data-state="online"]').waitFor();
	await again.locator('.row--staff', { hasText: 'Hi, this is Sam.' }).waitFor();
	await page.waitForTimeout(300);
	assert.equal(await again.locator('.log .row').count(), 2, 'both messages, once each');
	assert.equal(await again.locator('.row--me', { hasText: 'Hello' }).count(), 1);
	assert.equal(await page.evaluate(() => JSON.parse(sessionStorage.getItem('vb.session')).conversation_id),
	    sess.conversation_id);
	assert.equal(sql(`SELECT count(*) FROM messages WHERE conversation_id = ${sess.conversation_id}`), '2');

	// Escape in the panel closes it and gives the focus back to the launcher.
	await again.locator('#vb-input').focus();
	await page.keyboard.press('Escape');
	await page.waitForFunction(() => document.activeElement?.id === 'vb-widget' &&
	    sessionStorage.getItem('vb.open') === null);
	assert.equal((await axText(page)).find((n) => n.name === 'Chat with us')?.expanded, false);

	// While closed, an answer shows as a count on the launcher.
	sws.sendJson({ type: 'send', conversation_id: sess.conversation_id, client_id: 'sup-2',
	    text: 'Are you still there? 🙂' });
	await waitAx(page, (n) => n.role === 'button' && n.name === 'Chat with us (1 new message)',
	    'the launcher announces one new message');

	// Opened again, the count goes.
	await page.keyboard.press('Enter');
	await again.waitForFunction(() => document.activeElement?.id === 'vb-input');
	await again.locator('.row--staff', { hasText: 'Are you still there? 🙂' }).waitFor();
	await waitAx(page, (n) => n.role === 'button' && n.name === 'Chat with us' && n.expanded === true,
	    'opened, the count is gone');
	await page.keyboard.press('Escape');
	await page.waitForFunction(() => document.activeElement?.id === 'vb-widget');

	// Phone width: the panel takes the whole screen (the launcher hides).
	await page.setViewportSize({ width: 375, height: 740 });
	await page.keyboard.press('Enter');
	await again.waitForFunction(() => document.activeElement?.id === 'vb-input');
	assert.ok(!(await axText(page)).some((n) => n.name?.startsWith('Chat with us')));
	await page.waitForTimeout(250);
	await page.screenshot({ path: path.join(OUT, 'widget-375.png'), animations: 'disabled' });
	await axeCheck(again, 'the chat panel at 375 px');

	assert.deepEqual(page.errors, [], 'no script errors or CSP violations');
	sws.close();
	await context.close();
});

test('an origin that is not on the allow-list gets a clear message, and no chat', async () => {
	const { page, context } = await newPage(browser);
	const warnings = [];
	page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
	await page.goto(`${HOST_ORIGIN}/?site=${otherSite.site_key}`);
	await page.locator('#vb-widget').waitFor({ state: 'attached' });
	await tabToLauncher(page);
	await page.keyboard.press('Enter');
	const nodes = await waitAx(page, (n) => n.name === 'Sorry, chat is not available on this page.',
	    'the customer is told');
	assert.ok(nodes.some((n) => n.role === 'alert'), 'as an alert');
	assert.ok(!page.frames().some((f) => f.url().includes('/widget/panel')), 'no panel');
	assert.ok(warnings.some((w) => w.includes('origin_not_allowed') && w.includes(HOST_ORIGIN)),
	    'the console tells the site owner which origin to allow');
	assert.deepEqual(page.errors, []);
	await context.close();
});

test('the inline command queue works too; a message written offline is sent once when back', async () => {
	const { page, context } = await newPage(browser, { width: 1024, height: 768 });
	await page.goto(`${HOST_ORIGIN}/inline`);
	await page.locator('#vb-widget').waitFor({ state: 'attached' });
	assert.equal(await page.evaluate(() => window.vbq.push === Array.prototype.push), false);
	await page.evaluate(() => window.vbq.push(['open']));
	const frame = await panelFrame(page);
	await frame.locator('.panel[data-state="online"]').waitFor();
	await frame.locator('#vb-input').fill('Written in the inline embed 👋');
	await frame.locator('#vb-send').click();
	await frame.locator('.row--me .msg__status--sent').waitFor();
	const conv = await page.evaluate(() => JSON.parse(sessionStorage.getItem('vb.session')).conversation_id);
	assert.equal(sql(`SELECT body FROM messages WHERE conversation_id = ${conv}`), 'Written in the inline embed 👋');

	// Written while offline: kept, shown as sending, sent once when back.
	await context.setOffline(true);
	await frame.getByText('You are offline.').waitFor();
	await frame.locator('#vb-input').fill('Written offline');
	await frame.locator('#vb-input').press('Enter');
	const row = frame.locator('.row--me', { hasText: 'Written offline' });
	assert.equal((await row.locator('.msg__status').textContent()).trim(), 'Sending…');
	await context.setOffline(false);
	await row.locator('.msg__status--sent').waitFor();
	assert.equal(sql(`SELECT string_agg(body, '|' ORDER BY seq) FROM messages WHERE conversation_id = ${conv}`),
	    'Written in the inline embed 👋|Written offline');
	assert.deepEqual(page.errors, []);
	await context.close();
});
