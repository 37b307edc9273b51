// Issue 3's "done when", end to end in Chromium: a plain host page on
// another origin (127.0.0.2, strict CSP) embeds the widget with the two
// tags; the customer passes the CAPTCHA, picks a subject, sees their place
// in the queue; an agent signed in to the console gets the offer, accepts,
// they exchange messages and a file; a supervisor whispers and barges in;
// the agent transfers the chat to a second agent, who answers in their own
// console; the customer downloads the transcript. Screenshots of the widget,
// the console and the supervisor view go to tests/e2e/out/branch-*.png.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, newOrg, roleId, setPassword, unique } from '../lib/vb.mjs';
import { launch, newPage, login, axeCheck, screenshot, BASE, TIMEOUT } from './lib.mjs';

let browser, hostServer, HOST, org, site, people = {};

function hostPage(req, res) {
	if (req.url === '/favicon.ico') {
		res.writeHead(204);
		res.end();
		return;
	}
	const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Northwind Savings</title><script async src="${BASE}/widget/loader.js"></script></head>
<body><main><h1>Northwind Savings</h1><p>Current accounts, cards and savings.</p></main>
<div data-vb-site="${site.site_key}" hidden></div></body></html>`;
	res.writeHead(200, {
		'content-type': 'text/html; charset=utf-8',
		'content-security-policy': `default-src 'none'; script-src ${BASE}; connect-src ${BASE}; ` +
		    `frame-src ${BASE}; style-src 'self'; img-src 'self'; base-uri 'none'`,
	});
	res.end(html);
}

async function person(name, role) {
	const email = unique(role) + '@northwind.test';
	const r = await org.admin.post('/api/users', { email, name, role_ids: [await roleId(org.admin, role)] });
	assert.equal(r.status, 201, r.text);
	setPassword(email, 'Branch-Pass-123');
	sql(`UPDATE users SET must_change_password = false WHERE id = ${r.json.user.id}`);
	return { id: r.json.user.id, email, name };
}

before(async () => {
	hostServer = http.createServer(hostPage);
	await new Promise((r) => hostServer.listen(0, '127.0.0.2', r));
	HOST = `http://127.0.0.2:${hostServer.address().port}`;
	org = await newOrg('Northwind');
	let r = await org.admin.post('/api/sites', { name: 'Northwind Savings', allowed_origins: [HOST] });
	assert.equal(r.status, 201, r.text);
	site = r.json.site;
	sql(`UPDATE sites SET settings = settings || '{"auth": {"mode": "captcha"}}' WHERE id = ${site.id}`);
	const cards = Number(sql(`INSERT INTO queues (tenant_id, name, offer_timeout_s) VALUES (${org.tenant}, 'Cards', 60) RETURNING id`));
	const general = Number(sql(`INSERT INTO queues (tenant_id, name, offer_timeout_s) VALUES (${org.tenant}, 'General', 60) RETURNING id`));
	r = await org.admin.put(`/api/sites/${site.id}/default-queue`, { queue_id: general });
	assert.equal(r.status, 200, r.text);
	for (const [name, q] of [['Cards and payments', cards], ['Savings', general]]) {
		r = await org.admin.post(`/api/sites/${site.id}/subjects`, { name, queue_id: q, active: true });
		assert.equal(r.status, 201, r.text);
	}
	people.ada = await person('Ada Lovelace', 'agent');
	people.ben = await person('Ben Okafor', 'agent');
	people.sam = await person('Sam Supervisor', 'supervisor');
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

async function staffPage(who, url) {
	const { context, page } = await newPage(browser, { width: 1280, height: 800 });
	await login(page, who.email, 'Branch-Pass-123');
	await page.goto(url);
	await page.locator('h1').first().waitFor();
	return { context, page };
}

async function setState(page, value, confirmed) {
	await page.locator('#agent-state').selectOption(value);
	await page.waitForFunction((c) => document.querySelector('#agent-state').dataset.confirmed === c, confirmed);
}

test('done when: CAPTCHA, subject, queue place, offer, chat and file, whisper and barge, transfer, transcript', async () => {
	// Two agents have their consoles open, not ready yet.
	const a = await staffPage(people.ada, '/console');
	const b = await staffPage(people.ben, '/console');
	for (const p of [a.page, b.page])
		await p.locator('#console-conn', { hasText: 'Connected' }).waitFor();

	// The customer on the bank's page (another origin, strict CSP).
	const c = await newPage(browser, { width: 1280, height: 800 });
	const pc = c.page;
	await pc.goto(HOST + '/');
	await pc.locator('#vb-widget').waitFor({ state: 'attached' });
	for (let i = 0; i < 20 && await pc.evaluate(() => document.activeElement?.id) !== 'vb-widget'; i++)
		await pc.keyboard.press('Tab');
	await pc.keyboard.press('Enter');
	const frame = await panelFrame(pc);
	await frame.getByText('Checking you are human…').waitFor({ state: 'attached' });
	await frame.locator('.panel[data-state="online"]').waitFor({ timeout: 30000 });
	await frame.locator('#vb-subjects:not([hidden])').waitFor();
	await frame.locator('label', { hasText: 'Cards and payments' }).click();
	await frame.locator('#vb-input').fill('Hello, my card was declined abroad.');
	await frame.locator('#vb-input').press('Enter');
	await frame.getByText('You are next in the queue.').waitFor();
	await screenshot(pc, 'branch-widget-queue');
	await axeCheck(frame, 'the widget while waiting');
	const conv = JSON.parse(await pc.evaluate(() => sessionStorage.getItem('vb.session'))).conversation_id;
	assert.equal(sql(`SELECT q.name FROM conversations c JOIN queues q ON q.id = c.queue_id WHERE c.id = ${conv}`), 'Cards');

	// Ada gets ready: the offer rings; she accepts.
	await setState(a.page, 'ready', 'ready');
	const offer = a.page.locator(`.offer[data-conv="${conv}"]`);
	await offer.waitFor();
	await offer.locator('[data-action="accept"]').click();
	await a.page.locator('#chat-log .msg--customer', { hasText: 'declined abroad' }).waitFor();
	await frame.locator('.row', { hasText: 'Ada Lovelace joined the chat' }).waitFor();
	// The agent has it on screen: the customer's message is marked read.
	await frame.locator('.row--me .msg__status--read').first().waitFor();

	// Messages both ways.
	await a.page.locator('#composer-text').fill('I can help with that. Which country are you in?');
	await a.page.locator('#composer-text').press('Enter');
	await frame.getByText('Which country are you in?').waitFor();
	await frame.locator('#vb-input').fill('Portugal, in Lisbon.');
	await frame.locator('#vb-input').press('Enter');
	await a.page.locator('#chat-log .msg--customer', { hasText: 'Lisbon' }).waitFor();

	// The customer sends a file; the agent sees it.
	const dir = mkdtempSync(path.join(os.tmpdir(), 'vb-branch-'));
	const pdf = path.join(dir, 'receipt.pdf');
	writeFileSync(pdf, '%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n');
	await frame.locator('#vb-file').setInputFiles(pdf);
	await frame.locator('.file-card', { hasText: 'receipt.pdf' }).waitFor();
	await a.page.locator('#chat-log .msg__file', { hasText: 'receipt.pdf' }).waitFor();
	await screenshot(a.page, 'branch-console');

	// The supervisor opens the chat silently, whispers, then barges in.
	const s = await staffPage(people.sam, '/supervisor');
	await s.page.locator(`#sup-conv-table tr[data-conv="${conv}"] [data-action="monitor"]`).click();
	await s.page.locator('#monitor-log .msg--customer', { hasText: 'Lisbon' }).waitFor();
	await s.page.locator('#whisper-text').fill('Check the travel notice on the card first.');
	await s.page.locator('#whisper-send').click();
	await a.page.locator('#chat-log .msg--whisper', { hasText: 'travel notice' }).waitFor();
	// Only what is meant to be there: no call, no call controls, no stray text.
	assert.deepEqual(await s.page.locator('#monitor').evaluate((e) => [...e.childNodes].filter((n) => n.nodeType === 3 && n.textContent.trim()).map((n) => n.textContent)), []);
	await screenshot(s.page, 'branch-supervisor');
	await s.page.locator('#barge').click();
	await frame.locator('.row', { hasText: 'Sam Supervisor (supervisor) joined the chat' }).waitFor();
	await s.page.locator('#whisper-text').fill('Hello, I am the team lead. We will sort this out.');
	await s.page.locator('#whisper-send').click();
	await frame.getByText('I am the team lead').waitFor();
	assert.equal(await frame.getByText('travel notice').count(), 0, 'the whisper never reached the customer');

	// Ada transfers to Ben, who answers in his console.
	await setState(b.page, 'ready', 'ready');
	await a.page.locator('#chat-transfer').click();
	await a.page.locator('#transfer-user').selectOption(String(people.ben.id));
	await a.page.locator('#transfer-submit').click();
	const benOffer = b.page.locator(`.offer[data-conv="${conv}"]`);
	await benOffer.waitFor();
	assert.match(await benOffer.textContent(), /Transferred by Ada Lovelace/);
	await benOffer.locator('[data-action="accept"]').click();
	await b.page.locator('#chat-log .msg--customer', { hasText: 'Lisbon' }).waitFor();
	await b.page.locator('#composer-text').fill('Ben here from the cards team. The card is unblocked now.');
	await b.page.locator('#composer-text').press('Enter');
	await frame.getByText('The card is unblocked now.').waitFor();
	// Agents answered: the offer to leave a message (made while nobody was
	// ready) is gone.
	assert.equal(await frame.locator('#vb-offline').isVisible(), false);
	await a.page.locator(`#my-chats [data-conv="${conv}"]`).waitFor({ state: 'detached' });

	// The customer downloads the transcript: a zip with the page and the file.
	await frame.getByRole('button', { name: 'Chat options' }).click();
	const item = frame.getByRole('link', { name: 'Download transcript' });
	const [download] = await Promise.all([pc.waitForEvent('download'), item.click()]);
	const zip = path.join(dir, 'transcript.zip');
	await download.saveAs(zip);
	const list = execFileSync('unzip', ['-l', zip], { encoding: 'utf8' });
	assert.match(list, /transcript\.html/);
	assert.match(list, /receipt\.pdf/);
	const html = execFileSync('unzip', ['-p', zip, 'transcript.html'], { encoding: 'utf8' });
	for (const text of ['declined abroad', 'Lisbon', 'team lead', 'unblocked now'])
		assert.ok(html.includes(text), `transcript has "${text}"`);
	assert.ok(!html.includes('travel notice'), 'no whisper in the transcript');
	assert.ok(readFileSync(zip).length > 200);

	// Ben ends the chat: the customer is told at once and may start a new one.
	await b.page.locator('#chat-finish').click();
	await b.page.locator('#wrapup-form').waitFor();
	await frame.getByText('Ben Okafor ended the chat').waitFor();
	await frame.getByText('This conversation has ended.').waitFor();
	await frame.getByRole('button', { name: 'Start a new chat' }).waitFor();
	await frame.locator('#vb-composer').waitFor({ state: 'hidden' });
	assert.equal(await frame.locator('#vb-offline').isVisible(), false, 'no offer to leave a message');
	await screenshot(pc, 'branch-widget-end');

	for (const p of [pc, a.page, b.page, s.page])
		assert.deepEqual(p.errors, [], 'no script errors or CSP violations');
	for (const x of [c, a, b, s])
		await x.context.close();
});
