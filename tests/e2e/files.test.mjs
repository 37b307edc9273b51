// Files in the customer chat (W7) and the transcript menu (W8) in a real
// browser: on the demo bank's page (its own origin) the customer opens the
// chat, attaches a file with the keyboard-reachable button, sees it as a card
// with a download link; a refused file gives a clear message; an adviser's
// image shows as a thumbnail; the menu offers the transcript. axe-core checks
// the panel at 320 px; screenshots go to tests/e2e/out/.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, axeCheck, screenshot, login, goto, BASE, TIMEOUT, OUT } from './lib.mjs';
import { sql, newOrg } from '../lib/vb.mjs';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const DEMO = BASE.replace('127.0.0.1', '127.0.0.2') + '/';
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function panelFrame(page) {
	const end = Date.now() + TIMEOUT;
	for (;;) {
		const f = page.frames().find((x) => !x.isDetached() && x.url().startsWith(`${BASE}/widget/panel`));
		if (f)
			return f;
		if (Date.now() > end)
			throw new Error('no chat panel frame');
		await new Promise((r) => setTimeout(r, 50));
	}
}

// Playwright turns on file-chooser interception when asked to wait for one;
// an action racing that first switch is retried.
async function choose(page, action, files) {
	for (let i = 0; i < 3; i++) {
		const wait = page.waitForEvent('filechooser', { timeout: 4000 });
		await action();
		try {
			await (await wait).setFiles(files);
			return;
		} catch { /* try again */ }
	}
	throw new Error('the file chooser never opened');
}

async function openChat(page) {
	await page.goto(DEMO);
	await page.locator('#vb-widget').waitFor({ state: 'attached' });
	for (let i = 0; i < 20; i++) {
		await page.keyboard.press('Tab');
		if (await page.evaluate(() => document.activeElement?.id) === 'vb-widget')
			break;
	}
	await page.keyboard.press('Enter');
	const frame = await panelFrame(page);
	await frame.locator('.panel[data-state="online"]').waitFor();
	return frame;
}

