// /login: e-mail and password, then (when the account has two-factor
// authentication) a 6-digit code. Hooks: #email, #password, #login-submit,
// #totp-code, #login-error. One submit button serves both steps.

import { t, fmtWait } from '../lib/i18n.js';
import { api, errorMessage, setCsrfToken } from '../lib/api.js';
import { h, field, icon } from '../lib/ui.js';
import { authShell } from '../lib/authshell.js';

function destination(mustChange) {
	return mustChange ? '/password' : '/';
}

export function render(root, ctx) {
	ctx.setTitle(t('login.title'));
	const shell = authShell(root, { title: t('login.title'), subtitle: t('login.subtitle') });

	const email = field({ id: 'email', type: 'email', label: t('login.email'), required: true,
	    autocomplete: 'username', attrs: { spellcheck: false, autocapitalize: 'none' } });
	const password = field({ id: 'password', type: 'password', label: t('login.password'),
	    required: true, autocomplete: 'current-password' });
	const code = field({ id: 'totp-code', type: 'text', label: t('login.code'), required: true,
	    autocomplete: 'one-time-code', hint: t('login.codeHint'),
	    attrs: { inputMode: 'numeric', maxLength: 9, spellcheck: false } });

	const errorBox = h('div', { id: 'login-error', class: 'form-error', role: 'alert' });
	for (const f of [email, password, code]) {
		f.input.setAttribute('aria-describedby',
		    `${f.input.getAttribute('aria-describedby')} login-error`);
	}

	const submitText = h('span', null, t('login.submit'));
	const submit = h('button', { type: 'submit', id: 'login-submit',
	    class: 'btn btn--primary btn--block' },
	h('span', { class: 'btn__spinner', 'aria-hidden': 'true' }), submitText);

	const step1 = h('div', { class: 'form-stack' }, email.el, password.el);
	const back = h('button', { type: 'button', class: 'btn btn--link' }, t('login.back'));
	const step2 = h('div', { class: 'form-stack', hidden: true },
	    h('div', { class: 'mfa-note' }, icon('shield'), h('p', null, t('login.mfaNote'))),
	    code.el);
	const form = h('form', { class: 'form-stack', novalidate: true, 'aria-labelledby': 'auth-title' },
	    step1, step2, errorBox, submit,
	    h('div', { class: 'auth__alt', hidden: true }, back));
	shell.body.append(form);

	let step = 'password';
	let busy = false;

	const setError = (msg) => {
		errorBox.textContent = msg || '';
		errorBox.classList.toggle('form-error--shown', Boolean(msg));
	};
	const setBusy = (on) => {
		busy = on;
		submit.classList.toggle('is-busy', on);
		if (on)
			submit.setAttribute('aria-disabled', 'true');
		else
			submit.removeAttribute('aria-disabled');
	};

	function showStep(which) {
		step = which;
		const mfa = which === 'code';
		step1.hidden = mfa;
		step2.hidden = !mfa;
		back.parentElement.hidden = !mfa;
		submitText.textContent = mfa ? t('login.verify') : t('login.submit');
		shell.titleEl.textContent = mfa ? t('login.mfaTitle') : t('login.title');
		shell.subEl.textContent = mfa ? t('login.mfaSubtitle') : t('login.subtitle');
		ctx.setTitle(mfa ? t('login.mfaTitle') : t('login.title'));
		code.input.value = '';
		(mfa ? code.input : password.input).focus();
	}
	back.addEventListener('click', () => {
		setError('');
		password.input.value = '';
		showStep('password');
	});

	function failMessage(err) {
		switch (err.code) {
		case 'invalid_credentials':
			return t('login.errInvalid');
		case 'invalid_code':
			return t('login.errCode');
		case 'account_disabled':
			return t('login.errDisabled');
		case 'too_many_attempts':
			return err.retryAfter ? t('login.errTooManyWait', { wait: fmtWait(err.retryAfter) }) :
			    t('login.errTooMany');
		case 'csrf':
			return t('login.errCsrf');
		default:
			return errorMessage(err);
		}
	}

	async function submitPassword() {
		const e = email.input.value.trim();
		const p = password.input.value;
		let bad = null;
		if (!e) {
			email.setError(t('login.errEmailEmpty'));
			bad = email;
		} else if (!/^[^\s@]+@[^\s@]+$/.test(e)) {
			email.setError(t('login.errEmailFormat'));
			bad = email;
		}
		if (!p) {
			password.setError(t('login.errPasswordEmpty'));
			bad = bad || password;
		}
		if (bad) {
			bad.input.focus();
			return;
		}
		setBusy(true);
		let res;
		try {
			res = await api.post('/api/auth/login', { email: e, password: p }, { noRedirect: true });
		} catch (err) {
			setBusy(false);
			setError(failMessage(err));
			if (err.code === 'invalid_credentials') {
				password.input.value = '';
				password.input.focus();
			}
			return;
		}
		if (res && res.mfa_required) {
			// The half-signed-in session has its own CSRF token; /api/me
			// hands it out before the second factor.
			try {
				const me = await api.get('/api/me', { noRedirect: true });
				setCsrfToken(me && me.csrf_token);
			} catch {
				// the code step will report what goes wrong
			}
			setBusy(false);
			showStep('code');
			return;
		}
		location.assign(destination(res && res.must_change_password));
	}

	async function submitCode() {
		const c = code.input.value.replace(/[\s-]/g, '');
		if (!/^\d{6}$/.test(c)) {
			code.setError(t('login.errCodeFormat'));
			code.input.focus();
			return;
		}
		setBusy(true);
		let res;
		try {
			res = await api.post('/api/auth/totp', { code: c }, { noRedirect: true });
		} catch (err) {
			setBusy(false);
			if (err.code === 'unauthenticated') {
				// The half-finished sign-in expired: start again.
				password.input.value = '';
				showStep('password');
				setError(t('login.errExpired'));
				return;
			}
			setError(failMessage(err));
			code.input.value = '';
			code.input.focus();
			return;
		}
		location.assign(destination(res && res.must_change_password));
	}

	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		if (busy)
			return;
		setError('');
		if (step === 'password')
			submitPassword();
		else
			submitCode();
	});
	email.input.focus();
}
