// Issue 4's calls end to end in Chromium (fake camera and microphone): the
// bank's page on another origin embeds the widget; customer and agent chat;
// the agent asks for a video call and the customer consents in a dialog that
// says what is shared (axe); both sides decode video frames and receive audio
// samples (getStats); mute and hold change what the other side receives; the
// customer shares a screen (with its indicator) and the agent receives it; a
// relay restart mid-call recovers by an ICE restart; hang-up ends the call
// and the transcript has the call's lines. Screenshots of both sides at 1280
// and 375 px: tests/e2e/out/calls-*.png.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { chromium } from 'playwright-core';
import { sql, newOrg, roleId, setPassword, unique } from '../lib/vb.mjs';
import { defaultQueue } from '../lib/chat.mjs';
import { newPage, login, axeCheck, screenshot, BASE, TIMEOUT } from './lib.mjs';

const step = (s) => { if (process.env.VB_STEPS) process.stderr.write(`step: ${s}\n`); };
let browser, hostServer, HOST, org, site, ada;

function hostPage(req, res) {
	const csp = `default-src 'none'; script-src ${BASE}; connect-src ${BASE}; frame-src ${BASE}; ` +
	    `style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'`;
	res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp });
	res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<script async src="${BASE}/widget/loader.js"></script><title>Northwind Savings</title></head>
<body><main><h1>Northwind Savings</h1><p>Talk to us.</p></main><div data-vb-site="${site.site_key}" hidden></div></body></html>`);
}

// Every RTCPeerConnection of a page (and its frames), for getStats.
const initPcs = () => {
	const Orig = window.RTCPeerConnection;
	window.__pcs = [];
	window.RTCPeerConnection = function (...a) {
		const pc = new Orig(...a);
		window.__pcs.push(pc);
		return pc;
	};
	window.RTCPeerConnection.prototype = Orig.prototype;
};

// What the frame's latest peer connection receives: video frames decoded per
// mid, audio samples and energy of the first audio m-line.
async function stats(frame) {
	return frame.evaluate(async () => {
		const pc = window.__pcs?.at(-1);
		if (!pc)
			return null;
		const out = { state: pc.connectionState, video: {}, audio: { samples: 0, energy: 0 } };
		(await pc.getStats()).forEach((r) => {
			if (r.type !== 'inbound-rtp')
				return;
			if (r.kind === 'video')
				out.video[r.mid] = r.framesDecoded || 0;
			if (r.kind === 'audio' && r.mid === '0')
				out.audio = { samples: r.totalSamplesReceived || 0, energy: r.totalAudioEnergy || 0 };
		});
		return out;
	});
}

async function until(cond, what, ms = 30000) {
	const end = Date.now() + ms;
	let last;
	while (!(last = await cond())) {
		assert.ok(Date.now() < end, `timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 250));
	}
	return last;
}

// Media flows into frame: more video frames on mid and audio samples than before.
async function flowing(frame, what, mid = '1', ms = 30000) {
	const a = await stats(frame);
	return until(async () => {
		const b = await stats(frame);
		return b && (b.video[mid] || 0) > (a?.video[mid] || 0) + 10 &&
		    b.audio.samples > (a?.audio.samples || 0) + 24000 ? b : null;
	}, what, ms);
}

async function delta(frame, ms = 2000) {
	const a = await stats(frame);
	await new Promise((r) => setTimeout(r, ms));
	const b = await stats(frame);
	return { frames: (b.video['1'] || 0) - (a.video['1'] || 0), energy: b.audio.energy - a.audio.energy,
	    samples: b.audio.samples - a.audio.samples };
}

function relay(cmd) {
	return new Promise((resolve, reject) => {
		const s = net.createConnection(process.env.VB_MEDIA_SOCK);
		let buf = '';
		s.on('data', (d) => {
			buf += d;
			for (const line of buf.split('\n').slice(0, -1)) {
				const m = JSON.parse(line);
				if (m.id === 'e2e') { s.end(); resolve(m); }
			}
		});
		s.on('error', reject);
		s.write(JSON.stringify({ id: 'e2e', ...cmd }) + '\n');
	});
}

async function shot(page, name) {
	const n = page.errors.length;
	await screenshot(page, name);
	await new Promise((r) => setTimeout(r, 200));
	page.errors.length = n;
}

async function frameOf(page, pred) {
	return until(() => page.frames().find((x) => !x.isDetached() && pred(x.url())), 'the chat panel', TIMEOUT);
}

