// Recording in the relay (S5, docs/media.md "record.start"): the
// sanitized vb-media alone (no Kore) and Chromium pages with fake camera and
// microphone. A call is recorded with its stereo mix, a third participant
// joins while it runs and leaves before the end; the relay reports one
// recording.file event per file, and the files are checked: they exist
// with the reported size and SHA-256, the Opus files last as long as the
// participant was there (opusinfo), the mix has two channels, the WebM
// files play in Chromium. Bad commands change nothing; room.destroy and
// SIGTERM finish the files of a running recording.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import dgram from 'node:dgram';
import crypto from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, statSync, readdirSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = process.env.VB_MEDIA_BIN ||
    (existsSync(path.join(ROOT, 'build-san/vb-media')) ? path.join(ROOT, 'build-san/vb-media')
	: path.join(ROOT, 'build/vb-media'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let relay, relayLog = '', dir, recdir, ctl, browser, server, ORIGIN, mediaPort, relayExit;
const pages = {};

class Control {
	constructor(sock) {
		this.sock = sock;
		this.next = 1;
		this.wait = new Map();
		this.events = [];
		this.buf = '';
		this.closed = new Promise((r) => sock.on('close', r));
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

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>record</title></head>
<body><main></main>
<script type="module">
window.setup = async () => {
	const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
	window.pc = pc;
	const s = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240, frameRate: 15 } });
	for (const t of s.getTracks()) pc.addTransceiver(t, { direction: 'sendrecv', streams: [s] });
	const o = await pc.createOffer();
	await pc.setLocalDescription(o);
	return o.sdp;
};
window.answer = (sdp) => window.pc.setRemoteDescription({ type: 'answer', sdp });
window.sent = async () => {
	let n = 0;
	(await window.pc.getStats()).forEach((r) => { if (r.type === 'outbound-rtp') n += r.packetsSent; });
	return n;
};
window.play = async (name) => {
	const el = document.createElement('video');
	el.muted = true;
	el.src = '/files/' + name;
	document.querySelector('main').append(el);
	const state = await new Promise((ok) => {
		el.onloadedmetadata = () => ok('loaded');
		el.onerror = () => ok('error: ' + (el.error && el.error.message));
		setTimeout(() => ok('timeout'), 10000);
	});
	const r = { state, duration: el.duration, width: el.videoWidth, height: el.videoHeight };
	el.remove();
	return r;
};
</script></body></html>`;

before(async () => {
	dir = mkdtempSync(path.join(tmpdir(), 'vbmediarec-'));
	recdir = path.join(dir, 'var', 'recordings', 'conv-1');
	mediaPort = await freeUdpPort();
	relay = spawn(BIN, [], {
		env: { ...process.env, VB_MEDIA_PORT: String(mediaPort), VB_MEDIA_BIND: '127.0.0.1',
		    VB_MEDIA_ADDR: '127.0.0.1', VB_MEDIA_SOCK: path.join(dir, 'media.sock'),
		    ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0', UBSAN_OPTIONS: 'print_stacktrace=1' },
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	relay.stdout.on('data', (d) => { relayLog += d; });
	relay.stderr.on('data', (d) => { relayLog += d; });
	relayExit = new Promise((r) => relay.once('exit', (c) => r(c)));
	for (let i = 0; i < 100 && !existsSync(path.join(dir, 'media.sock')); i++) await sleep(50);
	ctl = new Control(await connect(path.join(dir, 'media.sock')));
	// The page, and the recordings with byte ranges (<video> needs them).
	server = http.createServer((req, res) => {
		const m = /^\/files\/([^/]+)$/.exec(req.url);
		if (!m) {
			res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
			res.end(PAGE);
			return;
		}
		const file = path.join(recdir, decodeURIComponent(m[1]));
		const size = statSync(file).size;
		const r = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range || '');
		if (r) {
			const start = r[1] ? Number(r[1]) : size - Number(r[2]);
			const end = r[1] && r[2] ? Math.min(Number(r[2]), size - 1) : size - 1;
			res.writeHead(206, { 'content-type': 'video/webm', 'accept-ranges': 'bytes',
			    'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1 });
			createReadStream(file, { start, end }).pipe(res);
			return;
		}
		res.writeHead(200, { 'content-type': 'video/webm', 'accept-ranges': 'bytes', 'content-length': size });
		createReadStream(file).pipe(res);
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
	ctl?.sock.end();
	if (relay && relay.exitCode === null) {
		relay.kill('SIGTERM');
		await relayExit;
	}
	rmSync(dir, { recursive: true, force: true });
});

async function join(room, name) {
	const ctx = await browser.newContext();
	const page = await ctx.newPage();
	await page.goto(ORIGIN + '/');
	const offer = await page.evaluate(() => window.setup());
	const r = await ctl.ok('participant.add', { room, participant: name, offer });
	await page.evaluate((sdp) => window.answer(sdp), r.answer);
	pages[name] = { ctx, page };
	await ctl.event((e) => e.event === 'participant.connected' && e.room === room && e.participant === name);
	// Media flows from the browser to the relay.
	for (let i = 0; i < 100 && await page.evaluate(() => window.sent()) < 50; i++) await sleep(100);
	return page;
}

async function call(room, a, b) {
	await ctl.ok('room.create', { room });
	await join(room, a);
	await join(room, b);
	await ctl.ok('forward.set', { room, rules: [
		{ to: a, mid: '0', from: b, from_mid: '0' }, { to: a, mid: '1', from: b, from_mid: '1' },
		{ to: b, mid: '0', from: a, from_mid: '0' }, { to: b, mid: '1', from: a, from_mid: '1' },
	] });
}

const sha256 = (file) => crypto.createHash('sha256').update(readFileSync(file)).digest('hex');

// opusinfo: channels and playback length in seconds.
function opusinfo(file) {
	const run = spawnSync('opusinfo', [file], { encoding: 'utf8' });
	const out = run.stdout + run.stderr;
	// Passed-through RTP has no encoder delay: pre-skip 0 is intended
	// (rec_ogg.c), opusinfo warns about it; any other warning fails.
	const bad = out.split('\n').filter((l) => /WARNING|ERROR/.test(l) && !/low preskip/.test(l));
	assert.deepEqual(bad, [], out);
	const ch = /Channels: (\d+)/.exec(out);
	const len = /Playback length: (\d+)m:([\d.]+)s/.exec(out);
	assert.ok(ch && len, out);
	return { channels: Number(ch[1]), seconds: Number(len[1]) * 60 + Number(len[2]) };
}

// Every file event of a recording is consistent with the file on disk.
function checkFile(e, recording) {
	assert.equal(e.room, 'conv-1');
	assert.equal(e.recording, recording);
	assert.equal(path.dirname(e.path), recdir);
	assert.ok(existsSync(e.path), e.path);
	assert.ok(!existsSync(e.path + '.part'));
	assert.equal(statSync(e.path).size, e.bytes);
	assert.equal(sha256(e.path), e.sha256);
	assert.equal(e.mime, e.kind === 'video' ? 'video/webm' : 'audio/ogg');
	assert.match(path.basename(e.path), e.kind === 'video' ? /\.webm$/ : /\.ogg$/);
}

test('bad record commands are refused and change nothing', async () => {
	await ctl.ok('room.create', { room: 'conv-1' });
	const cases = [
		[{ room: 'nope', recording: 'r', dir: recdir }, 'not_found'],
		[{ room: 'conv-1', recording: 'r', dir: 'var/recordings' }, 'bad_request'],
		[{ room: 'conv-1', recording: 'r', dir: recdir + '/../x' }, 'bad_request'],
		[{ room: 'conv-1', recording: 'r', dir: recdir + '/./x' }, 'bad_request'],
		[{ room: 'conv-1', recording: 'r', dir: '/' + 'a'.repeat(1100) }, 'bad_request'],
		[{ room: 'conv-1', recording: 'r', dir: recdir + '\n' }, 'bad_request'],
		[{ room: 'conv-1', recording: 'r', dir: 42 }, 'bad_request'],
		[{ room: 'conv-1', recording: 'r' }, 'bad_request'],
		[{ room: 'conv-1', recording: '', dir: recdir }, 'bad_request'],
		[{ room: 'conv-1', recording: 'a b', dir: recdir }, 'bad_request'],
		[{ room: 'conv-1', recording: 'r', dir: recdir, mix: 'agent' }, 'bad_request'],
		[{ room: 'conv-1', recording: 'r', dir: recdir, mix: { left: 'agent' } }, 'bad_request'],
		[{ room: 'conv-1', recording: 'r', dir: recdir, mix: { left: 'agent', right: 'agent' } }, 'bad_request'],
	];
	for (const [args, code] of cases) {
		const r = await ctl.call('record.start', args);
		assert.equal(r.ok, false, JSON.stringify(args).slice(0, 100));
		assert.equal(r.error.code, code, JSON.stringify(args).slice(0, 100));
	}
	let r = await ctl.call('record.stop', { room: 'conv-1', recording: 'r' });
	assert.equal(r.error.code, 'not_found');
	r = await ctl.call('record.stop', { room: 'nope', recording: 'r' });
	assert.equal(r.error.code, 'not_found');
	assert.ok(!existsSync(path.join(dir, 'var')), 'no directory was created');
	const st = await ctl.ok('stats', { room: 'conv-1' });
	assert.deepEqual(st.rooms[0].recordings, []);
	assert.equal(ctl.events.filter((e) => e.event.startsWith('recording.')).length, 0);
	await ctl.ok('room.destroy', { room: 'conv-1' });
});

test('a call is recorded per participant and mixed; a later participant is recorded too', async () => {
	await call('conv-1', 'agent', 'customer');
	const t0 = Date.now();
	await ctl.ok('record.start', { room: 'conv-1', recording: 'rec-1', dir: recdir,
	    mix: { left: 'agent', right: 'customer' } });
	assert.equal(statSync(recdir).mode & 0o777, 0o750);
	let r = await ctl.call('record.start', { room: 'conv-1', recording: 'rec-1', dir: recdir });
	assert.equal(r.error.code, 'exists', 'the same id');
	r = await ctl.call('record.start', { room: 'conv-1', recording: 'rec-2', dir: recdir });
	assert.equal(r.error.code, 'exists', 'the room records already');
	const st = await ctl.ok('stats', { room: 'conv-1' });
	assert.equal(st.rooms[0].recordings.length, 1);
	assert.equal(st.rooms[0].recordings[0].recording, 'rec-1');
	assert.equal(st.rooms[0].recordings[0].streams, 4);
	assert.deepEqual(st.rooms[0].recordings[0].mix, { left: 'agent', right: 'customer' });
	// Files are being written (.part) and nothing is reported yet.
	assert.ok(readdirSync(recdir).every((f) => f.endsWith('.part')), readdirSync(recdir).join());
	await sleep(3000);
	// A supervisor joins while it runs, and leaves before the end: its
	// files end with it, the recording goes on.
	const t1 = Date.now();
	await join('conv-1', 'super');
	await sleep(2500);
	await ctl.ok('participant.remove', { room: 'conv-1', participant: 'super' });
	const t2 = Date.now();
	const sv = await ctl.event((e) => e.event === 'recording.file' && e.participant === 'super' && e.kind === 'audio');
	assert.ok(!ctl.events.some((e) => e.event === 'recording.done'));
	await pages.super.ctx.close();
	await sleep(2000);
	const stop = Date.now();
	r = await ctl.ok('record.stop', { room: 'conv-1', recording: 'rec-1' });
	const answered = Date.now() - stop;
	const done = await ctl.event((e) => e.event === 'recording.done' && e.recording === 'rec-1');
	assert.equal(done.failed, 0);
	assert.equal(done.files, 7);
	assert.ok(answered < 1000, `record.stop answered in ${answered} ms`);
	const files = ctl.events.filter((e) => e.event === 'recording.file' && e.recording === 'rec-1');
	console.log(JSON.stringify(files, null, 1));
	assert.equal(files.length, 7);
	const elapsed = (stop - t0) / 1000;
	for (const e of files) {
		checkFile(e, 'rec-1');
		assert.ok(e.started >= t0 - 1000 && e.started <= t2, `started ${e.started}`);
	}
	const by = (p, k) => files.find((e) => e.participant === p && e.kind === k);
	for (const p of ['agent', 'customer', 'super'])
		for (const k of ['audio', 'video'])
			assert.ok(by(p, k), `${p} ${k}`);
	const mix = files.find((e) => e.kind === 'mix');
	assert.equal(mix.participant, null);
	assert.equal(path.basename(mix.path), 'rec-1_mix.ogg');
	assert.equal(path.basename(by('agent', 'audio').path), 'rec-1_agent_0.ogg');
	assert.equal(path.basename(by('customer', 'video').path), 'rec-1_customer_1.webm');
	// Durations: the call's length for its parties, the supervisor's stay for it.
	for (const p of ['agent', 'customer']) {
		const a = by(p, 'audio');
		const info = opusinfo(a.path);
		assert.equal(info.channels, 1, `${p}: Chrome sends mono Opus`);
		assert.ok(Math.abs(info.seconds - elapsed) < 1.0, `${p}: ${info.seconds} s of ${elapsed} s`);
		assert.ok(Math.abs(a.duration_ms / 1000 - info.seconds) < 0.1, `${p}: ${a.duration_ms} ms`);
	}
	// The supervisor's files start at its first packet (after ICE and
	// DTLS) and end when it is removed.
	const stay = (t2 - sv.started) / 1000;
	assert.ok(sv.started >= t1, 'started after it joined');
	const sInfo = opusinfo(sv.path);
	assert.ok(Math.abs(sInfo.seconds - stay) < 1.0, `super: ${sInfo.seconds} s of ${stay}`);
	const mInfo = opusinfo(mix.path);
	assert.equal(mInfo.channels, 2, 'the mix is stereo');
	assert.ok(Math.abs(mInfo.seconds - elapsed) < 1.0, `mix: ${mInfo.seconds} s of ${elapsed} s`);
	// The WebM files play: 320x240, as long as the participant sent.
	const page = pages.agent.page;
	for (const [p, secs] of [['agent', elapsed], ['customer', elapsed], ['super', (t2 - by('super', 'video').started) / 1000]]) {
		const v = by(p, 'video');
		const pl = await page.evaluate((n) => window.play(n), path.basename(v.path));
		assert.equal(pl.state, 'loaded', `${p}: ${JSON.stringify(pl)}`);
		assert.equal(pl.width, 320);
		assert.equal(pl.height, 240);
		assert.ok(Math.abs(pl.duration - secs) < 1.2, `${p} video: ${pl.duration} s of ${secs} s`);
		assert.ok(Math.abs(v.duration_ms / 1000 - pl.duration) < 0.2, `${p}: ${v.duration_ms} ms`);
	}
	assert.deepEqual(readdirSync(recdir).sort(), files.map((e) => path.basename(e.path)).sort(),
	    'no .part left, nothing else');
	const after = await ctl.ok('stats', { room: 'conv-1' });
	assert.deepEqual(after.rooms[0].recordings, []);
});

test('room.destroy finishes the files of its running recording; the same id can record again', async () => {
	const before = ctl.events.length;
	await ctl.ok('record.start', { room: 'conv-1', recording: 'rec-1', dir: recdir });
	await sleep(1500);
	await ctl.ok('room.destroy', { room: 'conv-1' });
	const done = await ctl.event((e, i) => i >= before && e.event === 'recording.done' && e.recording === 'rec-1');
	assert.equal(done.files, 4);
	const files = ctl.events.slice(before).filter((e) => e.event === 'recording.file');
	assert.equal(files.length, 4);
	for (const e of files) {
		checkFile(e, 'rec-1');
		// The names of the first recording are taken: a suffix keeps both.
		assert.match(path.basename(e.path), /^rec-1_(agent|customer)_[01]_2\.(ogg|webm)$/);
	}
	for (const p of ['agent', 'customer'])
		await pages[p].ctx.close();
});

test('SIGTERM finishes the running recordings before the relay exits', async () => {
	await call('conv-1', 'agent2', 'customer2');
	await ctl.ok('record.start', { room: 'conv-1', recording: 'rec-3', dir: recdir,
	    mix: { left: 'agent2', right: 'customer2' } });
	await sleep(1500);
	const before = ctl.events.length;
	relay.kill('SIGTERM');
	await ctl.closed;
	const code = await relayExit;
	const evs = ctl.events.slice(before);
	const files = evs.filter((e) => e.event === 'recording.file');
	assert.equal(files.length, 5, JSON.stringify(evs));
	for (const e of files)
		checkFile(e, 'rec-3');
	assert.ok(evs.some((e) => e.event === 'recording.done' && e.recording === 'rec-3' && e.files === 5));
	assert.equal(code, 0, relayLog.slice(-3000));
	assert.doesNotMatch(relayLog, /AddressSanitizer|runtime error|LeakSanitizer/, relayLog.slice(-3000));
});