test('the customer attaches a file on the demo page; it shows with a download link; axe-clean at 320 px', async () => {
	const { page } = await newPage(browser, { width: 320, height: 640 });
	const frame = await openChat(page);
	const attach = frame.getByRole('button', { name: 'Attach a file' });
	await attach.waitFor();

	// The attach button is reachable with the keyboard and opens the picker.
	await frame.locator('#vb-input').focus();
	await page.keyboard.press('Shift+Tab');
	assert.equal(await frame.evaluate(() => document.activeElement?.id), 'vb-attach');
	await choose(page, () => attach.press('Enter'), { name: 'statement <march>.pdf', mimeType: 'application/pdf',
	    buffer: Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n') });

	const card = frame.locator('.row--me .file-card');
	await card.waitFor();
	assert.equal(await card.locator('.file-card__name').textContent(), 'statement <march>.pdf');
	assert.match(await card.locator('.file-card__meta').textContent(), /^PDF, \d+ bytes$/);
	const link = card.locator('a.file-card__download');
	assert.equal(await link.getAttribute('aria-label'), 'Download statement <march>.pdf');
	const href = await link.getAttribute('href');
	assert.match(href, /^\/api\/files\/\d+\?token=/);
	// The link serves the file, as an attachment.
	const res = await frame.evaluate(async (u) => {
		const r = await fetch(u);
		return { status: r.status, cd: r.headers.get('content-disposition'), body: await r.text() };
	}, href);
	assert.equal(res.status, 200);
	assert.match(res.cd, /^attachment;/);
	assert.match(res.body, /^%PDF-1\.4/);
	const conv = await page.evaluate(() => JSON.parse(sessionStorage.getItem('vb.session')).conversation_id);
	assert.equal(sql(`SELECT name || ':' || mime_type FROM files WHERE conversation_id = ${conv}`),
	    'statement <march>.pdf:application/pdf');

	// A disguised file is refused with a clear message, and nothing is stored.
	await choose(page, () => attach.click(), { name: 'invoice.pdf', mimeType: 'application/pdf',
	    buffer: Buffer.from('<!DOCTYPE html><html><body><script>alert(1)</script></body></html>') });
	await frame.getByText('invoice.pdf cannot be sent: this type of file is not accepted here.').waitFor();
	assert.equal(sql(`SELECT count(*) FROM files WHERE conversation_id = ${conv}`), '1');

	// An image appears as a thumbnail, served inline.
	await frame.evaluate(async ({ conv, png }) => {
		// As the customer again: a second file, an image this time.
		const tok = document.getElementById('vb-transcript').href.split('token=')[1];
		await fetch(`/api/conversations/${conv}/files?name=photo.png`, { method: 'POST',
		    headers: { authorization: 'Bearer ' + decodeURIComponent(tok) },
		    body: Uint8Array.from(atob(png), (c) => c.charCodeAt(0)) });
	}, { conv, png: PNG.toString('base64') });
	const thumb = frame.locator('.file-thumb img');
	await thumb.waitFor();
	assert.equal(await thumb.getAttribute('alt'), 'Image: photo.png');
	assert.match(await thumb.getAttribute('src'), /inline=1/);
	await frame.waitForFunction(() => document.querySelector('.file-thumb img')?.naturalWidth === 1);

	// Files dropped on the panel are sent too.
	await frame.evaluate(() => {
		const dt = new DataTransfer();
		dt.items.add(new File(['Dropped notes\n'], 'dropped.txt', { type: 'text/plain' }));
		const panel = document.querySelector('.panel');
		panel.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
		panel.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
	});
	await frame.locator('.row--me .file-card__name', { hasText: 'dropped.txt' }).waitFor();
	assert.equal(await frame.locator('.panel--drop').count(), 0);
	assert.equal(sql(`SELECT mime_type FROM files WHERE conversation_id = ${conv} AND name = 'dropped.txt'`), 'text/plain');

	// The panel menu offers the transcript.
	await frame.getByRole('button', { name: 'Chat options' }).click();
	const item = frame.getByRole('link', { name: 'Download transcript' });
	await item.waitFor();
	assert.match(await item.getAttribute('href'), new RegExp(`/api/conversations/${conv}/transcript\\?token=`));
	await screenshot(page, 'files-320-menu');
	await frame.locator('.panel').screenshot({ path: `${OUT}/files-320-panel-menu.png` });
	await axeCheck(frame, 'the chat panel with files and the menu open');
	await page.keyboard.press('Escape');
	assert.equal(await frame.locator('#vb-menu').isHidden(), true);

	// The transcript zip's page reads well on its own: escaped, linked, accessible.
	const zipB64 = await frame.evaluate(async (u) => {
		const b = new Uint8Array(await (await fetch(u)).arrayBuffer());
		let s = '';
		for (const x of b) s += String.fromCharCode(x);
		return btoa(s);
	}, await frame.locator('#vb-transcript').getAttribute('href'));
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vbtr-'));
	fs.writeFileSync(path.join(dir, 't.zip'), Buffer.from(zipB64, 'base64'));
	const html = execFileSync('unzip', ['-p', path.join(dir, 't.zip'), 'transcript.html'], { encoding: 'utf8' });
	fs.rmSync(dir, { recursive: true });
	assert.match(html, /statement &lt;march&gt;\.pdf/);
	const { page: tp } = await newPage(browser, { width: 800, height: 700 });
	await tp.setContent(html);
	assert.equal(await tp.locator('a', { hasText: 'statement <march>.pdf' }).count(), 1);
	await screenshot(tp, 'files-transcript');
	await axeCheck(tp, 'the transcript page');
	await screenshot(page, 'files-320');
	await frame.locator('.panel').screenshot({ path: `${OUT}/files-320-panel.png` });
	await axeCheck(frame, 'the chat panel with files at 320 px');
});

test('an administrator sets a site\'s file limits on the sites page; audited; axe-clean', async () => {
	const org = await newOrg('FilesAdmin');
	const r = await org.admin.post('/api/sites', { name: 'Harbour Bank', allowed_origins: ['https://bank.example'] });
	const siteId = r.json.site.id;
	const { page } = await newPage(browser, { width: 1280, height: 900 });
	await login(page, org.email, org.password);
	await goto(page, '/admin/sites');
	const section = page.locator('.site-files');
	await section.getByText('Files: up to 10 MB, 11 types').waitFor();
	await section.getByRole('button', { name: /Edit/ }).click();
	const dialog = page.locator('dialog[open]');
	await dialog.waitFor();
	await axeCheck(page, 'the file settings dialog');
	await dialog.getByLabel('Largest file (MB)').fill('60');
	await dialog.locator('#site-files-save').click();
	await dialog.getByText('Enter a size from 1 to 50 MB.').waitFor();
	await dialog.getByLabel('Largest file (MB)').fill('2');
	await dialog.getByLabel('GIF image').uncheck();
	await dialog.getByLabel('ZIP archive').check();
	await dialog.locator('#site-files-save').click();
	await section.getByText('Files: up to 2 MB, 11 types').waitFor();
	await section.getByText('ZIP archive').waitFor();
	const saved = JSON.parse(sql(`SELECT settings->'files' FROM sites WHERE id = ${siteId}`));
	assert.equal(saved.max_bytes, 2 * 1024 * 1024);
	assert.ok(saved.types.includes('application/zip') && !saved.types.includes('image/gif'));
	assert.equal(sql(`SELECT count(*) FROM audit_log WHERE action = 'site.files' AND object_id = '${siteId}'`), '1');
	await screenshot(page, 'files-admin-sites');
	await axeCheck(page, 'the sites page with file settings');
});