before(async () => {
	hostServer = http.createServer(hostPage);
	await new Promise((r) => hostServer.listen(0, '127.0.0.2', r));
	HOST = `http://127.0.0.2:${hostServer.address().port}`;
	org = await newOrg('Northwind');
	const r = await org.admin.post('/api/sites', { name: 'Northwind Savings', allowed_origins: [HOST] });
	assert.equal(r.status, 201, r.text);
	site = r.json.site;
	defaultQueue(org.tenant, site);
	const email = unique('agent') + '@northwind.test';
	const u = await org.admin.post('/api/users', { email, name: 'Ada Lovelace', role_ids: [await roleId(org.admin, 'agent')] });
	assert.equal(u.status, 201, u.text);
	setPassword(email, 'Branch-Pass-123');
	sql(`UPDATE users SET must_change_password = false WHERE id = ${u.json.user.id}`);
	ada = { id: u.json.user.id, email };
	browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		args: ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream',
		    '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required',
		    '--allow-loopback-in-peer-connection', '--auto-select-desktop-capture-source=Entire screen',
		    '--disable-background-networking', '--disable-component-update', '--no-first-run'],
	});
});

after(async () => {
	await browser?.close();
	hostServer?.close();
});

test('video call: consent, media both ways, mute, hold, screen share, relay restart, hang-up', { timeout: 240000 }, async () => {
	const a = await newPage(browser, { width: 1280, height: 900 });
	await a.page.addInitScript(initPcs);
	await login(a.page, ada.email, 'Branch-Pass-123');
	await a.page.goto('/console');
	await a.page.locator('#console-conn', { hasText: 'Connected' }).waitFor();
	await a.page.locator('#agent-state').selectOption('ready');

	const c = await newPage(browser, { width: 1280, height: 800 });
	await c.context.grantPermissions(['camera', 'microphone']);
	await c.page.addInitScript(initPcs);
	await c.page.goto(HOST + '/');
	await c.page.evaluate(() => window.vbq.push(['open']));
	const panel = await frameOf(c.page, (u) => u.startsWith(`${BASE}/widget/panel`));
	await panel.locator('.panel[data-state="online"]').waitFor({ timeout: 30000 });
	await panel.locator('#vb-input').fill('Hello, could we talk by video?');
	await panel.locator('#vb-input').press('Enter');
	const conv = JSON.parse(await c.page.evaluate(() => sessionStorage.getItem('vb.session'))).conversation_id;
	const offer = a.page.locator(`.offer[data-conv="${conv}"]`);
	await offer.waitFor();
	await offer.locator('[data-action="accept"]').click();
	await a.page.locator('#chat-log .msg--customer', { hasText: 'talk by video' }).waitFor();
	// The customer's call buttons appear once the adviser joined.
	await panel.locator('#vb-call-video:not([hidden])').waitFor();

	step('the agent asks for a video call; the customer sees what is shared and consents');
	await a.page.locator('#chat-call-video').click();
	await panel.locator('#vb-call[role="dialog"]').waitFor();
	assert.match(await panel.locator('#vb-call').textContent(), /Ada Lovelace would like a video call/);
	assert.match(await panel.locator('#vb-call-what').textContent(), /microphone and camera/);
	assert.equal(await panel.evaluate(() => window.__pcs.length), 0, 'nothing opened before consent');
	await axeCheck(panel, 'the call consent dialog');
	await shot(c.page, 'calls-consent');
	await panel.locator('#vb-call-accept').click();

	step('media flows both ways');
	await flowing(panel, 'video and audio at the customer');
	await flowing(a.page, 'video and audio at the agent');
	await panel.locator('#vb-call-quality[data-level]').waitFor();
	await axeCheck(panel, 'the customer in a call');
	await axeCheck(a.page, 'the agent in a call');
	await shot(c.page, 'calls-customer-1280');
	await shot(a.page, 'calls-agent-1280');
	await c.page.setViewportSize({ width: 375, height: 800 });
	await a.page.setViewportSize({ width: 375, height: 800 });
	await new Promise((r) => setTimeout(r, 500));
	await shot(c.page, 'calls-customer-375');
	await shot(a.page, 'calls-agent-375');
	await c.page.setViewportSize({ width: 1280, height: 800 });
	await a.page.setViewportSize({ width: 1280, height: 900 });

	step('mute: the agent receives silence');
	const loud = await delta(a.page);
	assert.ok(loud.energy > 0.001, `audio energy before mute: ${loud.energy}`);
	await panel.locator('#vb-call-mute').click();
	await new Promise((r) => setTimeout(r, 800));
	const quiet = await delta(a.page);
	assert.ok(quiet.energy < loud.energy / 20, `muted: ${quiet.energy} vs ${loud.energy}`);
	await panel.locator('#vb-call-mute').click();

	step('hold: the customer receives nothing; resume: back');
	await a.page.locator('#call-hold').click();
	await panel.locator('#vb-call-hold:not([hidden])').waitFor();
	await new Promise((r) => setTimeout(r, 1000));
	const held = await delta(panel);
	assert.ok(held.frames <= 2, `frames on hold: ${held.frames}`);
	assert.ok(held.energy < loud.energy / 20, `audio on hold: ${held.energy}`);
	await a.page.locator('#call-hold').click();
	await panel.locator('#vb-call-hold').waitFor({ state: 'hidden' });
	await flowing(panel, 'media after resume');

	step('the customer shares a screen; the agent receives it');
	await panel.locator('#vb-call-share').click();
	await panel.locator('#vb-call-sharing:not([hidden])').waitFor();
	assert.match(await panel.locator('#vb-call-sharing').textContent(), /You are sharing your screen/);
	await a.page.locator('#call-screen-label:not([hidden])').waitFor();
	assert.match(await a.page.locator('#call-screen-label').textContent(), /is sharing their screen/);
	await until(async () => (await a.page.locator('#call-screen').evaluate((v) => v.videoWidth)) > 0,
	    'the screen at the agent');
	const ss = await stats(a.page);
	assert.ok(Object.keys(ss.video).length >= 2, `two video m-lines at the agent: ${JSON.stringify(ss.video)}`);
	await shot(c.page, 'calls-customer-sharing');
	await shot(a.page, 'calls-agent-screen');
	await panel.locator('#vb-call-share-stop').click();
	await a.page.locator('#call-screen-label').waitFor({ state: 'hidden' });

	step('a relay restart mid-call recovers');
	const hello = await relay({ cmd: 'hello' });
	process.kill(hello.pid, 'SIGKILL');
	await until(async () => (await relay({ cmd: 'hello' }).catch(() => ({}))).pid > 0 &&
	    (await relay({ cmd: 'hello' })).pid !== hello.pid, 'a new relay', 20000);
	await flowing(panel, 'media at the customer after the restart', '1', 45000);
	await flowing(a.page, 'media at the agent after the restart', '1', 45000);

	step('hang-up ends it; the transcript has the call lines');
	await a.page.locator('#call-hangup').click();
	await panel.locator('.call__ended').waitFor();
	await a.page.locator('#call').waitFor({ state: 'hidden' });
	await a.page.locator('#chat-log', { hasText: 'Video call started' }).waitFor();
	await a.page.locator('#chat-log', { hasText: 'Video call ended by Ada Lovelace' }).waitFor();
	await panel.locator('#vb-log', { hasText: 'Video call ended by Ada Lovelace' }).waitFor();
	assert.equal(sql(`SELECT state FROM calls WHERE conversation_id = ${conv}`), 'ended');
	assert.deepEqual(c.page.errors, []);
	assert.deepEqual(a.page.errors, []);
});

