// The widget part of a site's card on /admin/sites: its appearance
// (position, colour with a contrast check, logo, language, greeting) and how
// customers are admitted (anonymous, CAPTCHA, signed token with EdDSA or
// HS256). sites.js calls widgetActions() for each card; everything is saved
// by audited server functions (PUT /api/sites/:id/appearance and /auth,
// POST /api/sites/:id/token-secret).

import { t } from '../lib/i18n.js';
import { api, idPath, errorMessage } from '../lib/api.js';
import { h, clear, button, field, checkbox, card, openDialog, secretDialog, toast } from '../lib/ui.js';

// WCAG 2 contrast of white text on #rrggbb (the server checks the same).
export function contrastWithWhite(hex) {
	const m = /^#([0-9a-f]{6})$/i.exec(hex || '');
	if (!m)
		return null;
	const n = parseInt(m[1], 16);
	const lin = (v) => {
		const c = v / 255;
		return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
	};
	const l = 0.2126 * lin(n >> 16) + 0.7152 * lin((n >> 8) & 255) + 0.0722 * lin(n & 255);
	return 1.05 / (l + 0.05);
}

const LANGUAGES = [{ value: 'en', label: 'English' }];

function fieldError(err, fields) {
	const f = err && err.field ? fields[err.field] : null;
	if (!f)
		throw err;
	f.setError(errorMessage(err));
	f.input.focus();
	return false;
}

async function appearanceDialog(site) {
	const cur = (await api.get(idPath('/api/sites', site.id, '/widget'))).appearance || {};
	const position = field({ id: 'wa-position', kind: 'select', label: t('siteWidget.position'),
	    value: cur.position || 'right', options: [
		{ value: 'right', label: t('siteWidget.right') }, { value: 'left', label: t('siteWidget.left') }] });
	const colour = field({ id: 'wa-colour', label: t('siteWidget.colour'), value: cur.colour || '#0b5cad',
	    hint: t('siteWidget.colourHint'), attrs: { spellcheck: false, autocapitalize: 'none', maxLength: 7 } });
	const swatch = h('span', { class: 'colour-swatch', 'aria-hidden': 'true' });
	const ratio = h('p', { class: 'field__hint', 'aria-live': 'polite' });
	const showRatio = () => {
		const c = contrastWithWhite(colour.input.value.trim());
		swatch.style.setProperty('--swatch', c ? colour.input.value.trim() : 'transparent');
		ratio.textContent = c ? t('siteWidget.contrast', { ratio: c.toFixed(2) }) : '';
	};
	colour.input.addEventListener('input', showRatio);
	colour.el.append(h('div', { class: 'colour-preview' }, swatch, ratio));
	showRatio();
	const logo = field({ id: 'wa-logo', label: t('siteWidget.logo'), value: cur.logo_url || '',
	    hint: t('siteWidget.logoHint'), attrs: { spellcheck: false, autocapitalize: 'none', maxLength: 500,
		placeholder: 'https://www.example.com/logo.svg' } });
	const language = field({ id: 'wa-language', kind: 'select', label: t('siteWidget.language'),
	    value: cur.language || 'en', options: LANGUAGES });
	const greeting = field({ id: 'wa-greeting', kind: 'textarea', label: t('siteWidget.greeting'),
	    value: cur.greeting || '', hint: t('siteWidget.greetingHint'), attrs: { rows: 2, maxLength: 300 } });
	const fields = { position, colour, logo_url: logo, language, greeting };
	openDialog({
		title: t('siteWidget.appearanceTitle', { name: site.name }),
		content: h('div', { class: 'form-stack' }, position.el, colour.el, logo.el, language.el, greeting.el),
		submitLabel: t('action.saveChanges'),
		submitId: 'wa-save',
		async onSubmit() {
			const c = colour.input.value.trim().toLowerCase();
			const r = contrastWithWhite(c);
			if (r === null || r < 4.5) {
				colour.setError(r === null ? t('siteWidget.errColour') :
				    t('siteWidget.errContrast', { ratio: r.toFixed(2) }));
				colour.input.focus();
				return false;
			}
			const body = { position: position.input.value, colour: c, language: language.input.value };
			if (logo.input.value.trim())
				body.logo_url = logo.input.value.trim();
			if (greeting.input.value.trim())
				body.greeting = greeting.input.value.trim();
			try {
				await api.put(idPath('/api/sites', site.id, '/appearance'), body);
			} catch (err) {
				return fieldError(err, fields);
			}
			toast(t('siteWidget.saved', { name: site.name }));
			return true;
		},
	});
}

