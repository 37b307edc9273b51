// The change-password form, shared by /password (forced change of a one-time
// password) and /account. Ids are stable hooks for the browser tests:
// #current-password, #new-password, #confirm-password, #password-submit.

import { t } from './i18n.js';
import { api, errorMessage } from './api.js';
import { h, field, icon } from './ui.js';

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 200;

export function passwordForm({ currentLabel, submitLabel, onDone, username } = {}) {
	const current = field({ id: 'current-password', type: 'password',
	    label: currentLabel || t('password.current'), required: true,
	    autocomplete: 'current-password' });
	const next = field({ id: 'new-password', type: 'password', label: t('password.new'),
	    required: true, autocomplete: 'new-password',
	    hint: t('password.rule', { min: PASSWORD_MIN }),
	    attrs: { maxLength: PASSWORD_MAX } });
	const confirm = field({ id: 'confirm-password', type: 'password',
	    label: t('password.confirm'), required: true, autocomplete: 'new-password',
	    attrs: { maxLength: PASSWORD_MAX } });

	// A quiet, non-live progress line under the new password.
	const meterText = h('span', null, '');
	const meter = h('p', { class: 'pw-meter', 'aria-hidden': 'true' }, icon('check'), meterText);
	const updateMeter = () => {
		const n = next.input.value.length;
		const ok = n >= PASSWORD_MIN;
		meter.classList.toggle('pw-meter--ok', ok);
		meterText.textContent = ok ? t('password.meterOk') :
		    t('password.meterMore', { count: PASSWORD_MIN - n });
	};
	next.input.addEventListener('input', updateMeter);
	updateMeter();
	next.el.insertBefore(meter, next.errorEl);

	const formError = h('div', { class: 'form-error', id: 'password-error', role: 'alert' });
	const submit = h('button', { type: 'submit', id: 'password-submit',
	    class: 'btn btn--primary' }, h('span', { class: 'btn__spinner', 'aria-hidden': 'true' }),
	h('span', null, submitLabel || t('password.submit')));

	const form = h('form', { class: 'form-stack', novalidate: true },
	    username ? h('input', { type: 'text', class: 'sr-only-input', autocomplete: 'username',
		value: username, readOnly: true, tabIndex: -1, 'aria-hidden': 'true',
		name: 'username', 'aria-label': t('password.username') }) : null,
	    current.el, next.el, confirm.el, formError,
	    h('div', { class: 'form-actions' }, submit));

	let busy = false;
	const setFormError = (msg) => {
		formError.textContent = msg || '';
		formError.classList.toggle('form-error--shown', Boolean(msg));
	};

	form.addEventListener('submit', async (e) => {
		e.preventDefault();
		if (busy)
			return;
		setFormError('');
		for (const f of [current, next, confirm])
			f.setError('');
		const cur = current.input.value;
		const nw = next.input.value;
		let bad = null;
		if (!cur) {
			current.setError(t('password.errCurrent'));
			bad = bad || current;
		}
		if (nw.length < PASSWORD_MIN) {
			next.setError(t('password.errShort', { min: PASSWORD_MIN }));
			bad = bad || next;
		} else if (nw.length > PASSWORD_MAX) {
			next.setError(t('password.errLong', { max: PASSWORD_MAX }));
			bad = bad || next;
		} else if (cur && nw === cur) {
			next.setError(t('password.errSame'));
			bad = bad || next;
		}
		if (!bad && confirm.input.value !== nw) {
			confirm.setError(t('password.errMatch'));
			bad = confirm;
		}
		if (bad) {
			bad.input.focus();
			return;
		}
		busy = true;
		submit.setAttribute('aria-disabled', 'true');
		submit.classList.add('is-busy');
		try {
			await api.post('/api/me/password', { current_password: cur, new_password: nw });
		} catch (err) {
			busy = false;
			submit.removeAttribute('aria-disabled');
			submit.classList.remove('is-busy');
			if (err && err.redirecting)
				return;
			if (err.code === 'invalid_credentials' || err.field === 'current_password') {
				current.setError(err.code === 'invalid_credentials' ?
				    t('password.errWrongCurrent') : errorMessage(err));
				current.input.focus();
			} else if (err.field === 'new_password') {
				next.setError(errorMessage(err));
				next.input.focus();
			} else {
				setFormError(errorMessage(err, { too_many_attempts: 'error.too_many_attempts' }));
			}
			return;
		}
		busy = false;
		submit.removeAttribute('aria-disabled');
		submit.classList.remove('is-busy');
		form.reset();
		updateMeter();
		if (onDone)
			onDone();
	});
	return { form, current, next, confirm };
}
