// DOM helpers for the chat panel.
//
// The rules of the staff UI (static/admin/lib/ui.js) hold here too: data
// reaches the DOM only as text nodes and attribute values, never through
// innerHTML; no inline style attributes (the panel's CSP is style-src 'self').

const BOOL_PROPS = new Set(['disabled', 'hidden', 'required', 'readOnly', 'autofocus']);
const PROPS = new Set(['value', 'type', 'name', 'id', 'placeholder', 'href', 'title', 'rows',
    'maxLength', 'autocomplete', 'tabIndex', 'rel', 'target', 'lang', 'dir', 'dateTime']);

function append(el, child) {
	if (child === null || child === undefined || child === false || child === true)
		return;
	if (Array.isArray(child)) {
		for (const c of child)
			append(el, c);
		return;
	}
	el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
}

// h('button', {class: 'btn', onClick: fn, 'aria-label': 'x'}, 'text', node …)
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k === 'style')
			throw new Error('inline style is not allowed; use a class');
		if (k === 'class')
			el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
		else if (k === 'for')
			el.htmlFor = v;
		else if (k.startsWith('on') && typeof v === 'function')
			el.addEventListener(k.slice(2).toLowerCase(), v);
		else if (BOOL_PROPS.has(k))
			el[k] = Boolean(v);
		else if (PROPS.has(k))
			el[k] = v;
		else
			el.setAttribute(k, v === true ? '' : String(v));
	}
	append(el, children);
	return el;
}

export function clear(el) {
	while (el.firstChild)
		el.removeChild(el.firstChild);
	return el;
}

// Line icons on a 24-unit grid (after Feather, MIT). Decorative.
const ICONS = {
	close: ['M18 6L6 18M6 6l12 12'],
	more: ['M12 13a1 1 0 1 0 0-2 1 1 0 0 0 0 2z', 'M19 13a1 1 0 1 0 0-2 1 1 0 0 0 0 2z',
	    'M5 13a1 1 0 1 0 0-2 1 1 0 0 0 0 2z'],
	send: ['M22 2L11 13', 'M22 2l-7 20-4-9-9-4 20-7z'],
	alert: ['M12 8v4M12 16h.01', 'M22 12a10 10 0 1 1-20 0 10 10 0 0 1 20 0z'],
	check: ['M20 6L9 17l-5-5'],
	clock: ['M12 6v6l4 2', 'M22 12a10 10 0 1 1-20 0 10 10 0 0 1 20 0z'],
	// Calls (issue 4)
	phone: ['M22 16.92v3a2 2 0 0 1-2.18 2 19.79 19.79 0 0 1-8.63-3.07 19.5 19.5 0 0 1-6-6 19.79 19.79 0 0 1-3.07-8.67A2 2 0 0 1 4.11 2h3a2 2 0 0 1 2 1.72 12.84 12.84 0 0 0 .7 2.81 2 2 0 0 1-.45 2.11L8.09 9.91a16 16 0 0 0 6 6l1.27-1.27a2 2 0 0 1 2.11-.45 12.84 12.84 0 0 0 2.81.7A2 2 0 0 1 22 16.92z'],
	video: ['M23 7l-7 5 7 5V7z', 'M3 5h11a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2z'],
	chat: ['M21 11.5a8.38 8.38 0 0 1-.9 3.8 8.5 8.5 0 0 1-7.6 4.7 8.38 8.38 0 0 1-3.8-.9L3 21l1.9-5.7a8.38 8.38 0 0 1-.9-3.8 8.5 8.5 0 0 1 4.7-7.6 8.38 8.38 0 0 1 3.8-.9h.5a8.48 8.48 0 0 1 8 8v.5z'],
};
const SVGNS = 'http://www.w3.org/2000/svg';

export function icon(name, cls = '') {
	const svg = document.createElementNS(SVGNS, 'svg');
	for (const [k, v] of [['viewBox', '0 0 24 24'], ['fill', 'none'], ['stroke', 'currentColor'],
	    ['stroke-width', '2'], ['stroke-linecap', 'round'], ['stroke-linejoin', 'round'],
	    ['aria-hidden', 'true'], ['focusable', 'false'], ['class', `icon ${cls}`.trim()]])
		svg.setAttribute(k, v);
	for (const d of ICONS[name] || []) {
		const p = document.createElementNS(SVGNS, 'path');
		p.setAttribute('d', d);
		svg.appendChild(p);
	}
	return svg;
}

// Text with web addresses turned into links, as DOM nodes. Only http and
// https become links; everything else (javascript:, data:, mailto: …) stays
// text. The link text is the address as written, so what the customer
// sees is where it goes. Trailing punctuation is left out of the address, and a closing
// bracket only when the address has no matching opening one.
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;

export function linkify(text, newTabHint) {
	const out = [];
	let last = 0;
	for (const m of text.matchAll(URL_RE)) {
		let raw = m[0];
		for (;;) {
			const ch = raw.at(-1);
			if ('.,;:!?\'"’”'.includes(ch)) {
				raw = raw.slice(0, -1);
			} else if (ch === ')' && count(raw, '(') < count(raw, ')')) {
				raw = raw.slice(0, -1);
			} else if (ch === ']' && count(raw, '[') < count(raw, ']')) {
				raw = raw.slice(0, -1);
			} else {
				break;
			}
		}
		let url = null;
		try {
			url = new URL(raw);
		} catch {
			url = null;
		}
		// user:password@ can dress one site up as another: left as text.
		if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname ||
		    url.username || url.password)
			continue;
		if (m.index > last)
			out.push(text.slice(last, m.index));
		out.push(h('a', { href: url.href, rel: 'noopener noreferrer', target: '_blank' }, raw,
		    newTabHint ? h('span', { class: 'vh' }, ' ' + newTabHint) : null));
		last = m.index + raw.length;
	}
	if (last < text.length)
		out.push(text.slice(last));
	return out;
}

function count(s, ch) {
	let n = 0;
	for (const c of s)
		if (c === ch)
			n++;
	return n;
}
