// /password: the forced change of a one-time password, then on to "/".

import { t } from '../lib/i18n.js';
import { api } from '../lib/api.js';
import { h } from '../lib/ui.js';
import { authShell } from '../lib/authshell.js';
import { passwordForm } from '../lib/passwordform.js';

export async function render(root, ctx) {
	ctx.setTitle(t('passwordPage.title'));
	const shell = authShell(root, { title: t('passwordPage.title'),
	    subtitle: t('passwordPage.subtitle') });

	let me = null;
	try {
		me = await api.get('/api/me', { noRedirect: true });
	} catch (err) {
		if (err && err.code === 'unauthenticated') {
			location.assign('/login');
			return;
		}
	}
	if (me && me.csrf_token) {
		const meta = document.querySelector('meta[name="csrf-token"]');
		if (meta && !meta.content)
			meta.content = me.csrf_token;
	}

	const { form } = passwordForm({
		currentLabel: me && !me.must_change_password ? t('password.current') :
		    t('passwordPage.current'),
		submitLabel: t('passwordPage.submit'),
		username: me ? me.email : undefined,
		onDone: () => location.assign('/'),
	});
	if (me && me.email) {
		shell.body.append(h('p', { class: 'auth__who' }, t('passwordPage.signedInAs'), ' ',
		    h('strong', null, me.email)));
	}
	const signOut = h('button', { type: 'button', id: 'sign-out', class: 'btn btn--link' },
	    t('nav.signOut'));
	signOut.addEventListener('click', async () => {
		try {
			await api.post('/api/auth/logout', undefined, { noRedirect: true });
		} catch {
			// signed out either way
		}
		location.assign('/login');
	});
	shell.body.append(form, h('div', { class: 'auth__alt' }, signOut));
	const first = form.querySelector('#current-password');
	if (first)
		first.focus();
}
