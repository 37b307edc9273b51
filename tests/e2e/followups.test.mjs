// Leaving a message when nobody can answer (W18) and the console's follow-up
// list (A7) in Chromium: the site's queue is closed, so the widget on a host
// page offers "Leave us a message"; the form checks the e-mail address,
// the customer sends a message; an agent sees it in the console's Follow-up
// section, opens its transcript and marks it done. A signed-in customer
// (token sign-in) of the host site finds an agent's later answer to their
// earlier message: the launcher shows it as unread before the panel opens,
// the thread is there, and opening it marks it read (W15, W2). axe-core on
// the form, the console and the thread; screenshots in tests/e2e/out/.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { Client, sql, newOrg, roleId, setPassword, unique } from '../lib/vb.mjs';
import { widgetSession, connect } from '../lib/chat.mjs';
import { launch, newPage, login, axeCheck, screenshot, BASE, TIMEOUT } from './lib.mjs';

let browser, hostServer, HOST_ORIGIN, org, site, ada, signed, sign;
const EXT = unique('cust');

function hostPage(req, res) {
	if (req.url === '/favicon.ico') {
		res.writeHead(204);
		res.end();
		return;
	}
	res.writeHead(200, { 'content-type': 'text/html; charset=utf-8',
	    'content-security-policy': `default-src 'none'; script-src ${BASE}; connect-src ${BASE}; frame-src ${BASE}; style-src 'self'` });
	// /signed: the bank's page for its logged-in customer, with a fresh token.
	const key = req.url === '/signed' ? signed.site_key : site.site_key;
	const tok = req.url === '/signed' ? ` data-vb-token="${sign(EXT)}"` : '';
	res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bank</title>
<script async src="${BASE}/widget/loader.js"></script></head><body><main><h1>Bank</h1></main>
<div data-vb-site="${key}"${tok} hidden></div></body></html>`);
}

before(async () => {
	hostServer = http.createServer(hostPage);
	await new Promise((r) => hostServer.listen(0, '127.0.0.2', r));
	HOST_ORIGIN = `http://127.0.0.2:${hostServer.address().port}`;
	org = await newOrg('Followups');
	site = (await org.admin.post('/api/sites', { name: 'Public website', allowed_origins: [HOST_ORIGIN] })).json.site;
	// The default queue keeps business hours, none of them now: closed.
	const q = sql(`INSERT INTO queues (tenant_id, name, hours_enabled) VALUES (${org.tenant}, 'Advice', true) RETURNING id`);
	sql(`UPDATE sites SET default_queue_id = ${q} WHERE id = ${site.id}`);
	const email = unique('agent') + '@x.test';
	const r = await org.admin.post('/api/users', { email, name: 'Ada Lovelace', role_ids: [await roleId(org.admin, 'agent')] });
	assert.equal(r.status, 201, r.text);
	setPassword(email, 'Console-Pass-123');
	sql(`UPDATE users SET must_change_password = false WHERE id = ${r.json.user.id}`);
	ada = { id: r.json.user.id, email };
	// A second site signs its customers in with tokens (EdDSA).
	signed = (await org.admin.post('/api/sites', { name: 'Online banking', allowed_origins: [HOST_ORIGIN] })).json.site;
	const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
	assert.equal((await org.admin.put(`/api/sites/${signed.id}/auth`, { mode: 'token', alg: 'EdDSA',
	    public_key: publicKey.export({ format: 'jwk' }).x })).status, 200);
	const b64u = (b) => Buffer.from(b).toString('base64url');
	sign = (sub) => {
		const now = Math.floor(Date.now() / 1000);
		const input = b64u(JSON.stringify({ alg: 'EdDSA', typ: 'JWT' })) + '.' + b64u(JSON.stringify({ sub,
		    name: 'Tom Signed', email: 'tom@example.com', iat: now, exp: now + 120, jti: crypto.randomUUID(),
		    aud: signed.site_key }));
		return input + '.' + b64u(crypto.sign(null, Buffer.from(input), privateKey));
	};
	browser = await launch();
});

