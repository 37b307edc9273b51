// The customer chat panel: runs in an iframe served from our origin
// (/widget/panel), drawn by loader.js on the host page.
//
// Messages with the host page (window.postMessage):
//   panel → page  {type:'vb-ready'}                  once loaded (no secrets: '*')
//   page → panel  {type:'vb-init', token, conversation_id, routing, color, look,
//                  visible, focus, store: {key: value}}
//   page → panel  {type:'vb-auth-start', mode, color, look}   no session yet:
//                  the customer must pass the site's check (CAPTCHA)
//   panel → page  {type:'vb-call', path:'challenge'}  fetch an ALTCHA challenge
//   panel → page  {type:'vb-call', path:'otp', email} e-mail a one-time code
//   page → panel  {type:'vb-reply', path, ok, data}   the server's answer
//   panel → page  {type:'vb-auth', altcha} / {type:'vb-auth', email, code}
//                                                     start the session with it
//   page → panel  {type:'vb-auth-fail', code}         refused (then vb-init on success)
// look = the site's appearance {logo_url, greeting, …} (admin → Sites).
//   page → panel  {type:'vb-show', focus} / {type:'vb-hide'}
//   panel → page  {type:'vb-close'}                   close button or Escape
//   panel → page  {type:'vb-unread', count}           staff messages while hidden
//   panel → page  {type:'vb-reauth'}                  the token seems dead
//   panel → page  {type:'vb-new'}                     customer asks for a new chat
//   panel → page  {type:'vb-store', key, value}       keep this (see store.js)
// After vb-init, everything goes to the origin that sent it; only the
// parent window is listened to. The page's CSP frame-ancestors (set by the
// server from the site's allow-list) decides who may be that parent.

import { h, clear, icon, linkify } from './dom.js';
import { t, initI18n, fmtTime, fmtNumber, getLang } from './i18n.js';
import { Chat } from './chat.js';
import { seed, onSave } from './store.js';
import { SubjectPicker } from './subjects.js';
import { uploadFile, checkFile, renderAttachment, transcriptUrl, fileIcon, fileUrl } from './files.js';
import { OfflineForm, readUpTo } from './offline.js';
import { CobrowsePanel } from './cobrowse-panel.js';

const TEXT_MAX = 4000;
const TYPING_SHOW = 4000;
const NEAR_BOTTOM = 80;

initI18n();

const embedded = window.parent !== window;
let parentOrigin = null;
let chat = null;
let visible = false;
let unread = 0;
let staffSeen = false;
let customerWrote = false;
let queueInfo = null;	// {position, wait} from the latest 'queue' frame
let typingTimer = null;
let token = null;		// widget token, for file links and uploads
let fileSettings = null;	// {enabled, max_bytes, types} of this chat's site
const seqRows = new Map();	// seq → row
const pendingRows = new Map();	// client_id → row
let lastRow = null;		// for grouping consecutive messages of one sender
const subjects = new SubjectPicker();	// W4: chosen before the first message
// W18: nobody can answer → a form to leave a message instead of the composer.
const offline = new OfflineForm({ onShow: (form) => { composer.hidden = form; }, onUnread: (n) => {
	// W2: staff answers not seen yet (a signed-in customer's thread) badge the launcher.
	if (!visible && n !== unread)
		post({ type: 'vb-unread', count: unread = n });
} });

// Co-browsing (issue 5): consent dialogs and the relay to the host page.
const cobrowse = new CobrowsePanel({ post: (m) => post(m), frame: (f) => chat?.frame(f),
    history: () => chat?.history() || [],
    fileUrl: (id) => new URL(fileUrl(id, { token }), location.href).href,
    onShow: (el) => {
	if (!visible)
		post({ type: 'vb-unread', count: ++unread });
	el.scrollIntoView({ block: 'nearest' });
    } });

// Calls (issue 4): static/widget/call.js, loaded on the first call frame or
// button press; the buttons show once an adviser has joined the chat.
let callUi = null;
let callConv = 0;
let callLive = false;	// a call is asked for or runs: no new one
const callSlot = h('div', { class: 'call-slot' });
async function calls() {
	if (!callUi) {
		const { CallUI } = await import('./call.js');
		callUi = new CallUI({ frame: (f) => chat?.frame(f), token, conv: callConv, onLive: (on) => {
			callLive = on;
			updateCallButtons();
		}, onShow: (el) => {
			if (!visible)
				post({ type: 'vb-unread', count: ++unread });
			el.scrollIntoView({ block: 'nearest' });
		} });
		callSlot.append(callUi.el);
	}
	return callUi;
}
const callButton = (kind) => h('button', { type: 'button', class: 'head__close head__call', id: `vb-call-${kind}`,
    hidden: true, 'aria-label': t(kind === 'audio' ? 'call.buttonAudio' : 'call.buttonVideo'),
    title: t(kind === 'audio' ? 'call.buttonAudio' : 'call.buttonVideo'),
    onClick: async () => (await calls()).request(kind) }, icon(kind === 'audio' ? 'phone' : 'video'));
const callButtons = h('div', { class: 'head__calls' }, callButton('audio'), callButton('video'));
function updateCallButtons() {
	for (const b of callButtons.children)
		b.hidden = !staffSeen || !chat || callLive;
}

