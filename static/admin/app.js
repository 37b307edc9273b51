// Entry point of the staff UI.
//
// The server renders templates/page.html or templates/login.html with
// <body data-page="…">. This module loads the translation table, and for
// signed-in pages fetches /api/me, draws the shared chrome (top bar, main
// navigation filtered by permission) and then loads ./pages/<page>.js, whose
// render(root, ctx) fills <main>.

import { initI18n, t } from './lib/i18n.js';
import { api, setCsrfToken, errorMessage } from './lib/api.js';
import { h, clear, icon, avatar, toastError, errorBlock, brandMark } from './lib/ui.js';

// page → where it lives, what it needs, how it looks in the navigation.
const NAV = [
	{ section: 'nav.section.contact', items: [
		{ page: 'console', href: '/console', perm: 'console.agent', icon: 'inbox' },
		{ page: 'supervisor', href: '/supervisor', perm: 'console.supervisor', icon: 'users' },
		{ page: 'recordings', href: '/console/recordings', perm: 'recordings.read', icon: 'mic' },
	] },
	{ section: 'nav.section.admin', items: [
		{ page: 'users', href: '/admin/users', perm: 'users.read', icon: 'users' },
		{ page: 'units', href: '/admin/units', perm: 'units.read', icon: 'units' },
		{ page: 'roles', href: '/admin/roles', perm: 'roles.read', icon: 'roles' },
		{ page: 'skills', href: '/admin/skills', perm: 'users.read', icon: 'skills' },
		{ page: 'sites', href: '/admin/sites', perm: 'sites.read', icon: 'sites' },
		{ page: 'queues', href: '/admin/queues', perm: 'queues.read', icon: 'inbox' },
		{ page: 'contact-settings', href: '/admin/contact-settings', perm: 'queues.read', icon: 'filter' },
		{ page: 'audit', href: '/admin/audit', perm: 'audit.read', icon: 'audit' },
	] },
	{ section: 'nav.section.platform', items: [
		{ page: 'orgs', href: '/platform/orgs', perm: 'platform.orgs', icon: 'orgs' },
	] },
	{ section: 'nav.section.personal', items: [
		{ page: 'account', href: '/account', perm: null, icon: 'account' },
	] },
];

const AUTH_PAGES = new Set(['login', 'password']);
const PAGE_INFO = new Map(NAV.flatMap((s) => s.items.map((i) => [i.page, i])));

function setTitle(title, me) {
	const parts = [title];
	if (me && me.tenant && me.tenant.name)
		parts.push(me.tenant.name);
	parts.push(t('app.name'));
	document.title = parts.filter(Boolean).join(' · ');
}

function can(me, perm) {
	return !perm || (Array.isArray(me.permissions) && me.permissions.includes(perm));
}

async function signOut(btn) {
	btn.setAttribute('aria-disabled', 'true');
	try {
		await api.post('/api/auth/logout', undefined, { noRedirect: true });
	} catch (err) {
		// A session that is already gone is signed out too.
		if (!(err && (err.status === 401))) {
			btn.removeAttribute('aria-disabled');
			toastError(err);
			return;
		}
	}
	location.assign('/login');
}

function renderTopbar(me) {
	const topbar = document.getElementById('topbar');
	clear(topbar);
	const nav = document.getElementById('sidenav');
	const toggle = h('button', { type: 'button', class: 'icon-btn topbar__menu',
	    'aria-expanded': 'false', 'aria-controls': 'sidenav', 'aria-label': t('nav.toggle') },
	icon('menu'));
	toggle.addEventListener('click', () => {
		const open = toggle.getAttribute('aria-expanded') !== 'true';
		toggle.setAttribute('aria-expanded', String(open));
		nav.classList.toggle('is-open', open);
		if (open) {
			const first = nav.querySelector('a');
			if (first)
				first.focus();
		}
	});
	nav.addEventListener('keydown', (e) => {
		if (e.key === 'Escape' && nav.classList.contains('is-open')) {
			nav.classList.remove('is-open');
			toggle.setAttribute('aria-expanded', 'false');
			toggle.focus();
		}
	});

	const signOutBtn = h('button', { type: 'button', id: 'sign-out',
	    class: 'btn btn--ghost-inverse btn--sm topbar__signout' }, icon('logout'),
	h('span', { class: 'topbar__signout-text' }, t('nav.signOut')));
	signOutBtn.addEventListener('click', () => signOut(signOutBtn));

	const home = PAGE_INFO.get(firstPage(me)) || PAGE_INFO.get('account');
	topbar.append(
	    toggle,
	    h('a', { class: 'brand', href: home.href }, brandMark(),
		h('span', { class: 'brand__name' }, t('app.name'))),
	    me.tenant && me.tenant.name ? h('span', { class: 'topbar__org' },
		h('span', { class: 'sr-only' }, `${t('nav.organisation')}: `), me.tenant.name) : null,
	    h('span', { class: 'topbar__spacer' }),
	    h('div', { class: 'usermenu', role: 'group', 'aria-label': t('nav.userMenu') },
		h('a', { class: 'usermenu__account', href: '/account',
		    'aria-current': document.body.dataset.page === 'account' ? 'page' : null },
		avatar(me.name || me.email),
		h('span', { class: 'usermenu__text' },
		    h('span', { class: 'usermenu__name' }, me.name || me.email),
		    h('span', { class: 'usermenu__sub' }, t('nav.account')))),
		signOutBtn));
}