after(async () => {
	await browser?.close();
	hostServer?.close();
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

test('closed queue: the widget offers the form, the customer leaves a message, an agent follows it up', async () => {
	const { page } = await newPage(browser, { width: 375, height: 760 });
	await page.goto(HOST_ORIGIN + '/');
	await page.locator('#vb-widget').waitFor({ state: 'attached' });
	for (let i = 0; i < 12 && await page.evaluate(() => document.activeElement?.id) !== 'vb-widget'; i++)
		await page.keyboard.press('Tab');
	await page.keyboard.press('Enter');
	const frame = await panelFrame(page);
	const form = frame.locator('#vb-offline:not([hidden])');
	await form.waitFor();
	assert.equal((await frame.locator('#vb-offline-title').textContent()).trim(), 'We are closed at the moment');
	assert.ok(await frame.locator('#vb-composer').isVisible(), 'the chat stays possible until the offer is taken');
	await axeCheck(frame, 'widget offline offer');
	await screenshot(page, 'widget-offline-offer-375');
	// Taking the offer: the form replaces the composer; the name field has focus.
	await frame.locator('#vb-offline-open').click();
	await frame.locator('#vb-offline-name').waitFor();
	assert.equal(await frame.evaluate(() => document.activeElement.id), 'vb-offline-name');
	assert.ok(await frame.locator('#vb-composer').isHidden(), 'no chat composer while the form is open');
	// Back to the chat and again.
	await frame.locator('#vb-offline-cancel').click();
	assert.equal(await frame.evaluate(() => document.activeElement.id), 'vb-offline-open');
	assert.ok(await frame.locator('#vb-composer').isVisible());
	await frame.locator('#vb-offline-open').click();

	// A bad address is caught in the form; nothing is sent.
	await frame.locator('#vb-offline-name').fill('Nora Field');
	await frame.locator('#vb-offline-email').fill('nora@');
	await frame.locator('#vb-offline-text').fill('Please call me about my mortgage renewal.');
	await frame.locator('#vb-offline-send').click();
	await frame.locator('#vb-offline-email-error', { hasText: 'name@example.com' }).waitFor();
	assert.equal(await frame.locator('#vb-offline-email').getAttribute('aria-invalid'), 'true');
	assert.equal(await frame.evaluate(() => document.activeElement.id), 'vb-offline-email');
	await axeCheck(frame, 'widget offline form');
	await screenshot(page, 'widget-offline-375');

	await frame.locator('#vb-offline-email').fill('nora@example.com');
	await frame.locator('#vb-offline-send').click();
	await frame.locator('#vb-offline-title', { hasText: 'Thank you' }).waitFor();
	assert.match(await frame.locator('#vb-offline').textContent(), /nora@example\.com/);
	// Stored as the customer's message, kept for follow-up.
	await frame.locator('#vb-log', { hasText: 'mortgage renewal' }).waitFor();
	await axeCheck(frame, 'widget offline sent');
	await screenshot(page, 'widget-offline-sent-375');
	assert.equal(sql(`SELECT routing FROM conversations WHERE site_id = ${site.id} AND followup_at IS NOT NULL`), 'followup');
	assert.deepEqual(page.errors, []);
	await page.context().close();

	// The agent's console lists it.
	const a = await newPage(browser);
	const pa = a.page;
	await login(pa, ada.email, 'Console-Pass-123');
	await pa.goto('/console');
	const item = pa.locator('#followups .followups__item', { hasText: 'Nora Field' });
	await item.waitFor();
	assert.match(await item.textContent(), /nora@example\.com/);
	assert.match(await item.textContent(), /mortgage renewal/);
	await axeCheck(pa, 'console with follow-up');
	await screenshot(pa, 'console-followups');
	// Transcript in the console's dialog.
	await item.locator('button', { hasText: 'Transcript' }).click();
	const dialog = pa.locator('dialog[open]');
	await dialog.locator('.msg', { hasText: 'mortgage renewal' }).waitFor();
	await pa.keyboard.press('Escape');
	await dialog.waitFor({ state: 'detached' }).catch(() => {});
	// Reply by message: the agent joins (audited) and writes in a chat tab.
	await item.locator('button[data-action=reply]').click();
	await pa.locator('#composer-text').fill('Thanks Nora, I will call you tomorrow at 10.');
	await pa.locator('#composer-text').press('Enter');
	await pa.locator('#chat-log', { hasText: 'call you tomorrow' }).waitFor();
	const end = Date.now() + TIMEOUT;
	while (sql(`SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
	    WHERE c.site_id = ${site.id} AND m.sender_kind = 'staff' AND m.sender_id = ${ada.id}`) !== '1') {
		assert.ok(Date.now() < end, 'the answer is stored');
		await pa.waitForTimeout(100);
	}
	assert.equal(sql(`SELECT count(*) FROM audit_log WHERE tenant_id = ${org.tenant} AND action = 'followup.reply' AND actor_id = ${ada.id}`), '1');
	await axeCheck(pa, 'console replying to a follow-up');
	await screenshot(pa, 'console-followup-reply');
	// Done: audited, shown as handled.
	await item.locator('button[data-action=done]').click();
	await pa.locator('#followups .followups__item.is-done', { hasText: 'Done by Ada Lovelace' }).waitFor();
	assert.equal(sql(`SELECT count(*) FROM audit_log WHERE tenant_id = ${org.tenant} AND action = 'followup.done' AND actor_id = ${ada.id}`), '1');
	assert.deepEqual(pa.errors, []);
	await a.context.close();
});

// What assistive technology sees, closed shadow roots included.
async function waitAx(page, pred, what) {
	const end = Date.now() + TIMEOUT;
	for (;;) {
		const cdp = await page.context().newCDPSession(page);
		const { nodes } = await cdp.send('Accessibility.getFullAXTree');
		await cdp.detach();
		if (nodes.some((n) => !n.ignored && pred({ role: n.role?.value, name: n.name?.value })))
			return;
		assert.ok(Date.now() < end, what);
		await new Promise((r) => setTimeout(r, 100));
	}
}

test('a signed-in customer finds the answer to their message on the next visit, badged until read', async () => {
	// Earlier: the customer left a message; later an agent answered it.
	const first = (await widgetSession(signed.site_key, HOST_ORIGIN, BASE, { token: sign(EXT) })).json;
	const r = await fetch(BASE + '/api/widget/offline', { method: 'POST', headers: { 'content-type': 'application/json',
	    authorization: 'Bearer ' + first.token }, body: JSON.stringify({ conversation_id: first.conversation_id,
	    name: 'Tom', email: 'tom@example.com', message: 'Can my card limit go up?' }) });
	assert.equal(r.status, 201);
	const agent = new Client();
	assert.equal((await agent.login(ada.email, 'Console-Pass-123')).status, 200);
	assert.equal((await agent.post(`/api/console/followups/${first.conversation_id}/reply`)).status, 200);
	const ws = await connect(BASE, { cookie: agent.cookieHeader() });
	await ws.next((f) => f.type === 'hello');
	ws.sendJson({ type: 'send', conversation_id: first.conversation_id, client_id: 'ans1', text: 'Yes: it is now 5,000 a month.' });
	await ws.next((f) => f.type === 'ack');
	ws.close();

	// Next visit: before the panel opens, the launcher says there is news.
	const { page } = await newPage(browser);
	await page.goto(HOST_ORIGIN + '/signed');
	await waitAx(page, (n) => n.role === 'button' && n.name === 'Chat with us (1 new message)',
	    'the launcher announces the unread answer');
	await screenshot(page, 'widget-unread-badge');
	for (let i = 0; i < 12 && await page.evaluate(() => document.activeElement?.id) !== 'vb-widget'; i++)
		await page.keyboard.press('Tab');
	await page.keyboard.press('Enter');
	const frame = await panelFrame(page);
	await frame.locator('#vb-log', { hasText: 'Can my card limit go up?' }).waitFor();
	await frame.locator('#vb-log', { hasText: 'it is now 5,000 a month' }).waitFor();
	await waitAx(page, (n) => n.role === 'button' && n.name === 'Chat with us', 'the count is gone once shown');
	assert.ok(await frame.locator('#vb-offline').isHidden(), 'no offer inside a message thread');
	// Read is kept: the server's count is zero.
	const end = Date.now() + TIMEOUT;
	while (sql(`SELECT customer_read_seq = last_seq FROM conversations WHERE id = ${first.conversation_id}`) !== 't') {
		assert.ok(Date.now() < end, 'the panel marks the thread read');
		await page.waitForTimeout(100);
	}
	assert.equal(sql(`SELECT count(*) FROM conversations c JOIN customers u ON u.id = c.customer_id
	    WHERE u.external_id = '${EXT}'`), '1', 'the thread was continued, not a new conversation');
	await axeCheck(frame, 'widget continued thread');
	await screenshot(page, 'widget-thread');
	assert.deepEqual(page.errors, []);
	await page.context().close();
});

// Reply by e-mail from the follow-up list (0023, app/followmail.c): the
// dialog (axe, focus, Esc), the mail at the SMTP sink, the item answered;
// the list refreshes itself when a new message is left (hub nudge).
test('an agent answers a follow-up by e-mail from the list; the list updates live', async () => {
	const { smtpSink } = await import('../lib/smtpsink.mjs');
	const sink = await smtpSink();
	const open = [];
	try {
	const r0 = await org.admin.put('/api/smtp', { host: '127.0.0.1', port: sink.port, starttls: false,
	    from_address: 'help@bank.test' });
	assert.equal(r0.status, 200, r0.text);
	const leave = async (name, email, message) => {
		const s = (await widgetSession(site.site_key, HOST_ORIGIN)).json;
		const r = await fetch(BASE + '/api/widget/offline', { method: 'POST', headers: { 'content-type': 'application/json',
		    authorization: 'Bearer ' + s.token }, body: JSON.stringify({ conversation_id: s.conversation_id,
		    name, email, message }) });
		assert.equal(r.status, 201);
		return s;
	};
	const email = unique('lena') + '@example.com';
	await leave('Lena Marsh', email, 'Why was my transfer to Spain returned?');

	const a = await newPage(browser);
	open.push(a.context);
	const pa = a.page;
	await login(pa, ada.email, 'Console-Pass-123');
	await pa.goto('/console');
	const item = pa.locator('#followups .followups__item', { hasText: 'Lena Marsh' });
	await item.waitFor();
	// Live: a message left now appears without reloading (no 30 s poll).
	await pa.locator('#console-conn:not(.is-down)').waitFor();
	await pa.waitForTimeout(300);
	await leave('Omar Quill', unique('omar') + '@example.com', 'Please send me my statement.');
	await pa.locator('#followups .followups__item', { hasText: 'Omar Quill' }).waitFor({ timeout: 5000 });

	await item.locator('button[data-action=email]').click();
	const dialog = pa.locator('dialog[open]');
	await dialog.locator('#followup-email-text').waitFor();
	assert.equal(await pa.evaluate(() => document.activeElement.id), 'followup-email-text', 'focus in the answer');
	assert.match(await dialog.locator('#followup-email-to').textContent(), new RegExp(email.replace('.', '\\.')));
	// Sending nothing is caught in the form.
	await dialog.locator('#followup-email-send').click();
	await dialog.locator('.field--invalid').waitFor();
	await axeCheck(pa, 'reply by e-mail dialog');
	await pa.locator('#followup-email-text').fill('Dear Lena,\nthe bank in Spain refused the IBAN. Ünïcode – fine.\nRegards, Ada');
	await screenshot(pa, 'console-followup-email-1280');
	await dialog.locator('#followup-email-send').click();
	await dialog.waitFor({ state: 'detached' });
	const mail = await sink.next((m) => m.to.includes(email));
	const body = Buffer.from(mail.data.slice(mail.data.indexOf('\r\n\r\n') + 4).replace(/\r\n/g, ''), 'base64').toString('utf8');
	assert.match(body, /^Dear Lena,\r\nthe bank in Spain refused the IBAN\. Ünïcode – fine\.\r\nRegards, Ada\r\n/);
	assert.match(body, /> Why was my transfer to Spain returned\?/);
	await pa.locator('#followups .followups__item.is-done', { hasText: 'Answered by e-mail by Ada Lovelace' }).waitFor();
	assert.equal(sql(`SELECT count(*) FROM audit_log WHERE tenant_id = ${org.tenant} AND action = 'followup.email' AND actor_id = ${ada.id}`), '1');
	await axeCheck(pa, 'console after reply by e-mail');
	await screenshot(pa, 'console-followup-emailed-1280');
	assert.deepEqual(pa.errors, []);

	// 375 px: the dialog fits; Esc closes it and focus goes back.
	const b = await newPage(browser, { width: 375, height: 760 });
	open.push(b.context);
	await login(b.page, ada.email, 'Console-Pass-123');
	await b.page.goto('/console');
	const omar = b.page.locator('#followups .followups__item', { hasText: 'Omar Quill' });
	await omar.waitFor();
	await omar.locator('button[data-action=email]').click();
	await b.page.locator('dialog[open] #followup-email-text').waitFor();
	await axeCheck(b.page, 'reply by e-mail dialog 375');
	await screenshot(b.page, 'console-followup-email-375');
	await b.page.keyboard.press('Escape');
	await b.page.locator('dialog[open]').waitFor({ state: 'detached' });
	assert.equal(await b.page.evaluate(() => document.activeElement?.dataset?.action), 'email');
	assert.deepEqual(b.page.errors, []);
	} finally {
		for (const c of open)
			await c.close().catch(() => {});
		await sink.close();
	}
});