test('voice call asked by the customer: the agent hears a ring, accepts; recording on demand shows its notice', { timeout: 120000 }, async () => {
	const q = sql(`SELECT default_queue_id FROM sites WHERE id = ${site.id}`);
	sql(`UPDATE queues SET recording_policy = 'on_demand', recording_notice = 'Northwind records this call for your security.' WHERE id = ${q}`);
	const a = await newPage(browser, { width: 1280, height: 900 });
	await a.page.addInitScript(initPcs);
	await login(a.page, ada.email, 'Branch-Pass-123');
	await a.page.goto('/console');
	await a.page.locator('#console-conn', { hasText: 'Connected' }).waitFor();
	await a.page.locator('#agent-state').selectOption('ready');
	const c = await newPage(browser, { width: 375, height: 800 });
	await c.page.addInitScript(initPcs);
	await c.page.goto(HOST + '/');
	await c.page.evaluate(() => window.vbq.push(['open']));
	const panel = await frameOf(c.page, (u) => u.startsWith(`${BASE}/widget/panel`));
	await panel.locator('.panel[data-state="online"]').waitFor({ timeout: 30000 });
	await panel.locator('#vb-input').fill('Can I call you?');
	await panel.locator('#vb-input').press('Enter');
	const conv = JSON.parse(await c.page.evaluate(() => sessionStorage.getItem('vb.session'))).conversation_id;
	await a.page.locator(`.offer[data-conv="${conv}"] [data-action="accept"]`).click();
	await panel.locator('#vb-call-audio:not([hidden])').waitFor();

	step('the customer calls: their press is their consent; the agent rings');
	await panel.locator('#vb-call-audio').click();
	await panel.locator('#vb-call-cancel').waitFor();
	await a.page.locator('#call.callpanel--ring').waitFor();
	assert.match(await a.page.locator('#call-title').textContent(), /asks for a voice call/);
	await axeCheck(a.page, 'the ringing call');
	await shot(a.page, 'calls-agent-ring');
	await a.page.locator('#call-accept').click();
	const got = async (frame) => until(async () => (await stats(frame))?.audio.samples > 48000, 'audio samples');
	await got(panel);
	await got(a.page);
	// A voice call: no camera controls; the buttons for a new call are gone meanwhile.
	assert.equal(await panel.locator('#vb-call-camera').isHidden(), true);
	assert.equal(await panel.locator('#vb-call-audio').isHidden(), true);

	step('the agent records (policy on demand); the customer sees the notice');
	await a.page.locator('#call-record').click();
	await panel.locator('#vb-call-rec:not([hidden])', { hasText: 'Northwind records this call' }).waitFor();
	await a.page.locator('#call-rec:not([hidden])').waitFor();
	assert.equal(await a.page.locator('#call-record').textContent(), 'Stop recording');
	assert.equal(Number(sql(`SELECT count(*) FROM audit_log WHERE action = 'call.recording_start'
	    AND object_id = (SELECT id::text FROM calls WHERE conversation_id = ${conv})`)), 1);
	// The quality badge tells its numbers on focus.
	await a.page.locator('#call-quality[data-level]').waitFor();
	await a.page.locator('#call-quality').focus();
	assert.match(await a.page.locator('#call-quality-tip').textContent(), /Loss .*% · round trip .* ms · \d+ kbit\/s/);
	await axeCheck(panel, 'the customer in a recorded voice call');
	await shot(c.page, 'calls-customer-voice-375');
	await shot(a.page, 'calls-agent-voice');

	step('the customer hangs up');
	await panel.locator('#vb-call-hangup').click();
	await a.page.locator('#call').waitFor({ state: 'hidden' });
	await a.page.locator('#chat-log', { hasText: 'Voice call ended by the customer' }).waitFor();
	await panel.locator('#vb-call-audio:not([hidden])').waitFor();
	// The relay recorded (record.start, recording.file: docs/media.md): its
	// files are recordings rows of this conversation, under the call's folder,
	// and on disk.
	step('the relay recorded: its files are in the archive');
	const call = sql(`SELECT id FROM calls WHERE conversation_id = ${conv}`);
	await until(async () => Number(sql(`SELECT count(*) FROM recordings WHERE conversation_id = ${conv} AND kind = 'mix'`)) > 0,
	    'the mixed recording in the archive', 30000);
	for (const p of sql(`SELECT path FROM recordings WHERE conversation_id = ${conv}`).split('\n'))
		assert.ok(p.startsWith(`${org.tenant}/${call}/`), p);
	assert.ok(Number(sql(`SELECT min(bytes) FROM recordings WHERE conversation_id = ${conv}`)) > 0, 'no empty file');
	assert.deepEqual(c.page.errors, []);
	assert.deepEqual(a.page.errors, []);
});

