// The agent console and the supervisor page in Chromium (C1–C5, C9, S1–S3):
// an agent sets herself ready, an offer rings, she accepts, chats with a
// customer (a WebSocket client), writes an internal note, inserts a canned
// reply by shortcut, sees the screen pop; a supervisor watches the board,
// opens the chat silently, whispers and barges in; the agent transfers the
// chat to a colleague and another chat ends with a wrap-up code. axe-core
// at 1280 and 375 px; screenshots in tests/e2e/out/.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql, newOrg, roleId, setPassword, unique } from '../lib/vb.mjs';
import { siteFor, customer, defaultQueue, connect } from '../lib/chat.mjs';
import { launch, newPage, login, axeCheck, screenshot, BASE, TIMEOUT } from './lib.mjs';

let browser, org, site, ada, ben, sam;

async function person(name, role) {
	const email = unique(role) + '@x.test';
	const r = await org.admin.post('/api/users', { email, name, role_ids: [await roleId(org.admin, role)] });
	assert.equal(r.status, 201, r.text);
	setPassword(email, 'Console-Pass-123');
	sql(`UPDATE users SET must_change_password = false WHERE id = ${r.json.user.id}`);
	return { id: r.json.user.id, email, name };
}

before(async () => {
	org = await newOrg('Console');
	site = await siteFor(org.admin);
	defaultQueue(org.tenant, site, 'Cards');
	for (const [path, body] of [['/api/wrapup-codes', { name: 'Card replaced' }],
	    ['/api/wrapup-codes', { name: 'Question answered' }],
	    ['/api/notready-reasons', { name: 'Lunch' }],
	    ['/api/canned-replies', { title: 'Greeting', shortcut: 'hi', body: 'Hello {{customer.name}}, this is {{agent.name}}. How can I help?' }]]) {
		const r = await org.admin.post(path, body);
		assert.equal(r.status, 201, `${path}: ${r.text}`);
	}
	ada = await person('Ada Lovelace', 'agent');
	ben = await person('Ben Okafor', 'agent');
	sam = await person('Sam Supervisor', 'supervisor');
	browser = await launch();
});

after(async () => {
	await browser?.close();
});

async function open(who, path, size) {
	const { context, page } = await newPage(browser, size);
	await login(page, who.email, 'Console-Pass-123');
	await page.goto(path);
	await page.locator('h1').first().waitFor();
	return { context, page };
}

test('an agent answers an offer, chats, notes, uses a canned reply; a supervisor monitors, whispers and barges', async () => {
	const a = await open(ada, '/console');
	const pa = a.page;
	await pa.locator('#console-conn', { hasText: 'Connected' }).waitFor();
	await pa.locator('#agent-state').selectOption('ready');
	await pa.waitForFunction(() => document.querySelector('#agent-state').dataset.state === 'ready');
	await screenshot(pa, 'console-ready');

	// A customer writes: the offer rings in the console.
	const c = await customer(site, null);
	sql(`UPDATE customers SET display_name = 'Grace Hopper', email = 'grace@example.com' WHERE id = ${c.customer_id}`);
	c.ws.sendJson({ type: 'send', conversation_id: c.conv, client_id: 'c1', text: 'Hello, my card was swallowed by the machine' });
	await c.ws.next((f) => f.type === 'ack');
	const offer = pa.locator('.offer');
	await offer.waitFor();
	await offer.locator('.offer__who', { hasText: 'Grace Hopper' }).waitFor();
	await screenshot(pa, 'console-offer');
	await axeCheck(pa, 'console with a ringing offer');
	await offer.locator('[data-action="accept"]').click();
	await pa.locator('#chat-log .msg--customer', { hasText: 'swallowed' }).waitFor();
	await pa.locator('.pop__name', { hasText: 'Grace Hopper' }).waitFor();
	const joined = await c.ws.next((f) => f.type === 'message' && f.sender.kind === 'system');
	assert.equal(joined.text, 'Ada Lovelace joined the chat');

	// Reply with Enter; the customer gets it.
	await pa.locator('#composer-text').fill('I am sorry to hear that. Which branch was it?');
	await pa.locator('#composer-text').press('Enter');
	assert.equal((await c.ws.next((f) => f.type === 'message' && f.sender.kind === 'staff')).text,
	    'I am sorry to hear that. Which branch was it?');
	// The customer answers and types; the agent sees both.
	c.ws.sendJson({ type: 'typing', conversation_id: c.conv });
	await pa.locator('.chatlog__typing', { hasText: 'typing' }).waitFor();
	c.ws.sendJson({ type: 'send', conversation_id: c.conv, client_id: 'c2', text: 'Harbour Street, see https://example.com/branch' });
	await pa.locator('#chat-log .msg--customer a[href="https://example.com/branch"]').waitFor();

	// Canned reply by shortcut, placeholders filled.
	await pa.locator('#composer-text').fill('/hi');
	await pa.locator('#composer-text').press('Tab');
	assert.equal(await pa.locator('#composer-text').inputValue(), 'Hello Grace Hopper, this is Ada Lovelace. How can I help?');
	await pa.locator('#composer-text').fill('');

	// An internal note: shown to staff, never to the customer.
	await pa.locator('#composer-note').check();
	await pa.locator('#composer-text').fill('Card retained at ATM 4411');
	await pa.locator('#composer-send').click();
	await pa.locator('#chat-log .msg--note', { hasText: 'ATM 4411' }).waitFor();
	await screenshot(pa, 'console-chat');
	await axeCheck(pa, 'console in a chat');

	// The supervisor: the board lists the chat; open it silently, whisper, barge.
	const s = await open(sam, '/supervisor');
	const ps = s.page;
	await ps.locator(`#sup-conv-table tr[data-conv="${c.conv}"]`).waitFor();
	await ps.locator(`#sup-agents-table tr[data-agent="${ada.id}"]`, { hasText: 'Ada Lovelace' }).waitFor();
	await ps.locator(`#sup-conv-table tr[data-conv="${c.conv}"] [data-action="monitor"]`).click();
	await ps.locator('#monitor-log .msg--note', { hasText: 'ATM 4411' }).waitFor();
	await ps.locator('#whisper-text').fill('Offer to send a new card by post');
	await ps.locator('#whisper-send').click();
	await pa.locator('#chat-log .msg--whisper', { hasText: 'new card by post' }).waitFor();
	await screenshot(ps, 'supervisor-monitor');
	await axeCheck(ps, 'supervisor page with a chat open');
	await ps.locator('#barge').click();
	await ps.locator('.monitor__banner', { hasText: 'customer sees' }).waitFor();
	const barge = await c.ws.next((f) => f.type === 'message' && /supervisor/.test(f.text));
	assert.equal(barge.text, 'Sam Supervisor (supervisor) joined the chat');
	assert.ok(!c.ws.all.some((f) => f.type === 'note' || /ATM 4411|new card by post/.test(JSON.stringify(f))),
	    'no note or whisper reached the customer');
	assert.ok(Number(sql(`SELECT count(*) FROM audit_log WHERE object_id = '${c.conv}' AND action IN ('conversation.monitor', 'conversation.whisper', 'conversation.barge')`)) >= 3);

	// Transfer to Ben, who is connected (a WebSocket of his own session).
	const benWs = await benSocket();
	await pa.locator('#chat-transfer').click();
	await pa.locator('#transfer-user').selectOption(String(ben.id));
	await pa.locator('#transfer-submit').click();
	const o = await benWs.next((f) => f.type === 'offer' && f.conversation_id === c.conv);
	assert.equal(o.transfer_from, 'Ada Lovelace');
	await pa.locator(`#my-chats [data-conv="${c.conv}"]`).waitFor({ state: 'detached' });
	benWs.sendJson({ type: 'accept', conversation_id: c.conv });
	await benWs.next((f) => f.type === 'accepted');
	benWs.sendJson({ type: 'finish', conversation_id: c.conv });
	await benWs.next((f) => f.type === 'finished');
	benWs.close();
	c.ws.close();
	await pa.locator('#agent-state').selectOption('offline');
	await pa.waitForFunction(() => document.querySelector('#agent-state').dataset.confirmed === 'offline');
	await s.context.close();
	await a.context.close();
});

