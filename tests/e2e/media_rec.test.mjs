// Recordings play in Chromium (S5): the recording library's unit test
// (tests/unit/media_rec_test.c, real libopus and libvpx streams with loss,
// gaps, reordering) is built and run keeping its files, which are then
// served with byte ranges (as a browser needs to find an Ogg file's
// duration) and played in <audio> and <video>.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, createReadStream, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, newPage } from './lib.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TYPES = { ogg: 'audio/ogg', webm: 'video/webm' };
let browser, page, server, port, work, files;

function serve(dir) {
	return http.createServer((req, res) => {
		const name = path.basename(req.url);
		const file = path.join(dir, name);
		if (!/^[a-z]+\.(ogg|webm)$/.test(name) || !existsSync(file)) {
			res.writeHead(200, { 'content-type': 'text/html' });
			res.end('<!doctype html><title>recordings</title><main></main>');
			return;
		}
		const size = statSync(file).size;
		const type = TYPES[name.split('.').pop()];
		const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range || '');
		if (m) {
			const start = m[1] ? Number(m[1]) : size - Number(m[2]);
			const end = m[1] && m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
			res.writeHead(206, { 'content-type': type, 'accept-ranges': 'bytes',
			    'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1 });
			createReadStream(file, { start, end }).pipe(res);
			return;
		}
		res.writeHead(200, { 'content-type': type, 'accept-ranges': 'bytes', 'content-length': size });
		createReadStream(file).pipe(res);
	});
}

before(async () => {
	work = mkdtempSync(path.join(tmpdir(), 'vb-media-rec-'));
	const bin = path.join(work, 'media_rec_test');
	const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'opus', 'ogg', 'opusfile',
	    'libavformat', 'libavcodec', 'libavutil', 'vpx', 'libcrypto'], { encoding: 'utf8' }).trim().split(/\s+/);
	const srcs = execFileSync('sh', ['-c', 'ls modules/media/rec*.c'], { cwd: root, encoding: 'utf8' })
	    .trim().split('\n');
	execFileSync('cc', ['-std=gnu11', '-O1', '-Iapp', '-Itests/unit', '-o', bin,
	    'tests/unit/media_rec_test.c', ...srcs, ...flags, '-lpthread', '-lm'], { cwd: root });
	const run = spawnSync(bin, { env: { ...process.env, MEDIA_REC_KEEP: '1' }, encoding: 'utf8' });
	assert.equal(run.status, 0, run.stdout + run.stderr);
	assert.doesNotMatch(run.stdout, /^not ok/m);
	files = /files kept in (\S+)/.exec(run.stderr)?.[1];
	assert.ok(files, run.stderr);
	server = serve(files);
	await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
	port = server.address().port;
	browser = await launch();
	({ page } = await newPage(browser));
	await page.goto(`http://127.0.0.1:${port}/`);
});

after(async () => {
	await browser?.close();
	server?.close();
	if (work)
		rmSync(work, { recursive: true, force: true });
	if (files)
		rmSync(files, { recursive: true, force: true });
});

async function play(name, video) {
	return page.evaluate(async ({ name, video }) => {
		const el = document.createElement(video ? 'video' : 'audio');
		el.muted = true;
		el.src = `/${name}`;
		document.querySelector('main').append(el);
		const state = await new Promise((ok) => {
			el.onloadedmetadata = () => ok('loaded');
			el.onerror = () => ok(`error: ${el.error && el.error.message}`);
			setTimeout(() => ok('timeout'), 10000);
		});
		if (state !== 'loaded')
			return { state };
		const duration = el.duration;
		await el.play();
		await new Promise((ok) => setTimeout(ok, 600));
		const r = { state, duration, played: el.currentTime, width: el.videoWidth || 0,
		    height: el.videoHeight || 0, error: el.error ? el.error.message : null,
		    frames: el.getVideoPlaybackQuality ? el.getVideoPlaybackQuality().totalVideoFrames : 0 };
		el.pause();
		el.remove();
		return r;
	}, { name, video });
}

test('Opus recording with a lost packet and a 2 s gap plays for 5 s', async () => {
	const r = await play('a.ogg', false);
	assert.equal(r.state, 'loaded');
	assert.equal(r.duration, 5);
	assert.ok(r.played > 0.2, `played ${r.played}`);
	assert.equal(r.error, null);
});

test('the stereo compliance mix plays for 3.5 s', async () => {
	const r = await play('mix.ogg', false);
	assert.equal(r.state, 'loaded');
	assert.ok(Math.abs(r.duration - 3.5) < 0.03, `duration ${r.duration}`);
	assert.ok(r.played > 0.2, `played ${r.played}`);
});

test('the VP8 WebM plays: 320x240, 1.97 s, frames decoded', async () => {
	const r = await play('v.webm', true);
	assert.equal(r.state, 'loaded');
	assert.equal(r.width, 320);
	assert.equal(r.height, 240);
	assert.ok(Math.abs(r.duration - 1.966) < 0.05, `duration ${r.duration}`);
	assert.ok(r.played > 0.2 && r.frames > 3, `played ${r.played}, ${r.frames} frames`);
	assert.equal(r.error, null);
});
