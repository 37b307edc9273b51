// The media relay with real browsers, no Kore: vb-media (the sanitized
// build) on a random UDP port and control socket; Chromium pages with fake
// camera and microphone make offers; the test passes them over the control
// socket, sets forwarding and hands the answers back. getStats must show
// video frames decoded and audio samples received on every side, also
// after the relay switched a receiver to another source, and after garbage
// was thrown at the media port.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import dgram from 'node:dgram';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = process.env.VB_MEDIA_BIN ||
    (existsSync(path.join(ROOT, 'build-san/vb-media')) ? path.join(ROOT, 'build-san/vb-media')
	: path.join(ROOT, 'build/vb-media'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let relay, relayLog = '', dir, ctl, page0, browser, pages = {}, mediaPort;

// The control socket: newline-delimited JSON, answers matched by id.
class Control {
	constructor(sock) {
		this.sock = sock;
		this.next = 1;
		this.wait = new Map();
		this.events = [];
		this.buf = '';
		sock.setEncoding('utf8');
		sock.on('data', (d) => {
			this.buf += d;
			let i;
			while ((i = this.buf.indexOf('\n')) >= 0) {
				const msg = JSON.parse(this.buf.slice(0, i));
				this.buf = this.buf.slice(i + 1);
				if (msg.event) this.events.push(msg);
				else if (this.wait.has(msg.id)) {
					this.wait.get(msg.id)(msg);
					this.wait.delete(msg.id);
				}
			}
		});
	}
	call(cmd, args = {}) {
		const id = this.next++;
		return new Promise((resolve) => {
			this.wait.set(id, resolve);
			this.sock.write(JSON.stringify({ id, cmd, ...args }) + '\n');
		});
	}
	async ok(cmd, args) {
		const r = await this.call(cmd, args);
		assert.equal(r.ok, true, `${cmd}: ${JSON.stringify(r.error)}`);
		return r;
	}
	async event(pred, ms = 20000) {
		const end = Date.now() + ms;
		for (;;) {
			const e = this.events.find(pred);
			if (e) return e;
			if (Date.now() > end) throw new Error('no such event: ' + JSON.stringify(this.events));
			await sleep(100);
		}
	}
}

function connect(file) {
	return new Promise((resolve, reject) => {
		const s = net.connect(file);
		s.on('connect', () => resolve(s));
		s.on('error', reject);
	});
}

async function freeUdpPort() {
	const s = dgram.createSocket('udp4');
	await new Promise((r) => s.bind(0, '127.0.0.1', r));
	const p = s.address().port;
	s.close();
	return p;
}

// What each page runs: a PeerConnection with one audio and one video
// transceiver (fake devices), remote tracks on <audio>/<video> elements.
const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>relay</title></head>
<body>
<script type="module">
window.setup = async () => {
	const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
	window.pc = pc;
	const s = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240, frameRate: 15 } });
	for (const t of s.getTracks()) pc.addTransceiver(t, { direction: 'sendrecv', streams: [s] });
	// Every remote track plays: audio is only counted when it is played.
	pc.ontrack = (e) => {
		const el = document.createElement(e.track.kind === 'video' ? 'video' : 'audio');
		el.autoplay = true;
		el.muted = e.track.kind === 'video';
		el.srcObject = new MediaStream([e.track]);
		document.body.append(el);
	};
	const o = await pc.createOffer();
	await pc.setLocalDescription(o);
	return o.sdp;
};
window.answer = (sdp) => window.pc.setRemoteDescription({ type: 'answer', sdp });
// A new offer: after an ICE restart, or with one more receive-only audio m-line.
window.reoffer = async ({ restart = false, addAudio = false } = {}) => {
	if (addAudio) window.pc.addTransceiver('audio', { direction: 'recvonly' });
	if (restart) window.pc.restartIce();
	const o = await window.pc.createOffer();
	await window.pc.setLocalDescription(o);
	return o.sdp;
};
// Screen sharing: a send-only video m-line with getDisplayMedia (fake
// capture), or a receive-only one to watch somebody's. Returns the new mid.
window.addVideo = async (screen) => {
	let t;
	if (screen) {
		const s = await navigator.mediaDevices.getDisplayMedia({ video: true });
		t = window.pc.addTransceiver(s.getVideoTracks()[0], { direction: 'sendonly' });
	} else
		t = window.pc.addTransceiver('video', { direction: 'recvonly' });
	const o = await window.pc.createOffer();
	await window.pc.setLocalDescription(o);
	return { sdp: o.sdp, mid: t.mid };
};
window.stats = async () => {
	const out = { video: null, audio: null, state: window.pc.connectionState, mids: {} };
	(await window.pc.getStats()).forEach((r) => {
		if (r.type === 'inbound-rtp' && r.kind === 'video') out.video = { frames: r.framesDecoded || 0, packets: r.packetsReceived, lost: r.packetsLost, width: r.frameWidth, keyFrames: r.keyFramesDecoded, nacks: r.nackCount, plis: r.pliCount };
		if (r.type === 'inbound-rtp' && r.kind === 'audio' && r.mid === '0') out.audio = { samples: r.totalSamplesReceived || 0, packets: r.packetsReceived, energy: r.totalAudioEnergy };
		if (r.type === 'inbound-rtp') out.mids[r.mid] = { kind: r.kind, packets: r.packetsReceived, samples: r.totalSamplesReceived, frames: r.framesDecoded, ssrc: r.ssrc };
		if (r.type === 'transport') out.dtls = r.dtlsState, out.srtpCipher = r.srtpCipher, out.tls = r.tlsVersion, out.pair = r.selectedCandidatePairId;
	});
	// The selected candidate pair (not any nominated one).
	const all = await window.pc.getStats();
	const pair = out.pair && all.get(out.pair);
	if (pair) out.rtt = pair.currentRoundTripTime, out.outBitrate = pair.availableOutgoingBitrate;
	return out;
};
</script></body></html>`;

let server, ORIGIN, proxy;

// A UDP hop between the agent's browser and the relay (the agent's answer
// names it as the relay's candidate). It can copy and replay what the
// browser sent, from the address the relay knows, and drop some of the
// relay's video packets on their way to the browser.
async function udpProxy(target) {
	const front = dgram.createSocket('udp4');
	await new Promise((r) => front.bind(0, '127.0.0.1', r));
	const p = { port: front.address().port, captured: [], dropEvery: 0, dropped: 0, back: null, seen: 0 };
	front.on('message', (msg, from) => {
		if (!p.back) {
			p.back = dgram.createSocket('udp4');
			p.back.bind(0, '127.0.0.1');
			p.back.on('message', (m) => {
				// SRTP keeps the RTP header in clear: payload type 96 is VP8.
				if (p.dropEvery && m[0] >= 128 && m[0] <= 191 && (m[1] & 0x7f) === 96 &&
				    ++p.seen % p.dropEvery === 0) {
					p.dropped++;
					return;
				}
				front.send(m, from.port, from.address);
			});
		}
		if (msg[0] >= 128 && msg[0] <= 191 && p.captured.length < 300)
			p.captured.push(Buffer.from(msg));
		p.back.send(msg, target, '127.0.0.1');
	});
	p.replay = async () => {
		for (const m of p.captured)
			await new Promise((r) => p.back.send(m, target, '127.0.0.1', r));
		return p.captured.length;
	};
	p.close = () => { front.close(); p.back?.close(); };
	return p;
}

before(async () => {
	dir = mkdtempSync(path.join(tmpdir(), 'vbmedia-'));
	mediaPort = await freeUdpPort();
	relay = spawn(BIN, [], {
		env: { ...process.env, VB_MEDIA_PORT: String(mediaPort), VB_MEDIA_BIND: '127.0.0.1',
		    VB_MEDIA_ADDR: '127.0.0.1', VB_MEDIA_SOCK: path.join(dir, 'media.sock'), VB_MEDIA_CONSENT_S: '6',
		    ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0', UBSAN_OPTIONS: 'print_stacktrace=1' },
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	relay.stdout.on('data', (d) => { relayLog += d; });
	relay.stderr.on('data', (d) => { relayLog += d; });
	for (let i = 0; i < 100 && !existsSync(path.join(dir, 'media.sock')); i++) await sleep(50);
	ctl = new Control(await connect(path.join(dir, 'media.sock')));
	server = http.createServer((req, res) => {
		res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
		res.end(PAGE);
	});
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	ORIGIN = `http://127.0.0.1:${server.address().port}`;
	browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		args: ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream',
		    '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required',
		    '--allow-loopback-in-peer-connection', '--disable-background-networking'],
	});
});

