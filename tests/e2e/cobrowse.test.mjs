// Issue 5's "done when", end to end in Chromium: the bank's page on another
// origin (127.0.0.2) under a strict CSP embeds the widget; customer and agent
// chat; the agent asks to co-browse and the customer consents (axe on the
// dialog); the agent sees the page live; what the customer types into fields
// and the text the bank marks data-vb-mask reach the agent only as the fixed
// mask; the agent's pointer and drawing appear on the customer's page;
// remote control is refused without a grant and works after it (axe on that
// dialog too); the next page of the site continues the session; the
// customer stops it and the agent's view ends. Every WebSocket frame the
// customer's browser sent (what the server received) and every frame the
// agent's browser received is captured and searched for the secrets.
// Screenshots: tests/e2e/out/cobrowse-*.png.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { sql, newOrg, roleId, setPassword, unique } from '../lib/vb.mjs';
import { defaultQueue } from '../lib/chat.mjs';
import { launch, newPage, login, goto, axeCheck, screenshot, BASE, TIMEOUT } from './lib.mjs';

const SECRET_TYPED = '4111222233334444';
const SECRET_PASSWORD = 'Hunter2-Secret';
const SECRET_TEXT = 'PT50 0002 0123 1234 5678 9015 4';
const MASK = '\u2022'.repeat(8);
const step = (s) => { if (process.env.VB_STEPS) process.stderr.write(`step: ${s}\n`); };

let browser, hostServer, HOST, org, site, ada;

const CSS = 'body{font:16px system-ui;margin:2rem}main{max-width:40rem}label{display:block;margin:.5rem 0}';

function hostPage(req, res) {
	const head = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/site.css"><script async src="${BASE}/widget/loader.js"></script>`;
	const tail = `<div data-vb-site="${site.site_key}" hidden></div></body></html>`;
	const csp = `default-src 'none'; script-src ${BASE}; connect-src ${BASE}; frame-src ${BASE}; ` +
	    `style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'`;
	if (req.url === '/logo.png') {
		res.writeHead(200, { 'content-type': 'image/png' });
		return res.end(Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64'));
	}
	if (req.url === '/site.css') {
		res.writeHead(200, { 'content-type': 'text/css' });
		return res.end(CSS);
	}
	if (req.url === '/') {
		res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp });
		return res.end(`${head}<title>Northwind Savings</title></head><body><main><h1><img src="/logo.png" alt="" width="24" height="24"> Northwind Savings</h1>
<p>Your account</p><p data-vb-mask id="iban">IBAN ${SECRET_TEXT}</p>
<form id="f"><label>Card number <input id="card" name="card" autocomplete="off"></label>
<label>Password <input id="pw" type="password" name="pw"></label>
<label>Reference <input id="ref" name="ref" data-vb-unmask></label></form>
<button type="button" id="balance">Show balance</button><p id="out">Balance hidden</p>
<p><a href="/transfer" id="next">Transfer money</a></p></main>${tail}`);
	}
	if (req.url === '/transfer') {
		res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp });
		return res.end(`${head}<title>Transfer</title></head><body><main><h1>Transfer money</h1><p>Choose an account.</p></main>${tail}`);
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
	r = await org.admin.put(`/api/sites/${site.id}/cobrowse`, { enabled: true, remote_control: true,
	    mask_selectors: '', block_selectors: '', max_snapshot_bytes: 4194304 });
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

// Playwright's screenshot (animations disabled) injects a style the page's
// CSP reports: what it causes is not the page's.
async function shot(page, name) {
	const n = page.errors.length;
	await screenshot(page, name);
	await new Promise((r) => setTimeout(r, 200));
	page.errors.length = n;
}

// A condition in the page, named when it times out.
function waitIn(page, fn, what) {
	return page.waitForFunction(fn, null, { timeout: 20000 }).catch((e) => {
		throw new Error(`${what}: ${e.message.split('\n')[0]}`);
	});
}