function firstPage(me) {
	for (const s of NAV)
		for (const i of s.items)
			if (can(me, i.perm))
				return i.page;
	return 'account';
}

function renderNav(me, page) {
	const nav = document.getElementById('sidenav');
	nav.setAttribute('aria-label', t('nav.main'));
	clear(nav);
	for (const s of NAV) {
		const items = s.items.filter((i) => can(me, i.perm));
		if (items.length === 0)
			continue;
		const headId = `nav-${s.section.replace(/\W/g, '-')}`;
		nav.appendChild(h('div', { class: 'nav-section' },
		    h('h2', { class: 'nav-section__title', id: headId }, t(s.section)),
		    h('ul', { class: 'nav-list', 'aria-labelledby': headId },
			items.map((i) => h('li', null, h('a', {
				class: 'nav-link', href: i.href,
				'aria-current': i.page === page ? 'page' : null,
			}, icon(i.icon), h('span', null, t(`nav.${i.page}`))))))));
	}
}

function renderFatal(root, err, title) {
	clear(root);
	root.append(h('div', { class: 'page-header' }, h('div', { class: 'page-header__text' },
	    h('h1', { class: 'page-header__title' }, title || t('state.error')))),
	err ? errorBlock(err, () => location.reload()) :
	    h('p', null, h('a', { href: '/' }, t('state.home'))));
}

function renderForbidden(root, me) {
	clear(root);
	const home = PAGE_INFO.get(firstPage(me));
	root.append(h('div', { class: 'page-header' }, h('div', { class: 'page-header__text' },
	    h('h1', { class: 'page-header__title' }, t('state.forbiddenTitle')),
	    h('p', { class: 'page-header__desc' }, t('state.forbiddenText')))),
	h('p', null, h('a', { class: 'btn btn--primary', href: home.href },
	    t('state.goTo', { page: t(`nav.${home.page}`) }))));
}

async function loadPage(name) {
	// Only names we know: the attribute comes from the server, but stay strict.
	const known = AUTH_PAGES.has(name) || PAGE_INFO.has(name);
	if (!known)
		throw new Error(`unknown page ${name}`);
	return import(`./pages/${name}.js`);
}

async function main() {
	await initI18n();
	const page = document.body.dataset.page || '';
	const root = document.getElementById('main');
	const skip = document.querySelector('.skip-link');
	if (skip)
		skip.textContent = t('nav.skip');

	if (AUTH_PAGES.has(page)) {
		const mod = await loadPage(page);
		await mod.render(root, { t, api, setTitle: (x) => setTitle(x, null) });
		return;
	}

	let me;
	try {
		me = await api.get('/api/me');
	} catch (err) {
		if (err && err.redirecting)
			return;
		renderFatal(root, err);
		return;
	}
	setCsrfToken(me.csrf_token);
	if (!Array.isArray(me.permissions))
		me.permissions = [];
	renderTopbar(me);
	renderNav(me, page);

	const info = PAGE_INFO.get(page);
	if (page === 'forbidden' || (info && !can(me, info.perm))) {
		setTitle(t('state.forbiddenTitle'), me);
		renderForbidden(root, me);
		return;
	}
	if (!info) {
		renderFatal(root, null, t('state.notFoundTitle'));
		return;
	}
	const ctx = {
		me, t, api,
		can: (perm) => can(me, perm),
		setTitle: (x) => setTitle(x, me),
	};
	try {
		const mod = await loadPage(page);
		clear(root);
		await mod.render(root, ctx);
	} catch (err) {
		if (err && err.redirecting)
			return;
		console.error(err);
		renderFatal(root, err);
	}
}

main().catch((err) => {
	console.error(err);
	const root = document.getElementById('main');
	if (root) {
		clear(root);
		root.append(h('h1', null, 'Virtual Branch'),
		    h('p', { role: 'alert' }, errorMessage(err)));
	}
});