after(async () => {
	await browser?.close();
	server?.close();
	proxy?.close();
	ctl?.sock.end();
	if (relay && relay.exitCode === null) {
		relay.kill('SIGTERM');
		await new Promise((r) => relay.once('exit', r));
	}
	rmSync(dir, { recursive: true, force: true });
});

async function join(name, { viaProxy = false } = {}) {
	const ctx = await browser.newContext();
	const page = await ctx.newPage();
	page.on('pageerror', (e) => console.log(name, 'pageerror', e.message));
	await page.goto(ORIGIN + '/');
	const offer = await page.evaluate(() => window.setup());
	const r = await ctl.ok('participant.add', { room: 'call', participant: name, offer });
	assert.match(r.answer, /a=ice-lite/);
	assert.match(r.answer, /a=setup:passive/);
	if (viaProxy)
		r.answer = r.answer.replaceAll(`127.0.0.1 ${mediaPort} typ host`, `127.0.0.1 ${proxy.port} typ host`);
	await page.evaluate((sdp) => window.answer(sdp), r.answer);
	pages[name] = { ctx, page };
	return page;
}

const stats = (name) => pages[name].page.evaluate(() => window.stats());

// Waits until the page has decoded more than `frames` video frames and
// received more than `samples` audio samples.
async function flowing(name, frames = 0, samples = 0, ms = 25000) {
	const end = Date.now() + ms;
	let s;
	for (;;) {
		s = await stats(name);
		if (s.video && s.audio && s.video.frames > frames + 10 && s.audio.samples > samples + 48000)
			return s;
		if (Date.now() > end)
			assert.fail(`${name}: media not flowing: ${JSON.stringify(s)}`);
		await sleep(250);
	}
}

