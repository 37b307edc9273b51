// The recordings archive in the browser (S5): a supervisor searches by
// customer, plays a real Ogg Opus recording (the audio element's duration
// matches and currentTime advances, so range requests and decoding work) and
// downloads it; the page passes axe-core at 1280 and 375 px. The site card
// and the queue form set the recording policy, with inline validation.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, newOrg, roleId, setPassword, unique } from '../lib/vb.mjs';
import { launch, newPage, goto, login, axeCheck, screenshot, TIMEOUT } from './lib.mjs';

const VAR = process.env.VB_VAR;
let browser, org, sup, rec, tone, site, queue, agentId, convs = [];

function opusFile(seconds) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vbrec-'));
	const wav = path.join(dir, 'a.wav'), ogg = path.join(dir, 'a.ogg');
	execFileSync('sox', ['-V1', '-n', '-r', '48000', '-c', '1', '-b', '16', wav, 'synth', String(seconds),
	    'sine', '440']);
	execFileSync('opusenc', ['--quiet', wav, ogg]);
	const data = fs.readFileSync(ogg);
	fs.rmSync(dir, { recursive: true });
	return data;
}

before(async () => {
	org = await newOrg('Recordings');
	site = (await org.admin.post('/api/sites', { name: 'Public website',
	    allowed_origins: ['http://127.0.0.2:9'] })).json.site;
	queue = (await org.admin.post('/api/queues', { name: 'Mortgages' })).json.queue;
	const email = unique('sup') + '@x.test';
	const u = await org.admin.post('/api/users', { email, name: 'Sam Supervisor',
	    role_ids: [await roleId(org.admin, 'supervisor')] });
	const agent = await org.admin.post('/api/users', { email: unique('ag') + '@x.test', name: 'Alex Agent',
	    role_ids: [await roleId(org.admin, 'agent')] });
	setPassword(email, 'Supervisor-Password-1');
	sql(`UPDATE users SET must_change_password = false WHERE id = ${u.json.user.id}`);
	sup = { email, password: 'Supervisor-Password-1' };

	// Two conversations with recordings; the one we look for is 6 s long.
	const made = [];
	for (const [name, mail, secs] of [['Maria Lopez', 'maria@example.test', 6], ['John Smith', 'john@example.test', 2]]) {
		const s = await fetch(process.env.VB_TEST_URL + '/api/widget/session', { method: 'POST',
		    headers: { 'content-type': 'application/json', origin: 'http://127.0.0.2:9' },
		    body: JSON.stringify({ site_key: site.site_key }) }).then((r) => r.json());
		const conv = s.conversation_id;
		const cust = Number(sql(`SELECT customer_id FROM conversations WHERE id = ${conv}`));
		sql(`UPDATE customers SET display_name = '${name}', email = '${mail}' WHERE id = ${cust}`);
		sql(`UPDATE conversations SET queue_id = ${queue.id} WHERE id = ${conv}`);
		sql(`INSERT INTO conversation_staff (tenant_id, conversation_id, user_id, role) VALUES (${org.tenant}, ${conv}, ${agent.json.user.id}, 'agent')`);
		convs.push(conv);
		const data = opusFile(secs);
		const rel = `${org.tenant}/${conv}/${unique('mix')}.ogg`;
		fs.mkdirSync(path.join(VAR, 'recordings', path.dirname(rel)), { recursive: true });
		fs.writeFileSync(path.join(VAR, 'recordings', rel), data);
		const sha = crypto.createHash('sha256').update(data).digest('hex');
		made.push({ data, ...JSON.parse(sql(`WITH s AS (SELECT set_config('vb.tenant_id', '${org.tenant}', true))
		    SELECT vb_recording_add(${conv}, NULL, NULL, 'mix', '${rel}', 'audio/ogg', now() - interval '1 hour',
		    ${secs * 1000}, ${data.length}, '${sha}') FROM s`)) });
	}
	[rec] = made;
	agentId = agent.json.user.id;
	tone = rec.data;
	browser = await launch();
});

after(async () => {
	await browser?.close();
});