// ---------------------------------------------------------------- layout

const statusText = h('span', { class: 'head__status-text' }, t('status.connecting'));
const head = h('header', { class: 'head' },
    h('span', { class: 'head__avatar', 'aria-hidden': 'true' }, icon('chat')),
    h('div', { class: 'head__text' },
	h('h1', { class: 'head__title', id: 'vb-title' }, t('panel.title')),
	h('p', { class: 'head__status', id: 'vb-status' },
	    h('span', { class: 'dot', 'aria-hidden': 'true' }), statusText)),
    callButtons,
    h('div', { class: 'menu' },
	h('button', { type: 'button', class: 'head__close menu__button', id: 'vb-menu-button',
	    'aria-haspopup': 'true', 'aria-expanded': 'false', 'aria-controls': 'vb-menu',
	    'aria-label': t('menu.label'), title: t('menu.label'), onClick: () => toggleMenu() },
	    icon('more')),
	h('ul', { class: 'menu__list', id: 'vb-menu', hidden: true },
	    h('li', null, h('a', { class: 'menu__item', id: 'vb-transcript', href: '#',
		download: '', onClick: () => toggleMenu(false) },
		fileIcon('download'), t('menu.transcript'))),
	    h('li', null, h('button', { type: 'button', class: 'menu__item', id: 'vb-cb-start',
		onClick: () => { toggleMenu(false); cobrowse.offer(); } }, t('cb.menu'))),
	    h('li', { id: 'vb-end-item', hidden: true }, h('button', { type: 'button', class: 'menu__item',
		id: 'vb-end', onClick: () => { toggleMenu(false); confirmEnd(); } }, t('menu.end'))))),
    h('button', { type: 'button', class: 'head__close', id: 'vb-close',
	'aria-label': t('panel.close'), title: t('panel.close'), onClick: () => post({ type: 'vb-close' }) },
	icon('close')));

const banner = h('div', { class: 'banner-slot', role: 'status' });
const log = h('div', { class: 'log', id: 'vb-log', role: 'log', 'aria-live': 'polite',
    'aria-relevant': 'additions', 'aria-labelledby': 'vb-log-label' });
const waiting = h('div', { class: 'waiting-slot', role: 'status' });
const typingSlot = h('div', { class: 'typing-slot', role: 'status' });
const greetingText = h('p', { class: 'greeting__text' }, t('panel.greeting'));
const authSlot = h('div', { class: 'auth-slot' });
const scroller = h('div', { class: 'scroller', id: 'vb-scroller', tabindex: '0', role: 'region',
    'aria-labelledby': 'vb-log-label' },
    h('h2', { class: 'vh', id: 'vb-log-label' }, t('panel.log')),
    h('div', { class: 'greeting' }, greetingText),
    subjects.el, log, waiting, typingSlot, offline.el, cobrowse.el);

const input = h('textarea', { id: 'vb-input', class: 'composer__input', rows: 1,
    maxLength: TEXT_MAX, placeholder: t('composer.placeholder'), autocomplete: 'off',
    enterkeyhint: 'send', 'aria-describedby': 'vb-hint vb-counter', spellcheck: 'true' });
const counter = h('p', { class: 'composer__counter', id: 'vb-counter' });
const sendBtn = h('button', { type: 'submit', class: 'composer__send', id: 'vb-send',
    'aria-label': t('composer.send'), title: t('composer.send') }, icon('send'));
const fileInput = h('input', { type: 'file', id: 'vb-file', class: 'vh', tabIndex: -1,
    'aria-hidden': 'true', onChange: () => {
	for (const f of fileInput.files)
		sendFile(f);
	fileInput.value = '';
    } });
const attachBtn = h('button', { type: 'button', class: 'composer__attach', id: 'vb-attach',
    'aria-label': t('file.attach'), title: t('file.attach'), hidden: true,
    onClick: () => fileInput.click() }, fileIcon('paperclip'));
const composer = h('form', { class: 'composer', id: 'vb-composer', novalidate: true },
    h('label', { for: 'vb-input', class: 'vh' }, t('composer.label')),
    h('div', { class: 'composer__row' }, attachBtn, fileInput, input, sendBtn),
    h('p', { class: 'vh', id: 'vb-hint' }, t('composer.hint')),
    counter);

const dropHint = h('div', { class: 'drop-hint', 'aria-hidden': 'true' },
    h('p', { class: 'drop-hint__text' }, fileIcon('paperclip'), t('file.drop')));
const app = h('div', { class: 'panel' }, head, banner, callSlot, scroller, authSlot, composer, dropHint,
    h('p', { class: 'foot' }, t('panel.poweredBy')));

const root = document.getElementById('vb-app') || document.body;
clear(root);
root.appendChild(app);
document.title = t('panel.title');

// ---------------------------------------------------------------- talking to the page

function post(msg) {
	if (!embedded)
		return;
	if (msg.type === 'vb-ready') {
		window.parent.postMessage(msg, '*');
		return;
	}
	if (parentOrigin)
		window.parent.postMessage(msg, parentOrigin);
}