test('hello tells the version and the start time', async () => {
	const r = await ctl.ok('hello');
	assert.equal(typeof r.version, 'string');
	assert.ok(Math.abs(r.started - Date.now() / 1000) < 120);
	assert.equal(r.port, mediaPort);
	assert.match(r.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
});

test('control errors are answered with the request id and change nothing', async () => {
	let r = await ctl.call('participant.add', { room: 'nope', participant: 'x', offer: 'v=0' });
	assert.equal(r.ok, false);
	assert.equal(r.error.code, 'not_found');
	await ctl.ok('room.create', { room: 'call' });
	r = await ctl.call('room.create', { room: 'call' });
	assert.equal(r.error.code, 'exists');
	r = await ctl.call('participant.add', { room: 'call', participant: 'x', offer: 'v=0\r\nm=audio 9 RTP/AVP 0\r\n' });
	assert.equal(r.error.code, 'bad_offer');
	r = await ctl.call('participant.add', { room: 'call', participant: 'x'.repeat(65), offer: 'v=0' });
	assert.equal(r.error.code, 'bad_request');
	r = await ctl.call('forward.set', { room: 'call', rules: [{ to: 'x', mid: '0', from: null }] });
	assert.equal(r.error.code, 'not_found');
	r = await ctl.call('frobnicate');
	assert.equal(r.error.code, 'unknown_command');
	// Wrong types and shapes: refused with bad_request, nothing created.
	for (const [cmd, args] of [
		['room.create', { room: 12 }],
		['room.create', { room: '' }],
		['room.create', { room: 'a b' }],
		['room.create', { room: 'é' }],
		['participant.add', { room: 'call', participant: 'x', offer: 42 }],
		['participant.update', { room: 'call', participant: ['x'], offer: 'v=0' }],
		['forward.set', { room: 'call', rules: {} }],
		['forward.set', { room: 'call', rules: [7] }],
		['forward.set', { room: 'call', rules: Array(65).fill({ to: 'x', mid: '0' }) }],
		['stats', { room: null }],
	]) {
		r = await ctl.call(cmd, args);
		assert.equal(r.ok, false, `${cmd} ${JSON.stringify(args).slice(0, 80)}`);
		assert.ok(['bad_request', 'not_found'].includes(r.error.code), `${cmd}: ${r.error.code}`);
	}
	r = await ctl.call('participant.add', { room: 'call', participant: 'x', offer: 'v=0\r\n' + 'a=x\r\n'.repeat(20000) });
	assert.equal(r.error.code, 'bad_offer', 'an offer over 64 KiB');
	// A line over 1 MiB: that client is dropped, the relay and others go on.
	const other = await connect(path.join(dir, 'media.sock'));
	const closed = new Promise((res) => other.on('close', res));
	other.on('error', () => {});
	other.write('{"id":1,"cmd":"hello","x":"' + 'y'.repeat(1200000));
	await closed;
	r = await ctl.ok('hello');
	// A duplicate key, and not an object: bad_json with a null id.
	const raw = await connect(path.join(dir, 'media.sock'));
	raw.setEncoding('utf8');
	let got = '';
	raw.on('data', (d) => { got += d; });
	raw.write('{"id":"dup","cmd":"hello","cmd":"stats"}\n[1,2]\n');
	for (let i = 0; i < 40 && got.split('\n').length < 3; i++)
		await sleep(50);
	raw.end();
	const lines = got.trim().split('\n').map((l) => JSON.parse(l));
	assert.equal(lines.length, 2);
	for (const l of lines)
		assert.deepEqual([l.id, l.ok, l.error.code], [null, false, 'bad_json']);
	const s = await ctl.ok('stats', { room: 'call' });
	assert.deepEqual(s.rooms, [{ room: 'call', participants: [], recordings: [] }]);
});

test('two browsers call each other through the relay', async () => {
	proxy = await udpProxy(mediaPort);
	await join('agent', { viaProxy: true });
	await join('customer');
	await ctl.ok('forward.set', { room: 'call', rules: [
		{ to: 'agent', mid: '0', from: 'customer', from_mid: '0' },
		{ to: 'agent', mid: '1', from: 'customer', from_mid: '1' },
		{ to: 'customer', mid: '0', from: 'agent', from_mid: '0' },
		{ to: 'customer', mid: '1', from: 'agent', from_mid: '1' },
	] });
	await ctl.event((e) => e.event === 'participant.connected' && e.participant === 'agent');
	await ctl.event((e) => e.event === 'participant.connected' && e.participant === 'customer');
	const a = await flowing('agent');
	const c = await flowing('customer');
	console.log('agent', JSON.stringify(a));
	console.log('customer', JSON.stringify(c));
	assert.equal(a.dtls, 'connected');
	assert.equal(a.tls, 'FEFD', 'DTLS 1.2');
	assert.equal(a.srtpCipher, 'SRTP_AEAD_AES_128_GCM');
	assert.ok(a.audio.energy > 0, 'the audio is not silence');
	const st = await ctl.ok('stats', { room: 'call' });
	const agent = st.rooms[0].participants.find((p) => p.participant === 'agent');
	assert.equal(agent.state, 'connected');
	assert.equal(agent.srtp, 'AEAD_AES_128_GCM');
	assert.match(agent.address, /^\d+\.\d+\.\d+\.\d+:\d+$/, 'the selected address');
	assert.ok(agent.tracks[1].in.packets > 10, 'video received from the agent');
	assert.ok(agent.tracks[1].out.packets > 10, 'video sent to the agent');
	assert.equal(agent.tracks[1].in.ssrc, agent.tracks[1].in.ssrc >>> 0);

	assert.equal(agent.tracks[1].out.source.participant, 'customer');
	// Receiver reports: the browser reports on what we send it (RTT from our SRs).
	await sleep(2500);
	const later = (await ctl.ok('stats', { room: 'call' })).rooms[0].participants
	    .find((p) => p.participant === 'customer');
	console.log('relay stats, customer:', JSON.stringify(later));
	assert.equal(typeof later.rtt_ms, 'number');
	assert.ok(later.tracks[1].in.remb_bps >= 150000, 'REMB computed for the customer\'s video');
	// REMB lets the browsers' bandwidth estimate go up to max_kbps quickly.
	const end = Date.now() + 10000;
	let sa, sc;
	do {
		sa = await stats('agent');
		sc = await stats('customer');
	} while (!(sa.outBitrate >= 1000000 && sc.outBitrate >= 1000000) && Date.now() < end && await sleep(250) === undefined);
	assert.ok(sa.outBitrate >= 1000000 && sc.outBitrate >= 1000000,
	    `outgoing bitrate estimate ${sa.outBitrate} / ${sc.outBitrate}`);
});

test('garbage, truncated STUN, bad integrity, DTLS and SRTP from strangers change nothing', async () => {
	const before = await stats('agent');
	const st0 = await ctl.ok('stats');
	const agent = st0.rooms[0].participants.find((p) => p.participant === 'agent');
	const sock = dgram.createSocket('udp4');
	await new Promise((r) => sock.bind(0, '127.0.0.1', r));
	const send = (b) => new Promise((r) => sock.send(b, mediaPort, '127.0.0.1', r));
	const stunHdr = (len) => {
		const b = Buffer.alloc(20);
		b.writeUInt16BE(1, 0); b.writeUInt16BE(len, 2); b.writeUInt32BE(0x2112A442, 4);
		crypto.randomBytes(12).copy(b, 8);
		return b;
	};
	// The agent's ufrag is in its answer; a check signed with the wrong key.
	const ufrag = (await ctl.ok('participant.update', { room: 'call', participant: 'agent',
	    offer: await pages.agent.page.evaluate(() => window.pc.localDescription.sdp) })).answer.match(/a=ice-ufrag:(\S+)/)[1];
	const user = Buffer.from(`${ufrag}:zzzz`);
	const attrs = Buffer.concat([Buffer.from([0, 6, 0, user.length]), user, Buffer.alloc((4 - user.length % 4) % 4),
	    Buffer.from([0, 8, 0, 20]), crypto.randomBytes(20)]);
	const badMi = Buffer.concat([stunHdr(attrs.length), attrs]);
	for (let i = 0; i < 200; i++) {
		await send(crypto.randomBytes(1 + (i * 37) % 1400));	// garbage
		await send(stunHdr(40));				// truncated STUN
		await send(badMi);					// bad MESSAGE-INTEGRITY
		await send(Buffer.concat([Buffer.from([22, 0xfe, 0xfd]), crypto.randomBytes(60)]));	// DTLS, unknown address
		const rtp = crypto.randomBytes(200); rtp[0] = 0x80; rtp[1] = 96;			// SRTP, unknown address
		await send(rtp);
	}
	sock.close();
	await sleep(1000);
	assert.equal(relay.exitCode, null, 'relay still running');
	const st1 = await ctl.ok('stats');
	assert.ok(st1.garbage >= st0.garbage + 800, `garbage counted: ${st0.garbage} -> ${st1.garbage}`);
	const agent1 = st1.rooms[0].participants.find((p) => p.participant === 'agent');
	assert.equal(agent1.state, 'connected');
	assert.equal(agent1.address, agent.address, 'the selected address did not move');
	await flowing('agent', before.video.frames, before.audio.samples);
	await flowing('customer');
});

test('replayed SRTP from the participant\'s own address is refused, the call goes on', async () => {
	const before = await stats('agent');
	const agentRx = async () => (await ctl.ok('stats', { room: 'call' })).rooms[0].participants
	    .find((p) => p.participant === 'agent').rx;
	const rx0 = await agentRx();
	const n = await proxy.replay();
	assert.ok(n >= 100, `${n} packets replayed`);
	await sleep(500);
	const rx1 = await agentRx();
	assert.ok(rx1.dropped - rx0.dropped >= n, `replays dropped: ${rx1.dropped - rx0.dropped} of ${n}`);
	assert.equal(relay.exitCode, null);
	await flowing('customer');
	await flowing('agent', before.video.frames, before.audio.samples);
});

test('lost video packets are resent from the relay\'s buffer when the browser asks (NACK)', async () => {
	const before = await stats('agent');
	proxy.dropEvery = 10;
	for (let i = 0; i < 60 && proxy.dropped < 10; i++)
		await sleep(250);
	proxy.dropEvery = 0;
	await sleep(1000);
	const s = await flowing('agent', before.video.frames, before.audio.samples);
	const st = await ctl.ok('stats', { room: 'call' });
	const out = st.rooms[0].participants.find((p) => p.participant === 'agent').tracks[1].out;
	assert.ok(proxy.dropped >= 10, `${proxy.dropped} dropped`);
	assert.ok(s.video.nacks > before.video.nacks, 'the browser sent NACKs');
	assert.ok(out.nacks > 0 && out.retransmits > 0, `relay answered: ${JSON.stringify(out)}`);
	assert.ok(s.video.lost - before.video.lost < proxy.dropped, `loss repaired: ${s.video.lost - before.video.lost} of ${proxy.dropped} still lost`);
	console.log(`NACK: ${proxy.dropped} dropped, browser NACKs ${s.video.nacks - before.video.nacks}, relay retransmits ${out.retransmits}, still lost ${s.video.lost - before.video.lost}`);
});

test('switching the source of a stream keeps the decoder going', async () => {
	await join('supervisor');
	await ctl.event((e) => e.event === 'participant.connected' && e.participant === 'supervisor');
	// Silent monitor: the supervisor receives the customer; nobody receives it.
	await ctl.ok('forward.set', { room: 'call', rules: [
		{ to: 'supervisor', mid: '0', from: 'customer', from_mid: '0' },
		{ to: 'supervisor', mid: '1', from: 'customer', from_mid: '1' },
	] });
	await flowing('supervisor');
	// The supervisor now watches the agent instead: same outgoing SSRC,
	// sequence and timestamps continue, a key frame is asked for.
	const s0 = await stats('supervisor');
	await ctl.ok('forward.set', { room: 'call', rules: [
		{ to: 'supervisor', mid: '1', from: 'agent', from_mid: '1' },
	] });
	await sleep(500);
	const s1 = await flowing('supervisor', s0.video.frames, s0.audio.samples);
	assert.ok(s1.video.keyFrames > s0.video.keyFrames, 'a key frame came after the switch');
	const st = await ctl.ok('stats', { room: 'call' });
	const sup = st.rooms[0].participants.find((p) => p.participant === 'supervisor');
	assert.equal(sup.tracks[1].out.source.participant, 'agent');
	assert.equal(sup.tracks[1].out.switches, 1);
	const cust = st.rooms[0].participants.find((p) => p.participant === 'customer');
	assert.ok(cust.tracks.every((t) => t.out.source === null || t.out.source.participant !== 'supervisor'),
	    'the customer receives nothing from the supervisor');
	await ctl.ok('participant.remove', { room: 'call', participant: 'supervisor' });
	await pages.supervisor.ctx.close();
	delete pages.supervisor;
});

test('an ICE restart gets new credentials and the call goes on', async () => {
	const before = await stats('agent');
	const old = (await ctl.ok('stats', { room: 'call' })).rooms[0].participants
	    .find((p) => p.participant === 'agent');
	const offer = await pages.agent.page.evaluate(() => window.reoffer({ restart: true }));
	const r = await ctl.ok('participant.update', { room: 'call', participant: 'agent', offer });
	assert.equal(r.ice_restart, true);
	await pages.agent.page.evaluate((sdp) => window.answer(sdp), r.answer);
	const s = await flowing('agent', before.video.frames, before.audio.samples);
	assert.equal(s.state, 'connected');
	await flowing('customer');
	const now = (await ctl.ok('stats', { room: 'call' })).rooms[0].participants
	    .find((p) => p.participant === 'agent');
	assert.equal(now.state, 'connected');
	assert.equal(now.tracks[1].out.ssrc, old.tracks[1].out.ssrc, 'our SSRC did not change');
	// The new answer names the relay itself, not the test's UDP hop.
	assert.notEqual(now.address, old.address, 'the restarted ICE moved to the new path');
});

test('whisper: a second audio m-line on the agent carries the supervisor, the customer never does', async () => {
	await join('supervisor');
	await ctl.event((e) => e.event === 'participant.connected' && e.participant === 'supervisor');
	const offer = await pages.agent.page.evaluate(() => window.reoffer({ addAudio: true }));
	const r = await ctl.ok('participant.update', { room: 'call', participant: 'agent', offer });
	assert.equal(r.ice_restart, false);
	assert.match(r.answer, /a=mid:2\r\na=sendonly/);
	await pages.agent.page.evaluate((sdp) => window.answer(sdp), r.answer);
	await ctl.ok('forward.set', { room: 'call', rules: [
		{ to: 'agent', mid: '2', from: 'supervisor', from_mid: '0' },
	] });
	const end = Date.now() + 20000;
	let s;
	do {
		await sleep(300);
		s = await stats('agent');
	} while (!(s.mids['2']?.samples > 48000) && Date.now() < end);
	assert.ok(s.mids['2']?.samples > 48000, `agent hears the supervisor: ${JSON.stringify(s.mids)}`);
	const st = await ctl.ok('stats', { room: 'call' });
	const cust = st.rooms[0].participants.find((p) => p.participant === 'customer');
	assert.ok(cust.tracks.every((t) => t.out.source?.participant !== 'supervisor'),
	    'the customer receives nothing from the supervisor');
	const c = await stats('customer');
	assert.deepEqual(Object.keys(c.mids).sort(), ['0', '1'], 'the customer has only its two m-lines');
	await ctl.ok('forward.set', { room: 'call', rules: [{ to: 'agent', mid: '2', from: null }] });
});

test('a screen share from the customer reaches the agent on its own m-line', async () => {
	const share = await pages.customer.page.evaluate(() => window.addVideo(true));
	let r = await ctl.ok('participant.update', { room: 'call', participant: 'customer', offer: share.sdp });
	assert.match(r.answer, new RegExp(`a=mid:${share.mid}\\r\\na=recvonly`));
	await pages.customer.page.evaluate((sdp) => window.answer(sdp), r.answer);
	const view = await pages.agent.page.evaluate(() => window.addVideo(false));
	r = await ctl.ok('participant.update', { room: 'call', participant: 'agent', offer: view.sdp });
	await pages.agent.page.evaluate((sdp) => window.answer(sdp), r.answer);
	await ctl.ok('forward.set', { room: 'call', rules: [
		{ to: 'agent', mid: view.mid, from: 'customer', from_mid: share.mid },
	] });
	const end = Date.now() + 20000;
	let s;
	do {
		await sleep(300);
		s = await stats('agent');
	} while (!(s.mids[view.mid]?.frames > 10) && Date.now() < end);
	assert.ok(s.mids[view.mid]?.frames > 10, `screen frames decoded: ${JSON.stringify(s.mids)}`);
	assert.ok(s.mids['1'].frames > 10, 'the camera still decodes too');
});

test('a browser that goes away is reported, the others keep going', async () => {
	await pages.supervisor.ctx.close();
	const e = await ctl.event((ev) => ev.event === 'participant.disconnected' && ev.participant === 'supervisor', 15000);
	assert.ok(['consent', 'dtls_closed'].includes(e.reason), e.reason);
	await ctl.ok('participant.remove', { room: 'call', participant: 'supervisor' });
	const a = await stats('agent');
	await flowing('agent', a.video.frames, a.audio.samples);
	await ctl.ok('room.destroy', { room: 'call' });
	const st = await ctl.ok('stats');
	assert.deepEqual(st.rooms, []);
});

test('the relay stops cleanly and the sanitizers saw nothing', async () => {
	relay.kill('SIGTERM');
	const code = await new Promise((r) => relay.once('exit', (c) => r(c)));
	assert.equal(code, 0, relayLog.slice(-3000));
	assert.doesNotMatch(relayLog, /AddressSanitizer|runtime error|LeakSanitizer/, relayLog.slice(-3000));
});