// Polls cond from here (scripts do not run in the sandboxed replay frame).
async function until(cond, what) {
	const end = Date.now() + TIMEOUT;
	while (!await cond()) {
		assert.ok(Date.now() < end, `timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

// Every frame a page's WebSockets send and receive.
function capture(page) {
	const log = { sent: [], received: [] };
	page.on('websocket', (ws) => {
		ws.on('framesent', (f) => log.sent.push(String(f.payload)));
		ws.on('framereceived', (f) => log.received.push(String(f.payload)));
	});
	return log;
}

test('done when: consent, masked live view, pointer, drawing, control with a grant, next page, stop', { timeout: 90000 }, async () => {
	const a = await newPage(browser, { width: 1400, height: 900 });
	const agentWs = capture(a.page);
	await login(a.page, ada.email, 'Branch-Pass-123');
	await a.page.goto('/console');
	await a.page.locator('#console-conn', { hasText: 'Connected' }).waitFor();
	await a.page.locator('#agent-state').selectOption('ready');

	const c = await newPage(browser, { width: 1280, height: 800 });
	const pc = c.page;
	const customerWs = capture(pc);
	// The overlay's shadow root is closed (rrweb and the page's scripts cannot
	// see into it): the test keeps a handle to it, before any page script runs.
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
	assert.equal(await pc.evaluate(() => typeof window.rrwebRecord), 'undefined', 'no recorder on page load');
	await pc.evaluate(() => window.vbq.push(['open']));
	const panel = await frameOf(pc, (u) => u.startsWith(`${BASE}/widget/panel`), 'chat panel');
	await panel.locator('.panel[data-state="online"]').waitFor({ timeout: 30000 });
	await panel.locator('#vb-input').fill('Hello, can you show me where to change my limit?');
	await panel.locator('#vb-input').press('Enter');
	const conv = JSON.parse(await pc.evaluate(() => sessionStorage.getItem('vb.session'))).conversation_id;

	const offer = a.page.locator(`.offer[data-conv="${conv}"]`);
	await offer.waitFor();
	await offer.locator('[data-action="accept"]').click();
	await a.page.locator('#chat-log .msg--customer', { hasText: 'change my limit' }).waitFor();

	// Ada asks; the customer sees a clear dialog and consents.
	step('Ada asks; the customer sees a clear dialog and consents.');
	await a.page.locator('#chat-cobrowse').click();
	await panel.locator('#vb-cb:not([hidden])').waitFor();
	assert.match(await panel.locator('#vb-cb').textContent(), /Ada Lovelace would like to see this page/);
	await axeCheck(panel, 'the co-browse consent dialog');
	await shot(pc, 'cobrowse-consent');
	assert.equal(await pc.evaluate(() => typeof window.rrwebRecord), 'undefined', 'no recorder before consent');
	await panel.locator('#vb-cb-yes').click();

	// The agent sees the page, live.
	step('The agent sees the page, live.');
	await a.page.locator('#cobrowse:not([hidden])').waitFor();
	const view = await frameOf(a.page, (u) => u.includes('/console/cobrowse-view'), 'viewer');
	const replay = view.frameLocator('iframe');
	await replay.locator('h1', { hasText: 'Northwind Savings' }).waitFor({ timeout: 20000 });
	await pc.locator('#vb-cobrowse').waitFor({ state: 'attached' });
	assert.match(await pc.evaluate(() => window.__vbRoots.get('vb-cobrowse').textContent), /Stop sharing/);

	// The customer types secrets; the agent sees only the fixed-length mask.
	step('The customer types secrets; the agent sees only the fixe');
	await pc.locator('#card').fill(SECRET_TYPED);
	await pc.locator('#pw').fill(SECRET_PASSWORD);
	await pc.locator('#ref').fill('Limit change');
	await until(async () => await replay.locator('#ref').evaluate((e) => e.value) === 'Limit change', 'the unmasked field in the view');
	assert.equal(await replay.locator('#card').evaluate((e) => e.value), MASK);
	assert.equal(await replay.locator('#pw').evaluate((e) => e.value), MASK);
	assert.equal((await replay.locator('#iban').textContent()).trim(), MASK);
	// The page's image reaches the agent through the asset proxy.
	await until(async () => await replay.locator('h1 img').evaluate((e) => e.complete && e.naturalWidth === 1 &&
	    e.getAttribute('src').startsWith('/api/cobrowse/proxy?')), 'the proxied image in the view');
	await shot(a.page, 'cobrowse-agent-view');
	// Docked beside the chat (1400 px wide): Ada writes while she guides,
	// nothing covers the composer; "Hide page" gives the lists back and
	// "Show page" brings the view again, the session running all along.
	step('Ada writes beside the view; hides and shows the page.');
	const covered = await a.page.evaluate(() => {
		const r = document.getElementById('composer-text').getBoundingClientRect();
		return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)?.id;
	});
	assert.equal(covered, 'composer-text', 'the composer is not under the view');
	// The chat says what is shared: the page (a screen is shared in calls).
	await a.page.locator('#chat-log', { hasText: "Ada Lovelace asked to see the customer's page" }).waitFor();
	await a.page.locator('#chat-log', { hasText: 'The customer is sharing their page' }).waitFor();
	await a.page.locator('#composer-text').fill('Look at the Reference field.');
	await a.page.locator('#composer-text').press('Enter');
	await panel.locator('[role="log"]', { hasText: 'Look at the Reference field.' }).waitFor();
	await a.page.locator('#cobrowse-hide').click();
	await a.page.locator('#cobrowse').waitFor({ state: 'hidden' });
	await a.page.locator('#my-chats').waitFor();
	assert.equal(await a.page.locator('#chat-cobrowse').textContent(), 'Show page');
	await a.page.locator('#chat-cobrowse').click();
	await a.page.locator('#cobrowse:not([hidden])').waitFor();
	assert.equal(await a.page.locator('#my-chats').isVisible(), false, 'the lists make room for the view');
	await axeCheck(a.page, 'the console with the page docked beside the chat');
	// A common laptop: the view still beside the chat.
	await a.page.setViewportSize({ width: 1280, height: 800 });
	// The chat's last line stays in sight as the columns change.
	await until(async () => await a.page.locator('#chat-log .msg', { hasText: 'Look at the Reference field.' }).evaluate((e) => {
		const l = e.closest('#chat-log').getBoundingClientRect(), r = e.getBoundingClientRect();
		return r.top >= l.top && r.bottom <= l.bottom + 1;
	}), "Ada's last message in sight");
	await shot(a.page, 'cobrowse-agent-view-1280');
	// A small laptop or a tablet across: docked too.
	await a.page.setViewportSize({ width: 1024, height: 768 });
	await until(async () => await a.page.evaluate(() => {
		const v = document.getElementById('cobrowse').getBoundingClientRect();
		const c = document.getElementById('composer-text').getBoundingClientRect();
		return getComputedStyle(document.getElementById('cobrowse')).position === 'static' && c.right <= v.left;
	}), 'the view beside the chat at 1024 px');
	await shot(a.page, 'cobrowse-agent-view-1024');
	await a.page.setViewportSize({ width: 1400, height: 900 });
	await replay.locator('h1', { hasText: 'Northwind Savings' }).waitFor();

	// Ada points: the customer sees the highlight.
	step('Ada points: the customer sees the highlight.');
	const glass = view.locator('#glass');
	const box = await glass.boundingBox();
	await a.page.mouse.move(box.x + 100, box.y + 120);
	await a.page.mouse.move(box.x + 140, box.y + 160, { steps: 5 });
	await waitIn(pc, () => !window.__vbRoots.get('vb-cobrowse').querySelector('.p').classList.contains('o'), "the agent's pointer on the customer's page");
	const cx = Number(await pc.evaluate(() => window.__vbRoots.get('vb-cobrowse').querySelector('.p').getAttribute('cx')));
	// The view is scaled to fit the agent's panel (between 1 and 0.5 here), so
	// 140 px into the view is 140 to 280 px on the customer's page.
	assert.ok(cx > 130 && cx < 290, `the pointer is where Ada points (${cx})`);

	// Ada draws: the stroke shows on the customer's page.
	step("Ada draws: the stroke shows on the customer's page.");
	await a.page.locator('#cobrowse-draw').click();
	// The mode reaches the view by postMessage, which Chromium may run after
	// input that follows at once (input goes first): wait until it is there.
	await view.locator('#glass[data-mode="draw"]').waitFor();
	await a.page.mouse.move(box.x + 60, box.y + 60);
	await a.page.mouse.down();
	await a.page.mouse.move(box.x + 200, box.y + 90, { steps: 6 });
	await a.page.mouse.up();
	await waitIn(pc, () => window.__vbRoots.get('vb-cobrowse').querySelectorAll('svg polyline').length > 0, "the stroke on the customer's page");
	await shot(pc, 'cobrowse-customer-annotation');

	// Without a grant, a control command is refused by the server.
	step('Without a grant, a control command is refused by the ser');
	const refused = await a.page.evaluate(async (conv) => {
		const ws = new WebSocket(`${location.origin.replace('http', 'ws')}/ws`);
		const got = [];
		await new Promise((ok, no) => {
			ws.onmessage = (e) => { got.push(JSON.parse(e.data)); if (got[0]?.type === 'hello') ok(); };
			setTimeout(() => no(new Error('no hello')), 5000);
		});
		ws.send(JSON.stringify({ type: 'subscribe', conversation_id: conv, after_seq: 0 }));
		ws.send(JSON.stringify({ type: 'cobrowse_control', conversation_id: conv, action: 'click', node: 1 }));
		await new Promise((ok) => setTimeout(ok, 1500));
		ws.close();
		return got.filter((f) => f.type === 'error').map((f) => f.code);
	}, conv);
	assert.deepEqual(refused, ['no_grant']);
	assert.equal(await pc.locator('#out').textContent(), 'Balance hidden');

	// Ada asks for control; the customer grants it in a clear dialog.
	step('Ada asks for control; the customer grants it in a clear ');
	await a.page.locator('#cobrowse-pointer').click();
	await a.page.locator('#cobrowse-ask-control').click();
	await panel.locator('#vb-cb:not([hidden])').waitFor();
	assert.match(await panel.locator('#vb-cb').textContent(), /click and type/);
	await axeCheck(panel, 'the remote control consent dialog');
	await pc.evaluate(() => {
		document.getElementById('balance').addEventListener('click', () => {
			document.getElementById('out').textContent = 'Balance: 1,234.56';
		});
	});
	await panel.locator('#vb-cb-yes').click();
	await a.page.locator('#cobrowse-control').click();
	await view.locator('#glass[data-mode="control"]').waitFor();
	// Click "Show balance" in the agent's view: the customer's button is clicked.
	step('Click "Show balance" in the agent\'s view: the customer\'s');
	const b = await replay.locator('#balance').boundingBox();
	await a.page.mouse.click(b.x + b.width / 2, b.y + b.height / 2);
	await pc.locator('#out', { hasText: 'Balance: 1,234.56' }).waitFor();
	// A hidden field cannot be filled: the customer's page refuses it.
	step("A hidden field cannot be filled: the customer's page ref");
	const pwBox = await replay.locator('#pw').boundingBox();
	await a.page.mouse.click(pwBox.x + 5, pwBox.y + pwBox.height / 2);
	await a.page.locator('#cobrowse-fill').fill('typed-by-agent');
	await a.page.locator('#cobrowse-fill-submit').click();
	await waitIn(pc, () => /protected field/.test(window.__vbRoots.get('vb-cobrowse').querySelector('.t').textContent), "the refusal note on the customer's page");
	assert.equal(await pc.locator('#pw').inputValue(), SECRET_PASSWORD);
	assert.ok(Number(sql(`SELECT count(*) FROM audit_log WHERE action = 'cobrowse.control' AND object_id = '${conv}'`)) >= 1);
	assert.equal(sql(`SELECT count(*) FROM audit_log WHERE action = 'cobrowse.control_granted' AND object_id = '${conv}'`), '1');
	await shot(pc, 'cobrowse-customer-control');

	// The next page of the site: the session continues there.
	step('The next page of the site: the session continues there.');
	await pc.locator('#next').click();
	await pc.waitForURL(HOST + '/transfer');
	await replay.locator('h1', { hasText: 'Transfer money' }).waitFor({ timeout: 20000 });

	// The customer stops with one click: the agent's view ends.
	step("The customer stops with one click: the agent's view ends");
	await pc.locator('#vb-cobrowse').waitFor({ state: 'attached' });
	await pc.evaluate(() => [...window.__vbRoots.get('vb-cobrowse').querySelectorAll('button')].find((x) => x.textContent === 'Stop sharing').click());
	await a.page.locator('#cobrowse-status', { hasText: 'Co-browsing has ended.' }).waitFor();
	await pc.locator('#vb-cobrowse').waitFor({ state: 'detached' });
	await shot(a.page, 'cobrowse-agent-ended');

	// The record: events as system messages, not the page.
	step('The record: events as system messages, not the page.');
	const events = sql(`SELECT string_agg(meta->'cobrowse'->>'event', ',' ORDER BY seq) FROM messages WHERE conversation_id = ${conv} AND meta ? 'cobrowse'`);
	assert.equal(events, 'requested,started,control_requested,control_granted,ended');

	// The proof: no secret in any frame the customer sent or the agent received.
	step('The proof: no secret in any frame the customer sent or t');
	const sent = customerWs.sent.join('\n'), received = agentWs.received.join('\n');
	assert.ok(customerWs.sent.some((f) => f.includes('"cobrowse_data"')), 'the customer\'s page frames were captured');
	assert.ok(agentWs.received.some((f) => f.includes('"cobrowse_data"')), 'the agent\'s page frames were captured');
	// A start of the secret as a JSON string ('"4111'): bare digits occur in
	// rrweb's timestamps and ids by chance.
	for (const s of [SECRET_TYPED, SECRET_PASSWORD, SECRET_TEXT, '"4111', 'PT50'])
		for (const [what, all] of [['sent by the customer', sent], ['received by the agent', received]])
			assert.ok(!all.includes(s), `"${s}" in a frame ${what}`);
	assert.ok(sent.includes(MASK), 'the mask was sent instead');
	assert.deepEqual(pc.errors.filter((e) => !/favicon/.test(e)), []);
	await a.context.close();
	await c.context.close();
});

test('site admin: co-browsing settings, checked and audited, axe clean', { timeout: 60000 }, async () => {
	const { page } = await newPage(browser, { width: 1280, height: 900 });
	await login(page, org.email, org.password);
	await goto(page, '/admin/sites');
	const section = page.locator('.site-cobrowse');
	await section.getByText('On, with remote control when the customer allows it. Pages up to 4 MB.').waitFor();
	await section.getByRole('button', { name: /Edit/ }).click();
	const dialog = page.locator('dialog[open]');
	await dialog.waitFor();
	await axeCheck(page, 'the co-browsing settings dialog');
	await dialog.getByLabel('Also mask the text of (CSS selectors)').fill('.balance, a[');
	await dialog.locator('#site-cb-save').click();
	await dialog.getByText('This is not a valid CSS selector list.').waitFor();
	await dialog.getByLabel('Also mask the text of (CSS selectors)').fill('.balance, #iban');
	await dialog.getByLabel(/Remote control/).uncheck();
	await shot(page, 'cobrowse-site-settings');
	await dialog.locator('#site-cb-save').click();
	await dialog.waitFor({ state: 'detached' });
	await section.getByText('On, view only. Pages up to 4 MB.').waitFor();
	await section.getByText('Masked: .balance, #iban').waitFor();
	assert.equal(sql(`SELECT after->>'mask_selectors' FROM audit_log WHERE action = 'site.cobrowse' AND object_id = '${site.id}' ORDER BY id DESC LIMIT 1`), '.balance, #iban');
	assert.deepEqual(page.errors, []);
});