// What each m-line of a participant receives, from the relay's stats.
async function sources(room) {
	const st = await relay({ cmd: 'stats', room });
	const out = {};
	for (const p of st.rooms?.[0]?.participants || [])
		for (const tr of p.tracks)
			out[`${p.participant}.${tr.mid}`] = tr.out?.source?.participant ?? null;
	return out;
}

test('a supervisor listens, whispers and barges: the customer never receives the supervisor outside barge', { timeout: 150000 }, async () => {
	const email = unique('sup') + '@northwind.test';
	const u = await org.admin.post('/api/users', { email, name: 'Sam Supervisor', role_ids: [await roleId(org.admin, 'supervisor')] });
	assert.equal(u.status, 201, u.text);
	setPassword(email, 'Branch-Pass-123');
	sql(`UPDATE users SET must_change_password = false WHERE id = ${u.json.user.id}`);
	const samId = u.json.user.id;

	const a = await newPage(browser, { width: 1280, height: 900 });
	await a.page.addInitScript(initPcs);
	await login(a.page, ada.email, 'Branch-Pass-123');
	await a.page.goto('/console');
	await a.page.locator('#console-conn', { hasText: 'Connected' }).waitFor();
	await a.page.locator('#agent-state').selectOption('ready');
	const c = await newPage(browser, { width: 1280, height: 800 });
	await c.page.addInitScript(initPcs);
	await c.page.goto(HOST + '/');
	await c.page.evaluate(() => window.vbq.push(['open']));
	const panel = await frameOf(c.page, (u2) => u2.startsWith(`${BASE}/widget/panel`));
	await panel.locator('.panel[data-state="online"]').waitFor({ timeout: 30000 });
	await panel.locator('#vb-input').fill('A question about my mortgage');
	await panel.locator('#vb-input').press('Enter');
	const conv = JSON.parse(await c.page.evaluate(() => sessionStorage.getItem('vb.session'))).conversation_id;
	await a.page.locator(`.offer[data-conv="${conv}"] [data-action="accept"]`).click();
	await a.page.locator('#chat-call-audio').click();
	await panel.locator('#vb-call-accept').click();
	const samples = (frame, mid = '0') => frame.evaluate(async (m) => {
		let n = 0;
		const pc = window.__pcs?.at(-1);
		if (!pc)
			return 0;
		(await pc.getStats()).forEach((r) => {
			if (r.type === 'inbound-rtp' && r.kind === 'audio' && r.mid === m) n = r.totalSamplesReceived || 0;
		});
		return n;
	}, mid);
	await until(async () => await samples(panel) > 48000, 'the customer hears the agent');

	step('Sam monitors the chat and listens to the call');
	const s = await newPage(browser, { width: 1280, height: 900 });
	await s.page.addInitScript(initPcs);
	await login(s.page, email, 'Branch-Pass-123');
	await s.page.goto('/supervisor');
	await s.page.locator(`#sup-conv-table tr[data-conv="${conv}"] [data-action="monitor"]`).click();
	await s.page.locator('#call-sup').waitFor();
	await axeCheck(s.page, 'the supervisor call controls');
	await s.page.locator('#call-sup-monitor').click();
	await s.page.locator('#call-sup-mode', { hasText: 'nobody hears you' }).waitFor();
	// Sam hears the customer (first audio m-line) and the agent (the second).
	await until(async () => await samples(s.page, '0') > 24000, 'Sam hears the customer');
	const voiceMid = await s.page.evaluate(() => window.__pcs.at(-1).getTransceivers().filter((x) => x.receiver.track.kind === 'audio')[1]?.mid);
	await until(async () => await samples(s.page, voiceMid) > 24000, 'Sam hears the agent');
	const call = sql(`SELECT id FROM calls WHERE conversation_id = ${conv}`);
	const room = `call-${call}`;
	const S = `u${samId}`;
	let src = await sources(room);
	assert.ok(!Object.entries(src).some(([k, v]) => k.startsWith('c') && v === S), `monitor: ${JSON.stringify(src)}`);
	await shot(s.page, 'calls-supervisor-listen');

	step('whisper: only the agent receives Sam');
	await s.page.locator('#call-sup-whisper').click();
	await s.page.locator('#call-sup-mode', { hasText: 'only the agent' }).waitFor();
	src = await until(async () => {
		const x = await sources(room);
		return Object.entries(x).some(([k, v]) => k.startsWith(`u${ada.id}.`) && v === S) ? x : null;
	}, 'the agent receives Sam');
	assert.ok(!Object.entries(src).some(([k, v]) => k.startsWith('c') && v === S), `whisper: ${JSON.stringify(src)}`);
	await s.page.waitForTimeout(1000);
	assert.ok(!Object.entries(await sources(room)).some(([k, v]) => k.startsWith('c') && v === S), 'still not the customer');

	step('barge: the customer receives Sam too, and the chat says so');
	await s.page.locator('#call-sup-barge').click();
	await panel.locator('#vb-log', { hasText: 'Sam Supervisor joined the call' }).waitFor();
	await until(async () => Object.entries(await sources(room)).some(([k, v]) => k.startsWith('c') && v === S),
	    'the customer receives Sam');
	assert.equal(Number(sql(`SELECT count(*) FROM audit_log WHERE object_id = '${call}' AND action IN
	    ('call.supervisor_monitor', 'call.supervisor_whisper', 'call.supervisor_barge')`)), 3);
	await s.page.locator('#call-sup-leave').click();
	await until(async () => !Object.values(await sources(room)).includes(S), 'Sam is gone from every m-line');
	await a.page.locator('#call-hangup').click();
	await panel.locator('.call__ended').waitFor();
	assert.deepEqual(s.page.errors, []);
});
