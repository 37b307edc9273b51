// Files in a chat (W7) and the transcript link (W8): upload, check and
// render, framework-free and without DOM dependencies beyond the browser's,
// so both the customer panel (static/widget/panel.js) and the agent console
// import it. Data reaches the DOM only as text nodes and attribute values;
// no inline styles (CSS classes are in static/widget/panel.css: .file-card,
// .file-thumb, .file-progress — the console may style the same classes).
//
// Interface
//
//   uploadFile({ conversationId, file, name?, token?, csrf?, base?, onProgress? })
//     → { promise, abort }
//     Sends the File/Blob as the raw body of
//     POST {base}/api/conversations/{id}/files?name=…, authenticated by the
//     widget token (Authorization: Bearer) or, for staff, by the session
//     cookie plus the CSRF token (X-CSRF-Token). onProgress(fraction 0..1).
//     promise resolves to the stored message frame ({type:'message', seq,
//     meta:{file:{id,name,type,size}}, …}); it rejects with a FileError
//     {code, status, message}: code is the server's error code
//     (too_large, type_not_allowed, type_mismatch, empty_file, bad_name,
//     closed, files_disabled, rate_limited, …), 'network' or 'aborted'.
//
//   checkFile(file, settings) → null or an error code, before sending:
//     settings is {enabled, max_bytes, types} from
//     GET /api/conversations/{id}/files. The server decides in the end (it
//     sniffs the content); this only saves a pointless upload.
//
//   fileUrl(id, { token?, inline?, base? }) → the download address; with a
//     widget token it carries ?token= (the panel renders plain links).
//
//   transcriptUrl(conversationId, { token?, base? }) → the transcript zip.
//
//   renderAttachment(file, { t, token?, base?, lang? }) → Element: an image
//     thumbnail linked to the download for images, else a file card (type
//     icon, name, type and size, download link). file is meta.file of a
//     message. t(key, vars) translates the keys 'file.download',
//     'file.downloadName', 'file.image', 'file.type.<group>' (pdf, image,
//     text, sheet, doc, zip, other) and 'file.size.<unit>' (b, kb, mb).
//
//   formatSize(bytes, t, lang) → "12 KB", "1.4 MB".

export const FILE_TYPES = {
	'application/pdf': { group: 'pdf', exts: ['.pdf'] },
	'image/png': { group: 'image', exts: ['.png'], image: true },
	'image/jpeg': { group: 'image', exts: ['.jpg', '.jpeg'], image: true },
	'image/gif': { group: 'image', exts: ['.gif'], image: true },
	'image/webp': { group: 'image', exts: ['.webp'], image: true },
	'text/plain': { group: 'text', exts: ['.txt', '.text', '.log'] },
	'text/csv': { group: 'sheet', exts: ['.csv'] },
	'application/vnd.openxmlformats-officedocument.wordprocessingml.document': { group: 'doc', exts: ['.docx'] },
	'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { group: 'sheet', exts: ['.xlsx'] },
	'application/vnd.oasis.opendocument.text': { group: 'doc', exts: ['.odt'] },
	'application/vnd.oasis.opendocument.spreadsheet': { group: 'sheet', exts: ['.ods'] },
	'application/zip': { group: 'zip', exts: ['.zip'] },
};

export class FileError extends Error {
	constructor(code, status, message) {
		super(message || code);
		this.code = code;
		this.status = status;
	}
}

export function uploadFile({ conversationId, file, name, token, csrf, base = '', onProgress }) {
	const xhr = new XMLHttpRequest();
	const promise = new Promise((resolve, reject) => {
		const fname = name ?? file.name ?? 'file';
		xhr.open('POST', `${base}/api/conversations/${encodeURIComponent(conversationId)}` +
		    `/files?name=${encodeURIComponent(fname)}`);
		if (token)
			xhr.setRequestHeader('Authorization', `Bearer ${token}`);
		if (csrf)
			xhr.setRequestHeader('X-CSRF-Token', csrf);
		xhr.setRequestHeader('Content-Type', 'application/octet-stream');
		xhr.responseType = 'text';
		if (onProgress) {
			xhr.upload.addEventListener('progress', (e) => {
				if (e.lengthComputable && e.total > 0)
					onProgress(Math.min(1, e.loaded / e.total));
			});
		}
		xhr.addEventListener('load', () => {
			let body = null;
			try {
				body = JSON.parse(xhr.responseText);
			} catch {
				body = null;
			}
			if (xhr.status === 201 && body?.message) {
				resolve(body.message);
				return;
			}
			// Kore itself refuses bodies above its limit with a plain 413.
			const code = body?.error?.code || (xhr.status === 413 ? 'too_large' : 'generic');
			reject(new FileError(code, xhr.status, body?.error?.message));
		});
		xhr.addEventListener('error', () => reject(new FileError('network', 0)));
		xhr.addEventListener('abort', () => reject(new FileError('aborted', 0)));
		xhr.send(file);
	});
	return { promise, abort: () => xhr.abort() };
}

function extOf(name) {
	const i = String(name || '').lastIndexOf('.');
	return i > 0 ? name.slice(i).toLowerCase() : '';
}

