// "Leave us a message" (W18): when nobody can answer — the chosen queue is
// closed (business hours) or no agent is at a console — the panel offers,
// above the composer, to leave a message instead of waiting for nobody.
// Taking the offer opens a form (name, e-mail address, message) in place of
// the composer; POST /api/widget/offline (widget token) stores the message
// in this conversation, and agents see it in their follow-up list.
//
// new OfflineForm({ onShow(formShown) }) → .el goes in the panel;
// start(token, conv, offer) asks GET /api/widget/status, tells onUnread(n)
// the staff messages not seen yet (W2) and, when offer, makes the offer if
// nobody can answer; sent(subjectId) after the first message with a subject
// makes it when that subject's team is closed.

import { h, clear } from './dom.js';
import { t } from './i18n.js';

const NAME_MAX = 200;
const TEXT_MAX = 4000;
const EMAIL = /^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/;

function field(id, label, input, hint) {
	const err = h('p', { class: 'auth__error', id: `${id}-error` });
	input.id = id;
	input.setAttribute('aria-describedby', [hint && `${id}-hint`, `${id}-error`].filter(Boolean).join(' '));
	const el = h('div', { class: 'offline__field' },
	    h('label', { class: 'auth__label', for: id }, label),
	    hint ? h('p', { class: 'auth__hint', id: `${id}-hint` }, hint) : null, input, err);
	return { el, input, error(msg) {
		err.textContent = msg || '';
		if (msg)
			input.setAttribute('aria-invalid', 'true');
		else
			input.removeAttribute('aria-invalid');
		return Boolean(msg);
	} };
}

// W2: POST /api/widget/read, at most once a second, for the highest seq shown.
let readTimer = null;
let readSent = 0;
let readWant = 0;
export function readUpTo(token, conv, seq) {
	readWant = Math.max(readWant, seq);
	if (readWant <= readSent || readTimer)
		return;
	readTimer = setTimeout(() => {
		readTimer = null;
		const upTo = readWant;
		readSent = upTo;
		fetch('/api/widget/read', { method: 'POST', headers: { authorization: `Bearer ${token}`,
		    'content-type': 'application/json' }, body: JSON.stringify({ conversation_id: conv, seq: upTo }) })
		    .catch(() => { readSent = 0; });
	}, 1000);
}

export class OfflineForm {
	constructor({ onShow, onUnread } = {}) {
		this.onShow = onShow || (() => {});
		this.onUnread = onUnread || (() => {});
		this.status = null;
		this.token = null;
		this.conv = null;
		this.subjectId = null;
		this.el = h('section', { class: 'offline', id: 'vb-offline', hidden: true,
		    'aria-labelledby': 'vb-offline-title' });
	}

	async start(token, conv, offer = true) {
		this.token = token;
		this.conv = conv;
		try {
			const r = await fetch('/api/widget/status', { headers: { authorization: `Bearer ${token}` } });
			if (!r.ok)
				return;
			this.status = await r.json();
		} catch {
			return;
		}
		const s = this.status;
		this.onUnread(Number.isSafeInteger(s.unread) ? s.unread : 0);
		if (!offer || s.thread)
			return;
		const subs = Array.isArray(s.subjects) ? s.subjects : [];
		const closed = subs.length ? subs.every((x) => x.open === false) : s.open === false;
		if (!s.agents || closed)
			this.offer(closed ? 'closed' : 'away', null);
	}

	// After the first message with a subject: offer when its team is closed.
	sent(id) {
		const sub = (this.status?.subjects || []).find((x) => x.id === id);
		if (sub && sub.open === false && this.el.hidden)
			this.offer('closed', id);
	}

	offer(reason, subject) {
		this.reason = reason;
		this.subjectId = subject;
		clear(this.el);
		const take = h('button', { type: 'button', class: 'btn', id: 'vb-offline-open' }, t('offline.title'));
		take.addEventListener('click', () => this.show());
		this.el.append(
		    h('h2', { class: 'offline__title', id: 'vb-offline-title' }, t(reason === 'closed' ? 'offline.closedTitle' : 'offline.awayTitle')),
		    h('p', { class: 'offline__why' }, t(reason === 'closed' ? 'offline.closed' : 'offline.away')),
		    h('div', { class: 'offline__offer' }, take));
		this.el.hidden = false;
		this.onShow(false);
	}