function tokenSnippet(site, auth) {
	return `<div data-vb-site="${site.site_key}" data-vb-token="JWS-FROM-YOUR-SERVER" hidden></div>\n` +
	    `// or: vbq.push(['init', {site: '${site.site_key}', token: () => fetch('/chat-token').then((r) => r.text())}])\n` +
	    `// JWS header {"alg":"${auth.alg || 'EdDSA'}"}, claims {sub, name?, email?, vip? (0-100), ` +
	    `iat, exp (≤ 5 min), jti (single use), aud: "${auth.audience || site.site_key}"}`;
}

async function authDialog(site) {
	let auth = (await api.get(idPath('/api/sites', site.id, '/widget'))).auth || { mode: 'anonymous' };
	const mode = field({ id: 'wa-mode', kind: 'select', label: t('siteWidget.mode'), value: auth.mode,
	    hint: t('siteWidget.modeHint'), options: ['anonymous', 'captcha', 'email_otp', 'token'].map((m) =>
		({ value: m, label: t(`siteWidget.mode.${m}`) })) });
	const complexity = field({ id: 'wa-complexity', type: 'number', label: t('siteWidget.complexity'),
	    value: auth.complexity || 100000, hint: t('siteWidget.complexityHint'),
	    attrs: { min: 1000, max: 5000000, step: 1000, inputmode: 'numeric' } });
	const alg = field({ id: 'wa-alg', kind: 'select', label: t('siteWidget.alg'), value: auth.alg || 'EdDSA',
	    options: [{ value: 'EdDSA', label: t('siteWidget.algEdDSA') }, { value: 'HS256', label: t('siteWidget.algHS256') }] });
	const pk = field({ id: 'wa-public-key', label: t('siteWidget.publicKey'), value: auth.public_key || '',
	    hint: t('siteWidget.publicKeyHint'), attrs: { spellcheck: false, autocapitalize: 'none', maxLength: 64 } });
	const audience = field({ id: 'wa-audience', label: t('siteWidget.audience'), value: auth.audience || '',
	    hint: t('siteWidget.audienceHint', { key: site.site_key }), attrs: { maxLength: 200 } });
	const secretState = h('p', { class: 'field__hint', id: 'wa-secret-state' });
	const secretBtn = button('', { size: 'sm', kind: 'secondary', iconName: 'refresh', id: 'wa-secret',
	    onClick: () => makeSecret() });
	const secretBox = h('div', { class: 'field' },
	    h('p', { class: 'field__label' }, t('siteWidget.secret')), secretState, secretBtn);
	const howto = h('pre', { class: 'code-block__pre' }, h('code', null, tokenSnippet(site, auth)));
	const tokenBox = h('div', { class: 'form-stack' }, alg.el, pk.el, secretBox, audience.el,
	    h('div', { class: 'field' }, h('p', { class: 'field__label' }, t('siteWidget.howto')),
		h('p', { class: 'field__hint' }, t('siteWidget.howtoHint')), h('div', { class: 'code-block' }, howto)));
	const sync = () => {
		complexity.el.hidden = mode.input.value !== 'captcha';
		tokenBox.hidden = mode.input.value !== 'token';
		pk.el.hidden = alg.input.value !== 'EdDSA';
		secretBox.hidden = alg.input.value !== 'HS256';
		secretState.textContent = auth.has_secret ? t('siteWidget.secretSet') : t('siteWidget.secretNone');
		secretBtn.lastChild.textContent = auth.has_secret ? t('siteWidget.secretRotate') : t('siteWidget.secretCreate');
		howto.firstChild.textContent = tokenSnippet(site, { alg: alg.input.value,
		    audience: audience.input.value.trim() });
	};
	mode.input.addEventListener('change', sync);
	audience.input.addEventListener('input', sync);
	alg.input.addEventListener('change', sync);
	async function makeSecret() {
		try {
			const res = await api.post(idPath('/api/sites', site.id, '/token-secret'));
			auth = { ...auth, has_secret: true };
			sync();
			secretDialog({ title: t('siteWidget.secretTitle', { name: site.name }), secret: res.secret,
			    secretId: 'wa-secret-value', label: t('siteWidget.secret'), note: t('siteWidget.secretNote') });
		} catch (err) {
			secretState.textContent = errorMessage(err);
		}
	}
	sync();
	const fields = { mode, complexity, alg, public_key: pk, audience };
	openDialog({
		title: t('siteWidget.authTitle', { name: site.name }),
		content: h('div', { class: 'form-stack' }, mode.el, complexity.el, tokenBox),
		submitLabel: t('action.saveChanges'),
		submitId: 'wa-auth-save',
		size: 'lg',
		async onSubmit() {
			const body = { mode: mode.input.value };
			if (body.mode === 'captcha')
				body.complexity = Number(complexity.input.value);
			if (body.mode === 'token') {
				body.alg = alg.input.value;
				if (body.alg === 'EdDSA')
					body.public_key = pk.input.value.trim();
				if (audience.input.value.trim())
					body.audience = audience.input.value.trim();
			}
			try {
				await api.put(idPath('/api/sites', site.id, '/auth'), body);
			} catch (err) {
				if (err && err.code === 'no_secret') {
					secretState.textContent = errorMessage(err);
					secretBtn.focus();
					return false;
				}
				return fieldError(err, fields);
			}
			toast(t('siteWidget.authSaved', { name: site.name }));
			return true;
		},
	});
}