test('supervisor finds a recording, plays it and downloads it', async () => {
	const { context, page } = await newPage(browser);
	await login(page, sup.email, sup.password);
	await goto(page, '/console/recordings');
	assert.equal(await page.locator('#main h1').first().textContent(), 'Recordings');
	assert.equal(await page.locator('#sidenav a[href="/console/recordings"]').getAttribute('aria-current'), 'page');
	await page.locator('#recordings-table tbody tr').nth(1).waitFor();
	assert.equal(await page.locator('#recordings-table tbody tr').count(), 2);

	await page.locator('#rec-customer').fill('maria');
	await page.locator('#rec-search').click();
	await page.waitForFunction(() => document.querySelectorAll('#recordings-table tbody tr').length === 1);
	const row = page.locator(`#recordings-table tr[data-recording-id="${rec.id}"]`);
	assert.match(await row.textContent(), /Maria Lopez.*Alex Agent.*Mortgages.*0:06.*Mixed audio/s);
	assert.match(new URL(page.url()).search, /customer=maria/);
	await axeCheck(page, 'recordings 1280');
	await screenshot(page, 'recordings-1280');

	await row.locator('[data-action=play]').click();
	const media = page.locator('#recording-media');
	await media.waitFor();
	await page.waitForFunction(() => document.getElementById('recording-media').readyState >= 1, null,
	    { timeout: TIMEOUT });
	const duration = await media.evaluate((a) => a.duration);
	assert.ok(Math.abs(duration - 6) < 0.3, `duration ${duration}`);
	await media.evaluate((a) => { a.muted = true; return a.play(); });
	await page.waitForFunction(() => document.getElementById('recording-media').currentTime > 0.5, null,
	    { timeout: TIMEOUT });
	// Seeking asks the server for a byte range and keeps playing.
	await media.evaluate((a) => { a.currentTime = 4; });
	await page.waitForFunction(() => document.getElementById('recording-media').currentTime > 4.2, null,
	    { timeout: TIMEOUT });
	await axeCheck(page, 'recordings with the player');
	await screenshot(page, 'recordings-player-1280');

	const [download] = await Promise.all([page.waitForEvent('download'),
	    page.locator('#recording-download').click()]);
	assert.match(download.suggestedFilename(), new RegExp(`^recording-\\d+-${rec.id}-mix\\.ogg$`));
	const file = await download.path();
	assert.deepEqual(fs.readFileSync(file), tone);

	const actions = sql(`SELECT string_agg(action, ',' ORDER BY action) FROM audit_log WHERE object_type = 'recording' AND object_id = '${rec.id}' AND action <> 'recording.add'`);
	assert.equal(actions, 'recording.download,recording.play');
	assert.deepEqual(page.errors, []);
	await context.close();
});

test('recordings page at 375 px', async () => {
	const { context, page } = await newPage(browser, { width: 375, height: 800 });
	await login(page, sup.email, sup.password);
	await goto(page, '/console/recordings');
	await page.locator('#recordings-table tbody tr').first().waitFor();
	await page.locator('#recordings-table [data-action=play]').first().click();
	await page.locator('#recording-media').waitFor();
	await axeCheck(page, 'recordings 375');
	await screenshot(page, 'recordings-375');
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
	assert.deepEqual(page.errors, []);
	await context.close();
});