window.addEventListener('message', (e) => {
	if (!embedded || e.source !== window.parent)
		return;
	const m = e.data;
	if (!m || typeof m !== 'object' || typeof m.type !== 'string')
		return;
	if (m.type === 'vb-init') {
		if (parentOrigin && e.origin !== parentOrigin)
			return;
		if (typeof m.token !== 'string' || !/^[\w-]{16,128}$/.test(m.token) ||
		    !Number.isSafeInteger(m.conversation_id) || m.conversation_id <= 0)
			return;
		parentOrigin = e.origin;
		if (m.store && typeof m.store === 'object')
			seed(m.store);
		onSave((key, value) => post({ type: 'vb-store', key, value }));
		if (typeof m.color === 'string')
			applyColor(m.color);
		applyLook(m.look);
		authDone();
		start(m.token, m.conversation_id);
		subjects.set(m.routing, customerWrote);
		if (m.visible)
			show(Boolean(m.focus));
		return;
	}
	if (m.type === 'vb-auth-start' && !chat && (!parentOrigin || e.origin === parentOrigin)) {
		parentOrigin = e.origin;
		// Only sent when the customer has just opened the chat.
		visible = true;
		statusText.textContent = t('status.signIn');
		if (typeof m.color === 'string')
			applyColor(m.color);
		applyLook(m.look);
		if (m.mode === 'captcha')
			captcha();
		else if (m.mode === 'email_otp')
			emailForm();
		return;
	}
	if (e.origin !== parentOrigin)
		return;
	if (m.type === 'vb-reply' && m.path === 'challenge')
		solve(m);
	else if (m.type === 'vb-reply' && m.path === 'otp')
		codeSent(m);
	else if (m.type === 'vb-auth-fail')
		authFailed(m.code);
	else if (m.type === 'vb-show')
		show(Boolean(m.focus));
	else if (m.type === 'vb-hide')
		visible = false;
	else if (m.type === 'vb-cb')
		cobrowse.fromPage(m);
});

// W2: the customer has seen the thread up to its last message.
function markRead() {
	if (chat && token && seqRows.size)
		readUpTo(token, chat.conv, Math.max(...seqRows.keys()));
}

function show(focus) {
	visible = true;
	markRead();
	if (unread) {
		unread = 0;
		post({ type: 'vb-unread', count: 0 });
	}
	scrollToEnd();
	if (focus && !input.disabled)
		input.focus();
}

document.addEventListener('keydown', (e) => {
	if (e.key === 'Escape' && !e.defaultPrevented && !e.isComposing) {
		e.preventDefault();
		post({ type: 'vb-close' });
	}
});

// ---------------------------------------------------------------- site colour