// Buttons for a site card (only for those who may change sites).
export function widgetActions(site, canWrite) {
	if (!canWrite)
		return [];
	return [
		button(t('siteWidget.appearance'), { size: 'sm', kind: 'secondary', iconName: 'edit',
		    srSuffix: site.name, attrs: { 'data-action': 'appearance' }, onClick: () => appearanceDialog(site) }),
		button(t('siteWidget.signIn'), { size: 'sm', kind: 'secondary', iconName: 'lock',
		    srSuffix: site.name, attrs: { 'data-action': 'sign-in' }, onClick: () => authDialog(site) }),
	];
}

// The organisation's outgoing mail server, for e-mail one-time codes. The
// password is sealed on the server and never shown again: leave the field
// empty to keep it.
export function mailCard(canWrite) {
	const body = h('div', { class: 'mail-summary' });
	const edit = canWrite ? button(t('action.edit'), { size: 'sm', kind: 'secondary', iconName: 'edit',
	    id: 'smtp-edit', srSuffix: t('siteWidget.mailTitle'), onClick: () => dialog() }) : null;
	const el = card({ title: t('siteWidget.mailTitle'), description: t('siteWidget.mailDesc'),
	    actions: edit, body, cls: 'mail-card' });
	let cur = {};

	function draw() {
		clear(body);
		if (!cur.host) {
			body.append(h('p', { class: 'muted' }, t('siteWidget.mailNone')));
			return;
		}
		body.append(h('dl', { class: 'mail-summary__list' },
		    h('dt', null, t('siteWidget.mailServer')), h('dd', null, `${cur.host}:${cur.port}` +
			(cur.starttls ? ` (${t('siteWidget.mailStarttls')})` : '')),
		    h('dt', null, t('siteWidget.mailFrom')), h('dd', null, cur.from_address),
		    h('dt', null, t('siteWidget.mailUser')), h('dd', null, cur.username ?
			`${cur.username} — ${cur.has_password ? t('siteWidget.mailPwSet') : t('siteWidget.mailPwNone')}` :
			t('siteWidget.mailNoUser'))));
	}

	async function load() {
		try {
			cur = (await api.get('/api/smtp')).smtp || {};
		} catch {
			cur = {};
		}
		draw();
	}

	function dialog() {
		const host = field({ id: 'smtp-host', label: t('siteWidget.mailHost'), required: true,
		    value: cur.host || '', attrs: { spellcheck: false, autocapitalize: 'none', maxLength: 253 } });
		const port = field({ id: 'smtp-port', type: 'number', label: t('siteWidget.mailPort'), required: true,
		    value: cur.port || 587, attrs: { min: 1, max: 65535, inputmode: 'numeric' } });
		const tls = checkbox({ id: 'smtp-starttls', name: 'starttls', value: '1',
		    label: t('siteWidget.mailStarttlsLabel'), checked: cur.host ? Boolean(cur.starttls) : true });
		const user = field({ id: 'smtp-user', label: t('siteWidget.mailUser'), value: cur.username || '',
		    autocomplete: 'off', attrs: { spellcheck: false, autocapitalize: 'none', maxLength: 254 } });
		const pw = field({ id: 'smtp-password', type: 'password', label: t('siteWidget.mailPassword'),
		    autocomplete: 'new-password', hint: cur.has_password ? t('siteWidget.mailPasswordKeep') : null,
		    attrs: { maxLength: 256 } });
		const from = field({ id: 'smtp-from', type: 'email', label: t('siteWidget.mailFrom'), required: true,
		    value: cur.from_address || '', attrs: { maxLength: 254 } });
		const fields = { host, port, username: user, password: pw, from_address: from };
		openDialog({
			title: t('siteWidget.mailTitle'),
			content: h('div', { class: 'form-stack' }, host.el, port.el, tls.el, user.el, pw.el, from.el),
			submitLabel: t('action.saveChanges'),
			submitId: 'smtp-save',
			async onSubmit() {
				const body = { host: host.input.value.trim(), port: Number(port.input.value),
				    starttls: tls.input.checked, from_address: from.input.value.trim() };
				if (user.input.value.trim())
					body.username = user.input.value.trim();
				if (pw.input.value)
					body.password = pw.input.value;
				else if (!body.username)
					body.password = '';
				try {
					cur = (await api.put('/api/smtp', body)).smtp || {};
				} catch (err) {
					return fieldError(err, fields);
				}
				draw();
				toast(t('siteWidget.mailSaved'));
				return true;
			},
		});
	}

	load();
	return el;
}