async function benSocket() {
	const { Client } = await import('../lib/vb.mjs');
	const cl = new Client();
	assert.equal((await cl.login(ben.email, 'Console-Pass-123')).status, 200);
	const ws = await connect(BASE, { cookie: cl.cookieHeader() });
	await ws.next((f) => f.type === 'hello');
	return ws;
}

test('the waiting list, picking by double-click, ending with a wrap-up code; usable at 375 px', async () => {
	const a = await open(ben, '/console', { width: 375, height: 800 });
	const pb = a.page;
	await pb.locator('#console-conn', { hasText: 'Connected' }).waitFor();
	await pb.locator('#agent-state').selectOption('not_ready:Lunch');
	await pb.waitForFunction(() => document.querySelector('#agent-state').dataset.confirmed === 'not_ready');
	const c = await customer(site, 'Is the branch open on Saturday?');
	const row = pb.locator(`#waiting [data-conv="${c.conv}"]`);
	await row.waitFor({ timeout: TIMEOUT });
	await screenshot(pb, 'console-mobile-waiting');
	await axeCheck(pb, 'console at 375 px');
	await pb.locator('#agent-state').selectOption('ready');
	await pb.waitForFunction(() => document.querySelector('#agent-state').dataset.confirmed === 'ready');
	// The router may ring it first; either way the agent gets it.
	const offered = pb.locator(`.offer[data-conv="${c.conv}"] [data-action="accept"]`);
	await Promise.race([offered.waitFor().then(() => offered.click()).catch(() => {}),
	    row.dblclick().catch(() => {})]);
	await pb.locator('#chat-log .msg--customer', { hasText: 'Saturday' }).waitFor();
	await pb.locator('#chat-finish').click();
	await pb.locator('#wrapup-form').waitFor();
	await pb.locator('#wrapup-save').click();
	await pb.locator('#wrapup-code[aria-invalid="true"]').waitFor();
	await pb.locator('#wrapup-code-error', { hasText: 'Choose an outcome' }).waitFor();
	await pb.locator('#wrapup-code').selectOption({ label: 'Question answered' });
	await pb.locator('#wrapup-note').fill('Told them 9 to 1');
	await pb.locator('#wrapup-save').click();
	await pb.locator(`#my-chats [data-conv="${c.conv}"]`).waitFor({ state: 'detached' });
	assert.equal(sql(`SELECT w.name || '|' || c.wrapup_note FROM conversations c JOIN wrapup_codes w ON w.id = c.wrapup_code_id WHERE c.id = ${c.conv}`),
	    'Question answered|Told them 9 to 1');
	assert.deepEqual(pb.errors, []);
	c.ws.close();
	await a.context.close();
});