function channel(v) {
	const c = v / 255;
	return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

function luminance([r, g, b]) {
	return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

function contrast(a, b) {
	const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
	return (x + 0.05) / (y + 0.05);
}

function hex(rgb) {
	return '#' + rgb.map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');
}

// The site's colour for the header and the customer's bubbles, darkened
// until white text on it reaches 4.5:1 (WCAG AA), so any brand colour works.
function applyColor(value) {
	let m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(value.trim());
	if (!m)
		return;
	let s = m[1];
	if (s.length === 3)
		s = s.replace(/./g, '$&$&');
	let rgb = [0, 2, 4].map((i) => parseInt(s.slice(i, i + 2), 16));
	const white = [255, 255, 255];
	for (let i = 0; i < 40 && contrast(rgb, white) < 4.5; i++)
		rgb = rgb.map((v) => v * 0.92);
	const st = document.documentElement.style;
	st.setProperty('--accent', hex(rgb));
	st.setProperty('--accent-strong', hex(rgb.map((v) => v * 0.8)));
	st.setProperty('--accent-soft', hex(rgb.map((v) => v + (255 - v) * 0.9)));
}

// ---------------------------------------------------------------- site appearance

// The site's logo in the header and its greeting (admin → Sites →
// Appearance). The server checked both; the logo is decorative (the title
// names the chat), so it has an empty alt.
function applyLook(look) {
	if (!look || typeof look !== 'object')
		return;
	if (typeof look.logo_url === 'string' && /^(https:\/\/|\/(?![/\\]))/.test(look.logo_url)) {
		const avatar = head.querySelector('.head__avatar');
		clear(avatar);
		avatar.classList.add('head__avatar--logo');
		avatar.appendChild(h('img', { src: look.logo_url, alt: '', class: 'head__logo' }));
	}
	if (typeof look.greeting === 'string' && look.greeting.trim())
		greetingText.textContent = look.greeting.trim().slice(0, 300);
}

// ---------------------------------------------------------------- CAPTCHA (W3)

// The customer proves they are human before the chat starts: the page
// (loader) fetches an ALTCHA challenge from its own origin, a Web Worker
// solves it (pow.js), the page starts the session with the solution.
let worker = null;

function captcha() {
	composer.hidden = true;
	clear(authSlot);
	const bar = h('progress', { class: 'auth__progress', max: 100, value: 0,
	    'aria-labelledby': 'vb-auth-text' });
	authSlot.appendChild(h('div', { class: 'auth', role: 'status' },
	    h('p', { class: 'auth__text', id: 'vb-auth-text' },
		h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('auth.checking')),
	    bar));
	authSlot.dataset.state = 'checking';
	post({ type: 'vb-call', path: 'challenge' });
}

// ---------------------------------------------------------------- e-mail code (W3)

// The site admits customers who prove their e-mail address: the customer
// gives it, the server e-mails a 6-digit code (valid 10 minutes, 5 tries),
// the customer types it and the chat starts with the address recorded.
let otpEmail = '';

function authForm({ id, label, hint, input, submit, extra, onSubmit }) {
	const err = h('p', { class: 'auth__error', id: `${id}-error`, role: 'alert' });
	input.setAttribute('aria-describedby', [hint && `${id}-hint`, `${id}-error`].filter(Boolean).join(' '));
	const form = h('form', { class: 'auth auth__form', novalidate: true, id },
	    h('label', { class: 'auth__label', for: input.id }, label),
	    hint ? h('p', { class: 'auth__hint', id: `${id}-hint` }, hint) : null,
	    h('div', { class: 'auth__row' }, input,
		h('button', { type: 'submit', class: 'btn', id: `${id}-submit` }, submit)),
	    err, extra || null);
	form.addEventListener('submit', (e) => {
		e.preventDefault();
		if (form.dataset.busy)
			return;
		onSubmit((msg) => {
			err.textContent = msg || '';
			if (msg)
				input.setAttribute('aria-invalid', 'true');
			else
				input.removeAttribute('aria-invalid');
		}, (busy) => {
			if (busy)
				form.dataset.busy = '1';
			else
				delete form.dataset.busy;
			form.querySelector('button[type=submit]').disabled = Boolean(busy);
		});
	});
	return form;
}

function errorText(code, fallback) {
	const key = `auth.error.${code}`;
	return t(key) !== key ? t(key) : t(fallback);
}

function emailForm(message) {
	composer.hidden = true;
	clear(authSlot);
	authSlot.dataset.state = 'email';
	const input = h('input', { type: 'email', id: 'vb-otp-email', class: 'auth__input', autocomplete: 'email',
	    required: true, maxLength: 254, value: otpEmail, spellcheck: 'false' });
	const form = authForm({ id: 'vb-otp-email-form', label: t('auth.emailLabel'), hint: t('auth.emailHint'),
	    input, submit: t('auth.sendCode'), onSubmit(setError, setBusy) {
		const v = input.value.trim();
		if (!/^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/.test(v) || v.length > 254) {
			setError(t('auth.emailInvalid'));
			input.focus();
			return;
		}
		setError('');
		setBusy(true);
		otpEmail = v;
		post({ type: 'vb-call', path: 'otp', email: v });
	} });
	authSlot.appendChild(form);
	if (message)
		form.querySelector('.auth__error').textContent = message;
	if (visible)
		input.focus();
}

function codeSent(m) {
	if (!m.ok) {
		emailForm(errorText(m.data && m.data.error && m.data.error.code, 'auth.sendFailed'));
		return;
	}
	codeForm();
}

function codeForm() {
	clear(authSlot);
	authSlot.dataset.state = 'code';
	const input = h('input', { type: 'text', id: 'vb-otp-code', class: 'auth__input auth__input--code',
	    inputmode: 'numeric', autocomplete: 'one-time-code', maxLength: 6, required: true,
	    pattern: '[0-9]{6}' });
	const other = h('button', { type: 'button', class: 'auth__link', id: 'vb-otp-again',
	    onClick: () => emailForm() }, t('auth.otherAddress'));
	const form = authForm({ id: 'vb-otp-code-form', label: t('auth.codeLabel'),
	    hint: t('auth.codeHint', { email: otpEmail }), input, submit: t('auth.startChat'), extra: other,
	    onSubmit(setError, setBusy) {
		const v = input.value.replace(/\s+/g, '');
		if (!/^\d{6}$/.test(v)) {
			setError(t('auth.codeInvalid'));
			input.focus();
			return;
		}
		setError('');
		setBusy(true);
		post({ type: 'vb-auth', email: otpEmail, code: v });
	} });
	authSlot.appendChild(form);
	input.focus();
}

// A refused code: say why where the customer is typing.
function otpFailed(code) {
	if (/^otp_(too_many_attempts|expired|invalid)$/.test(code)) {
		emailForm(errorText(code, 'auth.failed'));
		return;
	}
	const form = authSlot.querySelector('#vb-otp-code-form');
	if (!form) {
		emailForm(errorText(code, 'auth.failed'));
		return;
	}
	delete form.dataset.busy;
	form.querySelector('button[type=submit]').disabled = false;
	const input = form.querySelector('input');
	form.querySelector('.auth__error').textContent = errorText(code, 'auth.failed');
	input.setAttribute('aria-invalid', 'true');
	input.select();
	input.focus();
}

function solve(m) {
	if (!m.ok || !m.data || typeof m.data.salt !== 'string') {
		authFailed(m.data && m.data.error && m.data.error.code);
		return;
	}
	const ch = m.data;
	if (worker)
		worker.terminate();
	worker = new Worker('/static/widget/pow.js');
	worker.onmessage = (e) => {
		const bar = authSlot.querySelector('progress');
		if (typeof e.data.progress === 'number') {
			if (bar)
				bar.value = Math.min(99, Math.round(e.data.progress * 100));
			return;
		}
		worker.terminate();
		worker = null;
		if (e.data.number === null) {
			authFailed('captcha_wrong');
			return;
		}
		if (bar)
			bar.value = 100;
		const payload = { algorithm: 'SHA-256', challenge: ch.challenge, number: e.data.number,
		    salt: ch.salt, signature: ch.signature, took: e.data.took };
		post({ type: 'vb-auth', altcha: btoa(JSON.stringify(payload)) });
	};
	worker.postMessage({ salt: ch.salt, challenge: ch.challenge, maxnumber: ch.maxnumber });
}

function authFailed(code) {
	if (authSlot.dataset.state === 'code' || authSlot.dataset.state === 'email') {
		otpFailed(code);
		return;
	}
	clear(authSlot);
	authSlot.dataset.state = 'failed';
	const key = `auth.error.${code}`;
	authSlot.appendChild(h('div', { class: 'auth' },
	    h('p', { class: 'notice', role: 'alert' }, icon('alert', 'notice__icon'),
		h('span', null, t(key) !== key ? t(key) : t('auth.failed'))),
	    h('button', { type: 'button', class: 'btn btn--small', id: 'vb-auth-retry', onClick: () => {
		captcha();
	    } }, t('auth.retry'))));
}

function authDone() {
	if (worker) {
		worker.terminate();
		worker = null;
	}
	clear(authSlot);
	delete authSlot.dataset.state;
	composer.hidden = false;
}

// ---------------------------------------------------------------- conversation

function wsUrl(token) {
	const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
	return `${proto}//${location.host}/ws?token=${encodeURIComponent(token)}`;
}

function start(tok, conversationId) {
	if (chat && chat.conv === conversationId) {
		chat.url = wsUrl(tok);
		token = tok;
		return;
	}
	const token = tok;
	if (chat) {
		chat.stop();
		resetView();
	}
	chat = new Chat({ url: wsUrl(token), conversationId, onEvent });
	cobrowse.start(conversationId);
	callConv = conversationId;
	callLive = false;
	if (callUi) {
		callUi.hide();
		callUi.conv = conversationId;
		callUi.token = token;
	}
	filesStart(token, conversationId);
	offline.start(token, conversationId, !chat.history().length);
	for (const m of chat.history())
		addMessage(m, false);
	for (const e of chat.pending())
		addPending(e);
	updateWaiting();
	scrollToEnd();
	input.disabled = false;
	sendBtn.disabled = false;
	chat.start();
}

function resetView() {
	clear(log);
	seqRows.clear();
	pendingRows.clear();
	lastRow = null;
	staffSeen = false;
	customerWrote = false;
	ended = false;
	updateEnd();
	composer.hidden = false;
	updateWaiting();
	setTyping(null);
	updateCallButtons();
}

function onEvent(type, d) {
	switch (type) {
	case 'status':
		setStatus(d.state);
		break;
	case 'message': {
		const near = isNearBottom();
		addMessage(d.msg, d.live);
		updateCallButtons();
		if (d.msg.sender?.kind === 'staff') {
			setTyping(null);
			if (d.live && !visible) {
				unread++;
				post({ type: 'vb-unread', count: unread });
			} else if (visible) {
				markRead();
			}
		}
		if (near || d.msg.sender?.kind === 'customer')
			scrollToEnd();
		break;
	}
	case 'read':
		markStaffRead(d.seq);
		break;
	case 'cobrowse':
		cobrowse.onFrame(d.frame);
		break;
	case 'call':
		calls().then((c) => c.onFrame(d.frame));
		break;
	case 'subscribed':
		cobrowse.subscribed();
		break;
	case 'queued':
		addPending(d.entry);
		scrollToEnd();
		break;
	case 'failed':
		markFailed(d.entry, d.code);
		break;
	case 'notice':
		cobrowse.error(d.code);
		addNotice(t(`error.${d.code}`) !== `error.${d.code}` ? t(`error.${d.code}`) : t('error.generic'),
		    'error', d.code);
		break;
	case 'ended': {
		// The chat is over (left the queue, ended by the agent): nothing
		// more can be written in it, only a new chat started.
		const over = d.code === 'left_queue' || d.code === 'closed';
		if (over) {
			ended = true;
			updateEnd();
			// Sharing the page ends with the chat.
			cobrowse.stopped();
			staffSeen = true;
			updateWaiting();
			offline.withdraw();
			composer.hidden = true;
		}
		addNotice(t(`error.${d.code}`), over ? 'info' : 'error', d.code,
		    h('button', { type: 'button', class: 'btn btn--small', onClick: newChat }, t('action.newChat')));
		break;
	}
	case 'typing':
		setTyping(d.sender);
		break;
	case 'queue':
		queueInfo = { position: d.position, wait: d.wait };
		updateWaiting(true);
		break;
	case 'reauth':
		post({ type: 'vb-reauth' });
		break;
	default:
		break;
	}
}

function newChat() {
	post({ type: 'vb-new' });
}

// "End chat" from the menu: asked once in the log, then sent.
let ended = false;

function updateEnd() {
	document.getElementById('vb-end-item').hidden = ended || !customerWrote;
	document.getElementById('vb-cb-start').parentElement.hidden = ended;
}

function confirmEnd() {
	log.querySelector('[data-notice="end-confirm"]')?.remove();
	const yes = h('button', { type: 'button', class: 'btn btn--small', id: 'vb-end-yes' }, t('end.yes'));
	const no = h('button', { type: 'button', class: 'btn btn--small btn--quiet', id: 'vb-end-no' }, t('end.no'));
	addNotice(t('end.confirm'), 'info', 'end-confirm', h('span', { class: 'notice__actions' }, yes, no));
	const row = log.querySelector('[data-notice="end-confirm"]');
	yes.addEventListener('click', () => {
		row?.remove();
		chat?.end();
	});
	no.addEventListener('click', () => {
		row?.remove();
		input.focus();
	});
	yes.focus();
}

// A notice (error or system) in the log; repeats of the same code while it
// is still the last thing shown are not added again.
function addNotice(text, kind, code, action) {
	const last = log.lastElementChild;
	if (code && last && last.dataset.notice === code)
		return;
	const row = h('div', { class: ['row', 'row--notice', kind === 'error' && 'row--error'],
	    'data-notice': code || 'info' },
	    h('p', { class: 'notice' }, kind === 'error' ? icon('alert', 'notice__icon') : null,
		h('span', null, text), action || null));
	log.appendChild(row);
	lastRow = null;
	scrollToEnd();
}

function setStatus(state) {
	app.dataset.state = state;
	statusText.textContent = t({ online: 'status.online', offline: 'status.offlineShort' }[state] ||
	    'status.connecting');
	clear(banner);
	if (state === 'reconnecting' || state === 'offline') {
		banner.appendChild(h('p', { class: 'banner' },
		    state === 'offline' ? icon('alert', 'banner__icon') : h('span', { class: 'spinner', 'aria-hidden': 'true' }),
		    t(state === 'offline' ? 'status.offline' : 'status.reconnecting')));
	}
}

function setTyping(sender) {
	clearTimeout(typingTimer);
	clear(typingSlot);
	if (!sender)
		return;
	typingSlot.appendChild(h('p', { class: 'typing' },
	    h('span', { class: 'typing__dots', 'aria-hidden': 'true' }, h('span'), h('span'), h('span')),
	    t('status.typing')));
	typingTimer = setTimeout(() => clear(typingSlot), TYPING_SHOW);
	if (isNearBottom(120))
		scrollToEnd();
}

// The waiting notice: the place in the queue and an estimate once the
// server has sent one, a friendly line before that.
function waitingText() {
	if (!queueInfo || !(queueInfo.position > 0))
		return t('panel.waiting');
	const min = Math.max(1, Math.round((Number(queueInfo.wait) || 0) / 60));
	return t('panel.queue', { count: queueInfo.position, n: queueInfo.position }) + ' ' +
	    t('panel.wait', { count: min, n: min });
}

function updateWaiting(changed = false) {
	const want = customerWrote && !staffSeen;
	if (want === Boolean(waiting.firstChild) && !changed)
		return;
	clear(waiting);
	if (want) {
		waiting.appendChild(h('div', { class: 'waiting' }, icon('clock', 'waiting__icon'),
		    h('p', { class: 'waiting__text', 'data-queue-position': queueInfo?.position ?? '' }, waitingText()),
		    h('button', { type: 'button', class: 'btn btn--small btn--quiet', id: 'vb-leave-queue',
			onClick: () => chat?.leaveQueue() }, t('action.leaveQueue'))));
	}
}

function initials(name) {
	const parts = String(name || '').trim().split(/\s+/).filter(Boolean);
	const s = parts.length > 1 ? parts[0][0] + parts.at(-1)[0] : (parts[0] || '?').slice(0, 2);
	return s.toUpperCase();
}

function timeEl(at) {
	const d = new Date(at);
	if (Number.isNaN(d.getTime()))
		return null;
	return h('time', { dateTime: d.toISOString(), class: 'msg__time' }, fmtTime(d));
}

function messageBody(m) {
	if (m.meta?.file && Number.isSafeInteger(m.meta.file.id))
		return renderAttachment(m.meta.file, { t, token, lang: getLang() });
	return messageText(m.text);
}

function messageText(text) {
	return h('div', { class: 'msg__text', dir: 'auto' }, linkify(String(text ?? ''), t('msg.linkNewTab')));
}

// The staff have read up to seq: the customer's messages so far say so.
let readSeq = 0;
function markStaffRead(seq) {
	readSeq = Math.max(readSeq, seq);
	for (const el of log.querySelectorAll('.row--me[data-seq] .msg__status--sent')) {
		if (Number(el.closest('.row').dataset.seq) <= readSeq)
			el.replaceWith(statusEl('read'));
	}
}

function statusEl(state) {
	const label = { sending: t('msg.sending'), sent: t('msg.sent'), read: t('msg.read'),
	    failed: t('msg.notSent') }[state];
	return h('span', { class: `msg__status msg__status--${state}` },
	    state === 'sent' || state === 'read' ? icon('check', 'msg__tick') : null,
	    state === 'failed' ? icon('alert', 'msg__tick') : null, label);
}

// Consecutive messages of one sender within five minutes share a name.
function continues(kind, senderId, at) {
	if (!lastRow || lastRow.dataset.kind !== kind || lastRow.dataset.sender !== String(senderId ?? ''))
		return false;
	const prev = Date.parse(lastRow.dataset.at || '');
	const now = Date.parse(at || '');
	return !Number.isNaN(prev) && !Number.isNaN(now) && now - prev < 5 * 60000;
}

function buildRow(m) {
	const kind = m.sender?.kind;
	if (kind === 'system') {
		return h('div', { class: 'row row--system', 'data-kind': 'system' },
		    h('div', { class: 'msg msg--system' }, h('span', { class: 'vh' }, t('msg.system') + ': '),
			// Told to the customer in their words and language.
			m.meta?.event === 'ended' && m.meta.by === 'customer' ? t('end.you') : messageText(m.text),
			timeEl(m.at)));
	}
	if (kind === 'staff') {
		const name = m.sender.name || t('msg.staff');
		const cont = continues('staff', m.sender.id, m.at);
		return h('div', { class: ['row', 'row--staff', cont && 'row--cont'], 'data-kind': 'staff',
		    'data-sender': String(m.sender.id ?? ''), 'data-at': m.at },
		    h('span', { class: 'avatar', 'aria-hidden': 'true' }, cont ? '' : initials(name)),
		    h('div', { class: 'msg msg--staff' },
			cont ? h('span', { class: 'vh' }, t('msg.saidBy', { name }) + ' ')
			    : h('p', { class: 'msg__name' }, name, h('span', { class: 'vh' }, ':')),
			h('div', { class: ['bubble', m.meta?.file && 'bubble--file'] }, messageBody(m)),
			h('p', { class: 'msg__meta' }, timeEl(m.at))));
	}
	return h('div', { class: 'row row--me', 'data-kind': 'customer', 'data-sender': '',
	    'data-at': m.at },
	    h('div', { class: 'msg msg--me' },
		h('span', { class: 'vh' }, t('msg.youSaid') + ' '),
		h('div', { class: ['bubble', m.meta?.file && 'bubble--file'] }, messageBody(m)),
		h('p', { class: 'msg__meta' }, timeEl(m.at), ' ', statusEl(m.seq <= readSeq ? 'read' : 'sent'))));
}

// Rows with a seq are kept in seq order; unsent ones stay at the end.
function placeRow(row, seq) {
	row.dataset.seq = String(seq);
	let before = null;
	for (let el = log.lastElementChild; el; el = el.previousElementSibling) {
		if (el.dataset.pending !== undefined || (el.dataset.seq && Number(el.dataset.seq) > seq)) {
			before = el;
			continue;
		}
		if (el.dataset.seq)
			break;
	}
	log.insertBefore(row, before);
}

function addMessage(m, live) {
	if (seqRows.has(m.seq))
		return;
	const kind = m.sender?.kind;
	// An agent's words or the join notice end the wait, and with it any
	// offer to leave a message instead.
	if (kind === 'staff' || kind === 'system') {
		staffSeen = true;
		offline.withdraw();
	}
	if (kind === 'customer') {
		customerWrote = true;
		updateEnd();
	}
	const pending = m.client_id ? pendingRows.get(m.client_id) : null;
	if (pending && kind === 'customer') {
		pendingRows.delete(m.client_id);
		pending.remove();
	}
	const row = buildRow(m);
	placeRow(row, m.seq);
	seqRows.set(m.seq, row);
	lastRow = log.lastElementChild === row ? row : lastRow;
	updateWaiting();
}

function addPending(e) {
	customerWrote = true;
	updateEnd();
	let row = pendingRows.get(e.client_id);
	const meta = h('p', { class: 'msg__meta' }, statusEl(e.failed ? 'failed' : 'sending'));
	if (e.failed) {
		meta.appendChild(h('button', { type: 'button', class: 'link-btn',
		    onClick: () => chat?.retry(e.client_id) }, t('msg.retry')));
	}
	const fresh = h('div', { class: ['row', 'row--me', 'row--pending'], 'data-kind': 'customer',
	    'data-pending': '', 'data-client': e.client_id },
	    h('div', { class: 'msg msg--me' },
		h('span', { class: 'vh' }, t('msg.youSaid') + ' '),
		h('div', { class: 'bubble' }, messageText(e.text)), meta));
	if (row) {
		row.replaceWith(fresh);
	} else {
		log.appendChild(fresh);
	}
	row = fresh;
	pendingRows.set(e.client_id, row);
	lastRow = null;
	updateWaiting();
}

function markFailed(e, code) {
	addPending(e);
	const text = t(`error.${code}`);
	addNotice(text === `error.${code}` ? t('error.generic') : text, 'error', code);
}

// ---------------------------------------------------------------- scrolling

function isNearBottom(px = NEAR_BOTTOM) {
	return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < px;
}

function scrollToEnd() {
	scroller.scrollTop = scroller.scrollHeight;
}

// ---------------------------------------------------------------- composer

const autoGrow = !CSS.supports?.('field-sizing', 'content');

function onInput() {
	if (autoGrow) {
		input.style.height = 'auto';
		input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
	}
	const left = TEXT_MAX - [...input.value].length;
	counter.textContent = left <= 200 ? t('composer.left', { count: left, n: fmtNumber(left) }) : '';
	if (input.value.trim())
		chat?.typing();
}

function submit() {
	const text = input.value.trim();
	if (!text || !chat)
		return;
	if ([...text].length > TEXT_MAX) {
		addNotice(t('error.invalid'), 'error', 'invalid');
		return;
	}
	const subject = subjects.pick(customerWrote);
	if (subject === null)
		return;
	chat.send(text, subject);
	offline.sent(subject);
	subjects.done();
	input.value = '';
	onInput();
	input.focus();
}

input.addEventListener('input', onInput);
input.addEventListener('keydown', (e) => {
	if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
		e.preventDefault();
		submit();
	}
});
composer.addEventListener('submit', (e) => {
	e.preventDefault();
	submit();
});

// ---------------------------------------------------------------- files (W7) and transcript (W8)

// The site's limits decide whether the attach button shows at all.
async function filesStart(tok, conv) {
	token = tok;
	document.getElementById('vb-transcript').href = transcriptUrl(conv, { token: tok });
	fileSettings = null;
	attachBtn.hidden = true;
	try {
		const r = await fetch(`/api/conversations/${conv}/files`,
		    { headers: { authorization: `Bearer ${tok}` } });
		if (r.ok)
			fileSettings = (await r.json()).settings;
	} catch {
		fileSettings = null;
	}
	attachBtn.hidden = !(fileSettings?.enabled);
}

function fileError(code, file) {
	const max = fileSettings?.max_bytes ? Math.floor(fileSettings.max_bytes / 1048576 * 10) / 10 : 0;
	const key = `file.error.${code}`;
	const text = t(key, { name: file?.name ?? '', max: fmtNumber(max) });
	addNotice(text === key ? t('file.error.generic', { name: file?.name ?? '' }) : text, 'error',
	    'file-' + code + '-' + Date.now());
}

function sendFile(file) {
	if (!chat || !token)
		return;
	const bad = checkFile(file, fileSettings);
	if (bad) {
		fileError(bad, file);
		return;
	}
	const bar = h('progress', { class: 'file-progress', max: '1', value: '0',
	    'aria-label': t('file.uploading', { name: file.name }) });
	const row = h('div', { class: ['row', 'row--me', 'row--pending'], 'data-kind': 'customer',
	    'data-pending': '' },
	    h('div', { class: 'msg msg--me' },
		h('div', { class: 'bubble bubble--file' },
		    h('p', { class: 'file-card__name', dir: 'auto' }, file.name), bar),
		h('p', { class: 'msg__meta' }, statusEl('sending'))));
	log.appendChild(row);
	lastRow = null;
	scrollToEnd();
	const conv = chat.conv;
	uploadFile({ conversationId: conv, file, token,
	    onProgress: (f) => { bar.value = f; } }).promise.then((m) => {
		row.remove();
		// Usually the hub's copy has arrived already; this covers a lagging socket.
		if (chat && chat.conv === conv)
			chat.onMessage(m, true);
		scrollToEnd();
	}, (e) => {
		row.remove();
		fileError(e.code, file);
	});
}

// Drag and drop anywhere on the panel.
let dragDepth = 0;
function hasFiles(e) {
	return Boolean(fileSettings?.enabled && e.dataTransfer &&
	    [...e.dataTransfer.types].includes('Files'));
}
app.addEventListener('dragenter', (e) => {
	if (!hasFiles(e))
		return;
	e.preventDefault();
	dragDepth++;
	app.classList.add('panel--drop');
});
app.addEventListener('dragover', (e) => {
	if (hasFiles(e))
		e.preventDefault();
});
app.addEventListener('dragleave', () => {
	if (dragDepth > 0 && --dragDepth === 0)
		app.classList.remove('panel--drop');
});
app.addEventListener('drop', (e) => {
	if (!hasFiles(e))
		return;
	e.preventDefault();
	dragDepth = 0;
	app.classList.remove('panel--drop');
	for (const f of e.dataTransfer.files)
		sendFile(f);
});

// The panel menu: a disclosure button with a short list of links.
const menuBtn = document.getElementById('vb-menu-button');
const menuList = document.getElementById('vb-menu');
function toggleMenu(open = menuList.hidden) {
	menuList.hidden = !open;
	menuBtn.setAttribute('aria-expanded', String(open));
	if (open)
		menuList.querySelector('a, button')?.focus();
}
menuList.addEventListener('keydown', (e) => {
	if (e.key === 'Escape') {
		e.preventDefault();
		toggleMenu(false);
		menuBtn.focus();
	}
});
document.addEventListener('click', (e) => {
	if (!menuList.hidden && !e.target.closest?.('.menu'))
		toggleMenu(false);
});

// ---------------------------------------------------------------- start

input.disabled = true;
sendBtn.disabled = true;
if (embedded) {
	setStatus('connecting');
	post({ type: 'vb-ready' });
} else {
	statusText.textContent = '';
	addNotice(t('panel.standalone'), 'info', 'standalone');
}
