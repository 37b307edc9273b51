// /account: the signed-in user's profile, password change and two-factor
// authentication (set up with QR code or key, confirm with a code, turn off
// with the password).

import { t } from '../lib/i18n.js';
import { api, errorMessage } from '../lib/api.js';
import {
	h, clear, badge, avatar, field, pageHeader, card, toast, copyButton, icon, button,
} from '../lib/ui.js';
import { passwordForm } from '../lib/passwordform.js';

function svgDataUrl(svg) {
	const bytes = new TextEncoder().encode(String(svg));
	let bin = '';
	for (let i = 0; i < bytes.length; i += 0x8000)
		bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
	return `data:image/svg+xml;base64,${btoa(bin)}`;
}

function levelMeter(level) {
	const n = Math.max(0, Math.min(5, Number(level) || 0));
	return h('span', { class: 'level', title: t('account.levelOf', { level: n }) },
	    h('span', { class: 'level__dots', 'aria-hidden': 'true' },
		[1, 2, 3, 4, 5].map((i) => h('span', { class: i <= n ? 'level__dot is-on' : 'level__dot' }))),
	    h('span', { class: 'sr-only' }, t('account.levelOf', { level: n })));
}

export async function render(root, ctx) {
	const me = ctx.me;
	ctx.setTitle(t('account.title'));
	root.append(pageHeader({ title: t('account.title'), description: t('account.description') }));

	// Profile
	const list = (items, empty) => items && items.length ?
	    h('ul', { class: 'chips' }, items.map((x) => h('li', { class: 'chip' }, x.name))) :
	    h('span', { class: 'muted' }, empty);
	const skills = me.skills && me.skills.length ?
	    h('ul', { class: 'skill-levels' }, me.skills.map((s) => h('li', null,
		h('span', { class: 'skill-levels__name' }, s.name), levelMeter(s.level)))) :
	    h('span', { class: 'muted' }, t('account.noSkills'));
	const profile = card({
		title: t('account.profile'),
		body: h('div', { class: 'profile' },
		    h('div', { class: 'profile__head' }, avatar(me.name || me.email, 'avatar--lg'),
			h('div', null, h('p', { class: 'profile__name' }, me.name || me.email),
			    h('p', { class: 'profile__email' }, me.email))),
		    h('dl', { class: 'deflist' },
			h('div', null, h('dt', null, t('account.organisation')),
			    h('dd', null, me.tenant ? me.tenant.name : '—')),
			h('div', null, h('dt', null, t('account.roles')),
			    h('dd', null, list(me.roles, t('account.noRoles')))),
			h('div', null, h('dt', null, t('account.units')),
			    h('dd', null, list(me.units, t('account.noUnits')))),
			h('div', null, h('dt', null, t('account.skills')), h('dd', null, skills)))),
	});

	// Password
	const pw = passwordForm({
		username: me.email,
		submitLabel: t('account.changePassword'),
		onDone: () => toast(t('account.passwordChanged')),
	});
	const password = card({ title: t('account.password'), description: t('account.passwordDesc'),
	    body: pw.form });

	// Two-factor
	const tfaBody = h('div', { class: 'tfa' });
	const tfaStatus = h('span', { id: 'totp-status' });
	const tfa = card({ title: t('account.tfa'), description: t('account.tfaDesc'),
	    actions: tfaStatus, body: tfaBody });

	function drawStatus() {
		clear(tfaStatus).append(me.totp_enabled ? badge(t('account.tfaOn'), 'success') :
		    badge(t('account.tfaOff'), 'warning'));
	}

	function drawOff(focus) {
		drawStatus();
		clear(tfaBody);
		const start = button(t('account.tfaSetup'), { kind: 'primary', iconName: 'shield',
		    id: 'totp-setup' });
		const err = h('p', { class: 'form-error', role: 'alert' });
		start.addEventListener('click', async () => {
			start.classList.add('is-busy');
			start.setAttribute('aria-disabled', 'true');
			err.textContent = '';
			err.classList.remove('form-error--shown');
			try {
				const res = await api.post('/api/me/totp/setup');
				drawEnrol(res);
			} catch (e) {
				start.classList.remove('is-busy');
				start.removeAttribute('aria-disabled');
				if (e && e.redirecting)
					return;
				err.textContent = errorMessage(e);
				err.classList.add('form-error--shown');
			}
		});
		tfaBody.append(h('p', null, t('account.tfaOffText')), err,
		    h('div', { class: 'form-actions' }, start));
		if (focus)
			start.focus();
	}

	function drawEnrol(setup) {
		clear(tfaBody);
		const qr = h('img', { id: 'totp-qr', class: 'tfa__qr', src: svgDataUrl(setup.qr_svg),
		    alt: t('account.tfaQrAlt'), width: 200, height: 200 });
		const secretId = 'totp-secret-label';
		const code = field({ id: 'totp-enable-code', label: t('account.tfaCode'), required: true, cls: 'field--short',
		    autocomplete: 'one-time-code', hint: t('account.tfaCodeHint'),
		    attrs: { inputMode: 'numeric', maxLength: 9, spellcheck: false } });
		const submit = h('button', { type: 'submit', id: 'totp-enable', class: 'btn btn--primary' },
		    h('span', { class: 'btn__spinner', 'aria-hidden': 'true' }),
		    h('span', null, t('account.tfaEnable')));
		const cancel = button(t('action.cancel'), { kind: 'secondary', id: 'totp-cancel',
		    onClick: () => drawOff(true) });
		const err = h('p', { class: 'form-error', role: 'alert' });
		const form = h('form', { class: 'form-stack', novalidate: true },
		    code.el, err, h('div', { class: 'form-actions' }, cancel, submit));
		let busy = false;
		form.addEventListener('submit', async (e) => {
			e.preventDefault();
			if (busy)
				return;
			err.textContent = '';
			err.classList.remove('form-error--shown');
			const c = code.input.value.replace(/[\s-]/g, '');
			if (!/^\d{6}$/.test(c)) {
				code.setError(t('account.tfaErrFormat'));
				code.input.focus();
				return;
			}
			busy = true;
			submit.classList.add('is-busy');
			try {
				await api.post('/api/me/totp/enable', { code: c });
			} catch (x) {
				busy = false;
				submit.classList.remove('is-busy');
				if (x && x.redirecting)
					return;
				if (x.code === 'invalid_code' || x.field === 'code' || x.code === 'invalid') {
					code.setError(x.code === 'invalid_code' ? t('account.tfaErrCode') : errorMessage(x));
					code.input.focus();
				} else {
					err.textContent = errorMessage(x);
					err.classList.add('form-error--shown');
				}
				return;
			}
			me.totp_enabled = true;
			toast(t('account.tfaEnabled'));
			drawOn(true);
		});
		tfaBody.append(h('ol', { class: 'steps' },
		    h('li', { class: 'steps__item' },
			h('h3', { class: 'steps__title' }, t('account.tfaStep1')),
			h('p', { class: 'muted' }, t('account.tfaStep1Text')),
			h('div', { class: 'tfa__enrol' },
			    h('div', { class: 'tfa__qr-frame' }, qr),
			    h('div', { class: 'tfa__manual' },
				h('p', { class: 'site__label', id: secretId }, t('account.tfaSecret')),
				h('div', { class: 'copy-field' },
				    h('code', { id: 'totp-secret', class: 'copy-field__value',
					'aria-labelledby': secretId, dataset: { secret: setup.secret } },
				    String(setup.secret)),
				    copyButton(setup.secret, { what: t('account.tfaSecret') })),
				h('p', { class: 'field__hint' }, t('account.tfaSecretHint'))))),
		    h('li', { class: 'steps__item' },
			h('h3', { class: 'steps__title' }, t('account.tfaStep2')),
			form)));
		code.input.focus();
	}

	function drawOn(focus) {
		drawStatus();
		clear(tfaBody);
		const pwField = field({ id: 'totp-disable-password', type: 'password',
		    label: t('account.tfaDisablePassword'), required: true,
		    autocomplete: 'current-password' });
		const submit = h('button', { type: 'submit', id: 'totp-disable', class: 'btn btn--danger' },
		    h('span', { class: 'btn__spinner', 'aria-hidden': 'true' }),
		    h('span', null, t('account.tfaDisable')));
		const err = h('p', { class: 'form-error', role: 'alert' });
		const form = h('form', { class: 'form-stack form-narrow', novalidate: true,
		    'aria-label': t('account.tfaDisableTitle') },
		pwField.el, err, h('div', { class: 'form-actions' }, submit));
		let busy = false;
		form.addEventListener('submit', async (e) => {
			e.preventDefault();
			if (busy)
				return;
			err.textContent = '';
			err.classList.remove('form-error--shown');
			if (!pwField.input.value) {
				pwField.setError(t('account.tfaErrPassword'));
				pwField.input.focus();
				return;
			}
			busy = true;
			submit.classList.add('is-busy');
			try {
				await api.post('/api/me/totp/disable', { password: pwField.input.value },
				    { noRedirect: true });
			} catch (x) {
				busy = false;
				submit.classList.remove('is-busy');
				if (x.code === 'invalid_credentials' || x.field === 'password' ||
				    (x.status === 401 && x.code !== 'unauthenticated')) {
					pwField.setError(t('account.tfaErrWrongPassword'));
					pwField.input.value = '';
					pwField.input.focus();
				} else if (x.code === 'unauthenticated') {
					location.assign('/login');
				} else {
					err.textContent = errorMessage(x);
					err.classList.add('form-error--shown');
				}
				return;
			}
			me.totp_enabled = false;
			toast(t('account.tfaDisabled'));
			drawOff(true);
		});
		tfaBody.append(h('div', { class: 'callout callout--success' }, icon('shield'),
		    h('p', null, t('account.tfaOnText'))),
		h('h3', { class: 'form-section' }, t('account.tfaDisableTitle')),
		h('p', { class: 'muted' }, t('account.tfaDisableText')), form);
		if (focus)
			pwField.input.focus();
	}

	if (me.totp_enabled)
		drawOn(false);
	else
		drawOff(false);

	root.append(h('div', { class: 'account-grid' }, profile,
	    h('div', { class: 'account-grid__side' }, tfa, password)));
}
