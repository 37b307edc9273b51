// TURN for customers whose networks block UDP (issue 4): the test stack runs
// Debian's coturn on loopback (tests/run sets VB_TURN=1, conf/bin/vb-turn
// writes its configuration). An agent and a customer get credentials from
// the application's endpoints, and two Chromium pages with fake camera and
// microphone call each other peer-to-peer with iceTransportPolicy "relay":
// video frames are decoded, audio samples arrive, and the selected candidate
// pair is relay on both ends. Wrong and expired credentials are refused by
// coturn (401 on gathering, no relay candidate).
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { newOrg } from '../lib/vb.mjs';
import { BASE, TIMEOUT } from './lib.mjs';

const SECRET = fs.readFileSync(path.join(process.env.VB_VAR, 'turn', 'secret'), 'utf8').trim();
let browser, org, customerToken;

before(async () => {
	org = await newOrg('Turn');
	const s = await org.admin.post('/api/sites', { name: 'Bank', allowed_origins: ['http://127.0.0.2:9'] });
	const w = await fetch(BASE + '/api/widget/session', { method: 'POST',
	    headers: { 'content-type': 'application/json', origin: 'http://127.0.0.2:9' },
	    body: JSON.stringify({ site_key: s.json.site.site_key }) }).then((r) => r.json());
	customerToken = w.token;
	// Flags from DESIGN.md: fake devices, no permission prompt, autoplay.
	browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		args: ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream',
		    '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required',
		    '--allow-loopback-in-peer-connection', '--disable-background-networking'],
	});
});

after(async () => {
	await browser?.close();
});

async function blankPage() {
	const context = await browser.newContext({ baseURL: BASE });
	context.setDefaultTimeout(TIMEOUT);
	const page = await context.newPage();
	await page.goto('/login', { waitUntil: 'domcontentloaded' });
	return { context, page };
}

// In the page: a peer connection over TURN only, with camera and microphone,
// that plays what it receives. Non-trickle: the SDP carries the candidates.
const SETUP = async ({ servers }) => {
	const pc = new RTCPeerConnection({ iceServers: servers, iceTransportPolicy: 'relay' });
	window.vbpc = pc;
	window.vbCandidates = [];
	pc.addEventListener('icecandidate', (e) => e.candidate && window.vbCandidates.push(e.candidate.candidate));
	const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
	for (const tr of stream.getTracks())
		pc.addTrack(tr, stream);
	pc.addEventListener('track', (e) => {
		const kind = e.track.kind;
		let el = document.getElementById('remote-' + kind);
		if (!el) {
			el = document.createElement(kind);
			el.id = 'remote-' + kind;
			el.autoplay = true;
			el.muted = kind === 'video';
			document.body.append(el);
		}
		el.srcObject = e.streams[0];
	});
};

const GATHERED = () => new Promise((resolve) => {
	const pc = window.vbpc;
	if (pc.iceGatheringState === 'complete')
		return resolve(pc.localDescription.toJSON());
	pc.addEventListener('icegatheringstatechange', () => {
		if (pc.iceGatheringState === 'complete')
			resolve(pc.localDescription.toJSON());
	});
});

async function stats(page) {
	return page.evaluate(async () => {
		const out = { video: 0, audio: 0, pair: null };
		const r = await window.vbpc.getStats();
		let transport;
		r.forEach((s) => {
			if (s.type === 'inbound-rtp' && s.kind === 'video')
				out.video = s.framesDecoded || 0;
			if (s.type === 'inbound-rtp' && s.kind === 'audio')
				out.audio = s.totalSamplesReceived || 0;
			if (s.type === 'transport')
				transport = s;
		});
		const pair = transport && r.get(transport.selectedCandidatePairId);
		if (pair) {
			out.pair = { local: r.get(pair.localCandidateId).candidateType,
			    remote: r.get(pair.remoteCandidateId).candidateType,
			    localAddress: r.get(pair.localCandidateId).address,
			    protocol: r.get(pair.localCandidateId).relayProtocol };
		}
		return out;
	});
}

