// /platform/orgs: organisations (tenants) on this installation, for platform
// operators. Creating one also creates its first administrator, whose
// temporary password is shown once.

import { t, fmtDate, fmtNumber } from '../lib/i18n.js';
import { api, errorMessage } from '../lib/api.js';
import {
	h, clear, button, field, openDialog, secretDialog, pageHeader, emptyState, loading,
	errorBlock, toast, sortBy,
} from '../lib/ui.js';

export function slugify(name) {
	return String(name).normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
	    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48);
}

export async function render(root, ctx) {
	ctx.setTitle(t('orgs.title'));
	const createBtn = button(t('orgs.create'), { kind: 'primary', iconName: 'plus', id: 'org-create' });
	root.append(pageHeader({ title: t('orgs.title'), description: t('orgs.description'),
	    actions: createBtn }));
	const host = h('div', { class: 'card card--flush' });
	root.append(host);
	let orgs = [];

	async function load(focusId) {
		if (!orgs.length)
			clear(host).append(loading());
		try {
			const res = await api.get('/api/platform/orgs');
			orgs = sortBy(res.orgs || [], (o) => o.name);
			draw(focusId);
		} catch (err) {
			if (err && err.redirecting)
				return;
			clear(host).append(errorBlock(err, () => load()));
		}
	}

	function draw(highlightId) {
		clear(host);
		if (!orgs.length) {
			host.append(emptyState({ title: t('orgs.empty'), text: t('orgs.emptyText'),
			    iconName: 'orgs' }));
			return;
		}
		const tbody = h('tbody');
		for (const o of orgs) {
			const n = Number(o.user_count) || 0;
			tbody.append(h('tr', { dataset: { orgId: o.id },
			    class: highlightId !== undefined && String(highlightId) === String(o.id) ? 'is-new' : '' },
			h('th', { scope: 'row', class: 'table__primary' }, o.name),
			h('td', null, h('code', { class: 'tag' }, o.slug)),
			h('td', { class: 'num' }, fmtNumber(n)),
			h('td', { class: 'nowrap' }, fmtDate(o.created_at))));
		}
		host.append(h('div', { class: 'table-wrap', tabIndex: 0, role: 'region',
		    'aria-labelledby': 'orgs-caption' },
		h('table', { class: 'table', id: 'orgs-table' },
		    h('caption', { id: 'orgs-caption', class: 'sr-only' }, t('orgs.caption')),
		    h('thead', null, h('tr', null,
			h('th', { scope: 'col' }, t('orgs.colName')),
			h('th', { scope: 'col' }, t('orgs.colSlug')),
			h('th', { scope: 'col', class: 'num' }, t('orgs.colUsers')),
			h('th', { scope: 'col' }, t('orgs.colCreated')))),
		    tbody)));
	}

	function orgDialog() {
		const name = field({ id: 'org-name', label: t('orgs.name'), required: true,
		    autocomplete: 'organization' });
		const slug = field({ id: 'org-slug', label: t('orgs.slug'), required: true,
		    autocomplete: 'off', hint: t('orgs.slugHint'),
		    attrs: { spellcheck: false, autocapitalize: 'none', maxLength: 48 } });
		const email = field({ id: 'org-admin-email', type: 'email', label: t('orgs.adminEmail'),
		    required: true, autocomplete: 'off', attrs: { spellcheck: false } });
		const adminName = field({ id: 'org-admin-name', label: t('orgs.adminName'), required: true,
		    autocomplete: 'off' });
		let slugTouched = false;
		slug.input.addEventListener('input', () => {
			slugTouched = slug.input.value !== '';
		});
		name.input.addEventListener('input', () => {
			if (!slugTouched)
				slug.input.value = slugify(name.input.value);
		});
		const fields = { name, slug, admin_email: email, admin_name: adminName };
		openDialog({
			title: t('orgs.createTitle'),
			content: h('div', { class: 'form-stack' },
			    h('div', { class: 'form-grid' }, name.el, slug.el),
			    h('h3', { class: 'form-section' }, t('orgs.adminSection')),
			    h('p', { class: 'muted' }, t('orgs.adminIntro')),
			    h('div', { class: 'form-grid' }, email.el, adminName.el)),
			submitLabel: t('orgs.createSubmit'),
			submitId: 'org-save',
			async onSubmit(ctl) {
				const body = { name: name.input.value.trim(), slug: slug.input.value.trim(),
				    admin_email: email.input.value.trim(), admin_name: adminName.input.value.trim() };
				for (const f of Object.values(fields))
					f.setError('');
				let bad = null;
				if (!body.name) {
					name.setError(t('orgs.errName'));
					bad = name;
				}
				if (!/^[a-z0-9][a-z0-9-]{1,62}$/.test(body.slug)) {
					slug.setError(t('orgs.errSlug'));
					bad = bad || slug;
				}
				if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(body.admin_email)) {
					email.setError(t('orgs.errEmail'));
					bad = bad || email;
				}
				if (!body.admin_name) {
					adminName.setError(t('orgs.errAdminName'));
					bad = bad || adminName;
				}
				if (bad) {
					bad.input.focus();
					return false;
				}
				let res;
				try {
					res = await api.post('/api/platform/orgs', body);
				} catch (err) {
					if (err && err.code === 'conflict') {
						slug.setError(err.serverMessage || t('orgs.errSlugTaken'));
						slug.input.focus();
						return false;
					}
					const f = err && err.field ? fields[err.field] : null;
					if (f) {
						f.setError(errorMessage(err));
						f.input.focus();
						return false;
					}
					throw err;
				}
				toast(t('orgs.created', { name: body.name }));
				ctl.afterClose = () => {
					load(res.org ? res.org.id : undefined);
					if (res.temporary_password) {
						secretDialog({ title: t('orgs.createdTitle'),
						    intro: t('orgs.createdText', { name: body.name,
							email: (res.admin && res.admin.email) || body.admin_email }),
						    secret: res.temporary_password });
					}
				};
				return true;
			},
		});
	}

	createBtn.addEventListener('click', orgDialog);
	await load();
}
