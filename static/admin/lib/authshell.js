// Layout of the pages shown before or outside the signed-in chrome
// (/login, /password): a centred card under the product mark.

import { t } from './i18n.js';
import { h, clear, brandMark } from './ui.js';

export function authShell(root, { title, subtitle }) {
	clear(root);
	const titleEl = h('h1', { class: 'auth__title', id: 'auth-title' }, title);
	const subEl = h('p', { class: 'auth__subtitle', id: 'auth-subtitle' }, subtitle || '');
	const body = h('div', { class: 'auth__body' });
	const card = h('div', { class: 'auth__card', id: 'auth-card' }, titleEl, subEl, body);
	root.append(h('div', { class: 'auth__inner' },
	    h('div', { class: 'auth__brand' }, brandMark(), h('span', null, t('app.name'))),
	    card,
	    h('p', { class: 'auth__footer' }, t('auth.footer'))));
	return { card, body, titleEl, subEl };
}