test('agent and customer call each other through coturn only', async () => {
	const agent = await blankPage();
	const cust = await blankPage();
	// The agent's credentials through the staff endpoint (cookie session).
	const staff = await org.admin.get('/api/turn');
	assert.equal(staff.status, 200, staff.text);
	const forCustomer = await fetch(BASE + '/api/widget/turn',
	    { headers: { authorization: 'Bearer ' + customerToken } }).then((r) => r.json());
	assert.equal(forCustomer.iceServers.length, 1);

	await agent.page.evaluate(SETUP, { servers: staff.json.iceServers });
	await cust.page.evaluate(SETUP, { servers: forCustomer.iceServers });
	await agent.page.evaluate(async () => window.vbpc.setLocalDescription(await window.vbpc.createOffer()));
	const offer = await agent.page.evaluate(GATHERED);
	assert.ok(offer.sdp.includes(' typ relay '), 'the offer has relay candidates');
	assert.ok(!/ typ (host|srflx) /.test(offer.sdp), 'and no others');
	await cust.page.evaluate(async (o) => {
		await window.vbpc.setRemoteDescription(o);
		await window.vbpc.setLocalDescription(await window.vbpc.createAnswer());
	}, offer);
	const answer = await cust.page.evaluate(GATHERED);
	await agent.page.evaluate((a) => window.vbpc.setRemoteDescription(a), answer);

	for (const side of [agent.page, cust.page]) {
		await side.waitForFunction(() => window.vbpc.connectionState === 'connected', null,
		    { timeout: 20000 });
	}
	const first = [await stats(agent.page), await stats(cust.page)];
	await agent.page.waitForTimeout(2000);
	const second = [await stats(agent.page), await stats(cust.page)];
	for (let i = 0; i < 2; i++) {
		const who = i ? 'customer' : 'agent';
		assert.ok(second[i].video > first[i].video && second[i].video > 10,
		    `${who}: frames decoded grow (${first[i].video} → ${second[i].video})`);
		assert.ok(second[i].audio > first[i].audio && second[i].audio > 48000,
		    `${who}: audio samples arrive (${first[i].audio} → ${second[i].audio})`);
		assert.equal(second[i].pair.local, 'relay', `${who}: local candidate is relay`);
		assert.equal(second[i].pair.remote, 'relay', `${who}: remote candidate is relay`);
		assert.equal(second[i].pair.localAddress, '127.0.0.1');
	}
	await agent.context.close();
	await cust.context.close();
});

// Gathers with the given servers; answers the candidates and any errors.
async function gather(servers) {
	const { context, page } = await blankPage();
	const res = await page.evaluate(async (srv) => {
		const pc = new RTCPeerConnection({ iceServers: srv, iceTransportPolicy: 'relay' });
		const errors = [];
		const cands = [];
		pc.addEventListener('icecandidateerror', (e) => errors.push(e.errorCode));
		pc.addEventListener('icecandidate', (e) => e.candidate && cands.push(e.candidate.candidate));
		pc.createDataChannel('x');
		await pc.setLocalDescription(await pc.createOffer());
		await new Promise((resolve) => {
			if (pc.iceGatheringState === 'complete')
				resolve();
			pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
			setTimeout(resolve, 10000);
		});
		pc.close();
		return { errors, relay: cands.filter((c) => c.includes(' typ relay ')).length };
	}, servers);
	await context.close();
	return res;
}

test('coturn refuses wrong and expired credentials', async () => {
	const good = (await org.admin.get('/api/turn')).json.iceServers[0];
	const udp = good.urls.filter((u) => u.includes('transport=udp'));
	const ok = await gather([{ ...good, urls: udp }]);
	assert.ok(ok.relay >= 1, `valid credentials give a relay candidate: ${JSON.stringify(ok)}`);

	const wrong = await gather([{ urls: udp, username: good.username, credential: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }]);
	assert.equal(wrong.relay, 0, 'wrong credential: no relay candidate');
	assert.ok(wrong.errors.includes(401), `wrong credential: 401 (${wrong.errors})`);

	const user = `${Math.floor(Date.now() / 1000) - 60}:t${org.tenant}u1`;
	const expired = await gather([{ urls: udp, username: user,
	    credential: crypto.createHmac('sha1', SECRET).update(user).digest('base64') }]);
	assert.equal(expired.relay, 0, 'expired username: no relay candidate');
	assert.ok(expired.errors.includes(401), `expired username: 401 (${expired.errors})`);

	const other = `${Math.floor(Date.now() / 1000) + 600}:t${org.tenant}u1`;
	const forged = await gather([{ urls: udp, username: other,
	    credential: crypto.createHmac('sha1', 'not-the-secret-at-all').update(other).digest('base64') }]);
	assert.equal(forged.relay, 0, 'credential made with another secret: no relay candidate');
});
