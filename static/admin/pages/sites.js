// /admin/sites: web sites that embed the customer widget. Each has a name,
// the origins allowed to load it, a public site key (copy, rotate) and the
// embed code to paste into the site.

import { t, fmtDate } from '../lib/i18n.js';
import { api, idPath, errorMessage } from '../lib/api.js';
import {
	h, clear, button, field, openDialog, confirmDialog, pageHeader, emptyState,
	loading, errorBlock, toast, copyButton, icon, uid, sortBy,
} from '../lib/ui.js';
import { routingBlock } from '../lib/siterouting.js';
import { widgetActions, mailCard } from './site_widget.js';
import { filesSection } from './site_files.js';
import { recordingSection } from './site_recording.js';
import { cobrowseSection } from './site_cobrowse.js';

export function embedCode(siteKey) {
	return `<script async src="${location.origin}/widget/loader.js" data-vb-site="${siteKey}"></script>`;
}

// Parse the origins textarea: one origin a line, scheme://host[:port], no
// path. Returns {origins} or {error} naming the first bad line.
export function parseOrigins(text) {
	const out = [];
	const lines = String(text).split(/\r?\n/);
	for (let i = 0; i < lines.length; i++) {
		let line = lines[i].trim();
		if (!line)
			continue;
		line = line.replace(/\/+$/, '');
		let u = null;
		try {
			u = new URL(line);
		} catch {
			u = null;
		}
		if (!u || !/^https?:$/.test(u.protocol) || !u.hostname) {
			return { error: t('sites.errOrigin', { line: i + 1, value: lines[i].trim() }) };
		}
		if (u.username || u.password || (u.pathname && u.pathname !== '/') || u.search || u.hash ||
		    /^[a-z]+:\/\/[^/]+\/./i.test(line)) {
			return { error: t('sites.errOriginPath', { line: i + 1, value: lines[i].trim() }) };
		}
		if (!out.includes(u.origin))
			out.push(u.origin);
	}
	return { origins: out };
}