	// Someone answers after all: the offer goes (a form being filled in stays).
	withdraw() {
		if (this.el.hidden || this.el.querySelector('form'))
			return;
		clear(this.el);
		this.el.hidden = true;
	}

	show() {
		clear(this.el);
		const name = field('vb-offline-name', t('offline.name'), h('input', { type: 'text',
		    class: 'auth__input', autocomplete: 'name', maxLength: NAME_MAX, required: true }));
		const email = field('vb-offline-email', t('offline.email'), h('input', { type: 'email',
		    class: 'auth__input', autocomplete: 'email', maxLength: 254, required: true,
		    spellcheck: 'false' }), t('offline.emailHint'));
		const msg = field('vb-offline-text', t('offline.message'), h('textarea', {
		    class: 'auth__input offline__text', rows: 4, maxLength: TEXT_MAX, required: true }));
		const formError = h('p', { class: 'auth__error', role: 'alert' });
		const button = h('button', { type: 'submit', class: 'btn', id: 'vb-offline-send' }, t('offline.send'));
		const cancel = h('button', { type: 'button', class: 'auth__link', id: 'vb-offline-cancel' }, t('offline.cancel'));
		cancel.addEventListener('click', () => {
			this.offer(this.reason, this.subjectId);
			this.el.querySelector('#vb-offline-open').focus();
		});
		const form = h('form', { class: 'auth auth__form offline__form', novalidate: true },
		    name.el, email.el, msg.el, formError, h('div', { class: 'offline__buttons' }, button, cancel));
		form.addEventListener('submit', (e) => {
			e.preventDefault();
			this.send({ name, email, msg, formError, button });
		});
		this.el.append(
		    h('h2', { class: 'offline__title', id: 'vb-offline-title' }, t('offline.title')),
		    h('p', { class: 'offline__why' }, t('offline.formHint')),
		    form);
		this.el.hidden = false;
		this.onShow(true);
		name.input.focus();
	}

	async send({ name, email, msg, formError, button }) {
		if (button.disabled)
			return;
		const v = { name: name.input.value.trim(), email: email.input.value.trim(), message: msg.input.value.trim() };
		const bad = [
		    msg.error(!v.message ? t('offline.messageMissing') : [...v.message].length > TEXT_MAX ?
			t('error.invalid') : '') && msg,
		    email.error(!EMAIL.test(v.email) || v.email.length > 254 ? t('auth.emailInvalid') : '') && email,
		    name.error(!v.name ? t('offline.nameMissing') : '') && name,
		].filter(Boolean);
		formError.textContent = '';
		if (bad.length) {
			bad[bad.length - 1].input.focus();
			return;
		}
		button.disabled = true;
		const body = { conversation_id: this.conv, ...v,
		    client_id: `off-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}` };
		if (this.subjectId)
			body.subject_id = this.subjectId;
		let r, j = null;
		try {
			r = await fetch('/api/widget/offline', { method: 'POST', headers: {
			    authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
			    body: JSON.stringify(body) });
			j = await r.json().catch(() => null);
		} catch {
			r = null;
		}
		button.disabled = false;
		if (r && r.ok) {
			this.done(v.email);
			return;
		}
		const code = j && j.error && j.error.code;
		if (code === 'invalid_email') {
			email.error(t('auth.emailInvalid'));
			email.input.focus();
			return;
		}
		formError.textContent = t(code === 'too_many_attempts' ? 'offline.tooMany' :
		    code === 'answered' ? 'offline.answered' : r ? 'offline.failed' : 'auth.error.network');
	}

	done(email) {
		clear(this.el);
		const title = h('h2', { class: 'offline__title', id: 'vb-offline-title', tabindex: '-1' },
		    t('offline.thanks'));
		this.el.append(title, h('p', { class: 'offline__why', role: 'status' }, t('offline.sent', { email })));
		title.focus();
		this.onShow(false);
	}
}