test('administrator sets the recording policy of a site and a queue', async () => {
	const { context, page } = await newPage(browser);
	await login(page, org.email, org.password);
	await goto(page, '/admin/sites');
	await page.locator('[data-action=recording]').first().click();
	const dialog = page.locator('dialog[open]');
	await dialog.waitFor();
	await page.locator('#site-recording-policy').selectOption('always');
	await page.locator('#site-recording-notice').fill('We record this call for your protection.');
	await axeCheck(page, 'site recording dialog');
	await page.locator('#site-recording-save').click();
	await dialog.waitFor({ state: 'detached' });
	await page.getByText('Always record calls. Notice: “We record this call for your protection.”').waitFor();
	assert.deepEqual(JSON.parse(sql(`SELECT settings->'recording' FROM sites WHERE id = ${site.id}`)),
	    { policy: 'always', notice: 'We record this call for your protection.' });

	await goto(page, '/admin/queues');
	await page.locator(`tr[data-queue-id="${queue.id}"] [data-action=edit]`).click();
	await page.locator('dialog[open]').waitFor();
	assert.equal(await page.locator('#queue-recording-policy').inputValue(), '');
	await page.locator('#queue-recording-policy').selectOption('never');
	// Too long a notice is refused inline and nothing is saved.
	await page.locator('#queue-recording-notice').evaluate((el) => { el.removeAttribute('maxlength'); });
	await page.locator('#queue-recording-notice').fill('n'.repeat(501));
	await page.locator('#queue-save').click();
	await page.locator('#queue-recording-notice[aria-invalid=true]').waitFor();
	assert.match(await page.locator('#queue-recording-notice-error').textContent(), /500/);
	assert.equal(sql(`SELECT coalesce(recording_policy, '-') FROM queues WHERE id = ${queue.id}`), '-');
	await page.locator('#queue-recording-notice').fill('');
	await page.locator('#queue-save').click();
	await page.locator('dialog[open]').waitFor({ state: 'detached' });
	assert.equal(sql(`SELECT recording_policy FROM queues WHERE id = ${queue.id}`), 'never');
	assert.deepEqual(page.errors, []);
	await context.close();
});

test('a video recording plays in a video element', async () => {
	const { context, page } = await newPage(browser);
	await login(page, sup.email, sup.password);
	await goto(page, '/console/recordings');
	// A VP8 WebM made by the browser itself from an animated canvas.
	const b64 = await page.evaluate(async () => {
		const c = document.createElement('canvas');
		c.width = 320;
		c.height = 240;
		const g = c.getContext('2d');
		let n = 0;
		const timer = setInterval(() => {
			g.fillStyle = `hsl(${(n++ * 10) % 360} 80% 50%)`;
			g.fillRect(0, 0, 320, 240);
		}, 40);
		const rec = new MediaRecorder(c.captureStream(25), { mimeType: 'video/webm;codecs=vp8' });
		const parts = [];
		rec.ondataavailable = (e) => parts.push(e.data);
		rec.start();
		await new Promise((r) => setTimeout(r, 2500));
		await new Promise((r) => { rec.onstop = r; rec.stop(); });
		clearInterval(timer);
		const buf = new Uint8Array(await new Blob(parts).arrayBuffer());
		let s = '';
		for (const x of buf)
			s += String.fromCharCode(x);
		return btoa(s);
	});
	const data = Buffer.from(b64, 'base64');
	assert.ok(data.length > 1000);
	const conv = convs[1];
	const rel = `${org.tenant}/${conv}/${unique('video')}.webm`;
	fs.writeFileSync(path.join(VAR, 'recordings', rel), data);
	const sha = crypto.createHash('sha256').update(data).digest('hex');
	const video = JSON.parse(sql(`WITH s AS (SELECT set_config('vb.tenant_id', '${org.tenant}', true))
	    SELECT vb_recording_add(${conv}, ${agentId}, NULL, 'video', '${rel}', 'video/webm', now(),
	    2500, ${data.length}, '${sha}') FROM s`));

	await page.locator('#rec-customer').fill('john');
	await page.locator('#rec-search').click();
	const row = page.locator(`#recordings-table tr[data-recording-id="${video.id}"]`);
	await row.waitFor();
	assert.match(await row.textContent(), /Video · Alex Agent/);
	await row.locator('[data-action=play]').click();
	const el = page.locator('video#recording-media');
	await el.waitFor();
	await el.evaluate((v) => { v.muted = true; return v.play(); });
	await page.waitForFunction(() => {
		const v = document.getElementById('recording-media');
		return v.videoWidth === 320 && v.currentTime > 0.5;
	}, null, { timeout: TIMEOUT });
	await axeCheck(page, 'recordings with the video player');
	await screenshot(page, 'recordings-video-1280');
	assert.deepEqual(page.errors, []);
	await context.close();
});
