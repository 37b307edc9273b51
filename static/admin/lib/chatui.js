// Small pieces shared by the console and the supervisor page.

import { h } from './ui.js';
import { t } from './i18n.js';

// Text with web links made clickable; everything else stays text (never HTML).
const LINK = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;
export function renderText(text) {
	const frag = document.createDocumentFragment();
	const s = String(text ?? '');
	let at = 0;
	for (const m of s.matchAll(LINK)) {
		frag.append(s.slice(at, m.index));
		frag.append(h('a', { href: m[0], target: '_blank', rel: 'noopener noreferrer nofollow' }, m[0]));
		at = m.index + m[0].length;
	}
	frag.append(s.slice(at));
	return frag;
}

export function presenceDot(presence) {
	return h('span', { class: `presence presence--${presence || 'offline'}`, 'aria-hidden': 'true' });
}

// Canned reply placeholders: {{customer.name}}, {{agent.name}}, {{site.name}}.
export function fillCanned(body, { customer, agent, site }) {
	const v = { 'customer.name': customer || t('console.customer'), 'agent.name': agent || '',
	    'site.name': site || '' };
	return String(body).replace(/\{\{\s*([a-z]+\.[a-z]+)\s*\}\}/g, (all, k) => (k in v ? v[k] : all));
}

export function ensureCss(href) {
	if (!document.querySelector(`link[href="${href}"]`))
		document.head.append(h('link', { rel: 'stylesheet', href }));
}

// A short two-tone ring; browsers allow it once the page had a user gesture.
let audio = null;
export function beep() {
	try {
		audio = audio || new AudioContext();
		const now = audio.currentTime;
		for (const [f, at] of [[880, 0], [660, 0.18]]) {
			const o = audio.createOscillator();
			const g = audio.createGain();
			o.frequency.value = f;
			g.gain.setValueAtTime(0.0001, now + at);
			g.gain.exponentialRampToValueAtTime(0.2, now + at + 0.02);
			g.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.16);
			o.connect(g).connect(audio.destination);
			o.start(now + at);
			o.stop(now + at + 0.17);
		}
	} catch { /* no sound: the visual ring remains */ }
}

// setInterval that stops when the page is left.
export function ticker(ms, fn) {
	const id = setInterval(fn, ms);
	addEventListener('pagehide', () => clearInterval(id), { once: true });
	return id;
}