export async function render(root, ctx) {
	const canWrite = ctx.can('sites.write');
	ctx.setTitle(t('sites.title'));
	const createBtn = canWrite ? button(t('sites.create'),
	    { kind: 'primary', iconName: 'plus', id: 'site-create' }) : null;
	root.append(pageHeader({ title: t('sites.title'), description: t('sites.description'),
	    actions: createBtn }));
	const host = h('div', { class: 'site-list' });
	root.append(host);
	root.append(mailCard(canWrite));
	let sites = [];

	async function load(focusId) {
		if (!sites.length)
			clear(host).append(loading());
		try {
			const res = await api.get('/api/sites');
			sites = sortBy(res.sites || [], (s) => s.name);
			draw();
			if (focusId !== undefined && focusId !== null) {
				const el = host.querySelector(`[data-site-id="${CSS.escape(String(focusId))}"] .site__title`);
				if (el)
					el.focus();
			}
		} catch (err) {
			if (err && err.redirecting)
				return;
			clear(host).append(errorBlock(err, () => load()));
		}
	}

	function draw() {
		clear(host);
		if (!sites.length) {
			host.append(h('div', { class: 'card' }, emptyState({ title: t('sites.empty'),
			    text: t('sites.emptyText'), iconName: 'sites',
			    action: canWrite ? button(t('sites.create'), { kind: 'primary', iconName: 'plus',
				onClick: () => siteDialog(null) }) : null })));
			return;
		}
		for (const s of sites)
			host.append(siteCard(s));
	}

	function siteCard(s) {
		const titleId = uid('site');
		const keyId = uid('site-key');
		const embedId = uid('site-embed');
		const origins = s.allowed_origins || [];
		const actions = canWrite ? h('div', { class: 'card__actions' },
		    button(t('action.edit'), { size: 'sm', kind: 'secondary', iconName: 'edit',
			srSuffix: s.name, attrs: { 'data-action': 'edit' }, onClick: () => siteDialog(s) }),
		    ...widgetActions(s, canWrite),
		    button(t('sites.rotate'), { size: 'sm', kind: 'secondary', iconName: 'refresh',
			srSuffix: s.name, attrs: { 'data-action': 'rotate' }, onClick: () => rotate(s) }),
		    button(t('action.delete'), { size: 'sm', kind: 'danger-ghost', iconName: 'trash',
			srSuffix: s.name, attrs: { 'data-action': 'delete' }, onClick: () => remove(s) })) : null;
		return h('section', { class: 'card site', 'aria-labelledby': titleId,
		    dataset: { siteId: s.id } },
		h('div', { class: 'card__header' },
		    h('div', null,
			h('h2', { class: 'card__title site__title', id: titleId, tabIndex: -1 },
			    icon('sites'), h('span', null, s.name)),
			s.created_at ? h('p', { class: 'card__desc' },
			    t('sites.createdOn', { date: fmtDate(s.created_at) })) : null),
		    actions),
		h('div', { class: 'card__body site__grid' },
		    h('div', { class: 'site__block' },
			h('h3', { class: 'site__label' }, t('sites.origins')),
			origins.length ? h('ul', { class: 'chips' },
			    origins.map((o) => h('li', { class: 'chip' }, o))) :
			    h('p', { class: 'muted' }, t('sites.noOrigins'))),
		    h('div', { class: 'site__block' },
			h('h3', { class: 'site__label', id: keyId }, t('sites.siteKey')),
			h('div', { class: 'copy-field' },
			    h('code', { class: 'copy-field__value', 'aria-labelledby': keyId,
				dataset: { siteKey: s.site_key } }, s.site_key),
			    copyButton(s.site_key, { what: t('sites.siteKeyOf', { name: s.name }) }))),
		    h('div', { class: 'site__block site__block--wide' },
			h('h3', { class: 'site__label', id: embedId }, t('sites.embed')),
			h('p', { class: 'site__hint' }, t('sites.embedHint')),
			h('div', { class: 'code-block' },
			    h('pre', { class: 'code-block__pre', 'aria-labelledby': embedId },
			    h('code', { class: 'embed-code' }, embedCode(s.site_key))),
			    copyButton(() => embedCode(s.site_key),
				{ what: t('sites.embedOf', { name: s.name }) }))),
		    ctx.can('queues.read') ? routingBlock(s, ctx) : null,
		    filesSection(s, { canWrite }), recordingSection(s, { canWrite }),
		    cobrowseSection(s, { canWrite })));
	}

	function siteDialog(s) {
		const editing = Boolean(s);
		const name = field({ id: 'site-name', label: t('sites.name'), required: true,
		    value: editing ? s.name : '', autocomplete: 'off', hint: t('sites.nameHint') });
		const origins = field({ id: 'site-origins', kind: 'textarea', label: t('sites.origins'),
		    required: true, value: editing ? (s.allowed_origins || []).join('\n') : '',
		    hint: t('sites.originsHint'),
		    attrs: { rows: 4, spellcheck: false, autocapitalize: 'none', placeholder: 'https://www.example.com' } });
		openDialog({
			title: editing ? t('sites.editTitle', { name: s.name }) : t('sites.createTitle'),
			content: h('div', { class: 'form-stack' }, name.el, origins.el),
			submitLabel: editing ? t('action.saveChanges') : t('sites.createSubmit'),
			submitId: 'site-save',
			async onSubmit(ctl) {
				const v = name.input.value.trim();
				let bad = null;
				if (!v) {
					name.setError(t('sites.errNameEmpty'));
					bad = name;
				}
				const parsed = parseOrigins(origins.input.value);
				if (parsed.error) {
					origins.setError(parsed.error);
					bad = bad || origins;
				} else if (!parsed.origins.length) {
					origins.setError(t('sites.errOriginsEmpty'));
					bad = bad || origins;
				}
				if (bad) {
					bad.input.focus();
					return false;
				}
				const body = { name: v, allowed_origins: parsed.origins };
				try {
					const res = editing ? await api.put(idPath('/api/sites', s.id), body) :
					    await api.post('/api/sites', body);
					toast(editing ? t('sites.saved', { name: v }) : t('sites.created', { name: v }));
					const id = res.site ? res.site.id : (editing ? s.id : null);
					ctl.returnFocus = () => null;
					ctl.afterClose = () => load(id);
					return true;
				} catch (err) {
					const f = err && err.field ? { name, allowed_origins: origins }[err.field] : null;
					if (f) {
						f.setError(errorMessage(err));
						f.input.focus();
						return false;
					}
					throw err;
				}
			},
		});
	}

	async function rotate(s) {
		let fresh = null;
		const ok = await confirmDialog({
			title: t('sites.rotateTitle', { name: s.name }),
			message: t('sites.rotateText'),
			confirmLabel: t('sites.rotate'),
			async onConfirm() {
				const res = await api.post(idPath('/api/sites', s.id, '/rotate-key'));
				fresh = res.site || null;
			},
		});
		if (ok) {
			toast(t('sites.rotated', { name: s.name }));
			if (fresh) {
				const i = sites.findIndex((x) => String(x.id) === String(s.id));
				if (i >= 0)
					sites[i] = fresh;
				draw();
				const b = host.querySelector(`[data-site-id="${CSS.escape(String(s.id))}"] [data-action="rotate"]`);
				if (b)
					b.focus();
			} else {
				await load(s.id);
			}
		}
	}

	async function remove(s) {
		const ok = await confirmDialog({
			title: t('sites.deleteTitle', { name: s.name }),
			message: t('sites.deleteText'),
			confirmLabel: t('action.delete'),
			onConfirm: () => api.del(idPath('/api/sites', s.id)),
		});
		if (ok) {
			toast(t('sites.deleted', { name: s.name }));
			await load();
			if (createBtn)
				createBtn.focus();
		}
	}

	if (createBtn)
		createBtn.addEventListener('click', () => siteDialog(null));
	await load();
}