export function checkFile(file, settings) {
	if (!settings || !settings.enabled)
		return 'files_disabled';
	if (!file || file.size === 0)
		return 'empty_file';
	if (Number.isFinite(settings.max_bytes) && file.size > settings.max_bytes)
		return 'too_large';
	// A name that says a type the site does not take is refused at once;
	// anything else is left to the server's sniffing.
	const ext = extOf(file.name);
	const named = Object.entries(FILE_TYPES).find(([, v]) => v.exts.includes(ext));
	if (named && Array.isArray(settings.types) && !settings.types.includes(named[0]) &&
	    !(named[0] === 'text/csv' && settings.types.includes('text/plain')) &&
	    !(named[0] === 'text/plain' && settings.types.includes('text/csv')))
		return 'type_not_allowed';
	return null;
}

export function fileUrl(id, { token, inline, base = '' } = {}) {
	const q = new URLSearchParams();
	if (token)
		q.set('token', token);
	if (inline)
		q.set('inline', '1');
	const s = q.toString();
	return `${base}/api/files/${encodeURIComponent(id)}${s ? '?' + s : ''}`;
}

export function transcriptUrl(conversationId, { token, base = '' } = {}) {
	return `${base}/api/conversations/${encodeURIComponent(conversationId)}/transcript` +
	    (token ? `?token=${encodeURIComponent(token)}` : '');
}

export function formatSize(bytes, t, lang) {
	const n = Number(bytes) || 0;
	const fmt = (v, d) => new Intl.NumberFormat(lang || undefined, { maximumFractionDigits: d }).format(v);
	if (n < 1024)
		return t('file.size.b', { n: fmt(n, 0) });
	if (n < 1024 * 1024)
		return t('file.size.kb', { n: fmt(n / 1024, n < 10240 ? 1 : 0) });
	return t('file.size.mb', { n: fmt(n / (1024 * 1024), 1) });
}

function el(tag, attrs, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k === 'class')
			e.className = v;
		else
			e.setAttribute(k, v === true ? '' : String(v));
	}
	for (const c of children.flat()) {
		if (c === null || c === undefined || c === false)
			continue;
		e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return e;
}

// Line icons on a 24-unit grid (after Feather, MIT). Decorative.
const ICON_PATHS = {
	file: ['M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z', 'M14 2v6h6'],
	text: ['M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z', 'M14 2v6h6', 'M16 13H8M16 17H8M10 9H8'],
	image: ['M5 3h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z', 'M8.5 10a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3z', 'M21 15l-5-5L5 21'],
	sheet: ['M5 3h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z', 'M3 9h18M3 15h18M9 3v18'],
	zip: ['M21 8v13H3V8', 'M1 3h22v5H1z', 'M10 12h4'],
	download: ['M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4', 'M7 10l5 5 5-5', 'M12 15V3'],
	paperclip: ['M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48'],
};

export function fileIcon(name, cls = '') {
	const ns = 'http://www.w3.org/2000/svg';
	const svg = document.createElementNS(ns, 'svg');
	for (const [k, v] of [['viewBox', '0 0 24 24'], ['fill', 'none'], ['stroke', 'currentColor'],
	    ['stroke-width', '2'], ['stroke-linecap', 'round'], ['stroke-linejoin', 'round'],
	    ['aria-hidden', 'true'], ['focusable', 'false'], ['class', `icon ${cls}`.trim()]])
		svg.setAttribute(k, v);
	for (const d of ICON_PATHS[name] || ICON_PATHS.file) {
		const p = document.createElementNS(ns, 'path');
		p.setAttribute('d', d);
		svg.appendChild(p);
	}
	return svg;
}

const GROUP_ICON = { pdf: 'text', doc: 'text', text: 'text', image: 'image', sheet: 'sheet', zip: 'zip' };

export function renderAttachment(file, { t, token, base = '', lang } = {}) {
	const info = FILE_TYPES[file?.type] || { group: 'other' };
	const name = String(file?.name ?? '');
	const href = fileUrl(file.id, { token, base });
	const typeLabel = t(`file.type.${info.group}`);
	const details = `${typeLabel}, ${formatSize(file.size, t, lang)}`;
	if (info.image) {
		return el('figure', { class: 'file-thumb' },
		    el('a', { href, download: name, class: 'file-thumb__link',
			'aria-label': t('file.downloadName', { name }) },
			el('img', { src: fileUrl(file.id, { token, inline: true, base }),
			    alt: t('file.image', { name }), loading: 'lazy', class: 'file-thumb__img' })),
		    el('figcaption', { class: 'file-thumb__caption' },
			el('span', { class: 'file-card__name', dir: 'auto' }, name), ' ',
			el('span', { class: 'file-card__meta' }, details)));
	}
	return el('div', { class: 'file-card' },
	    el('span', { class: `file-card__icon file-card__icon--${info.group}` },
		fileIcon(GROUP_ICON[info.group] || 'file')),
	    el('span', { class: 'file-card__body' },
		el('span', { class: 'file-card__name', dir: 'auto' }, name),
		el('span', { class: 'file-card__meta' }, details)),
	    el('a', { href, download: name, class: 'file-card__download',
		'aria-label': t('file.downloadName', { name }) },
		fileIcon('download'), el('span', { class: 'file-card__dl-text' }, t('file.download'))));
}
