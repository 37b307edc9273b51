// /admin/contact-settings: the lists agents use in the console — wrap-up
// codes, not-ready reasons and canned replies. Canned replies may contain
// {{customer.name}}, {{agent.name}} and {{site.name}}; the console fills
// them in when the agent inserts the reply.

import { t } from '../lib/i18n.js';
import { api, idPath, errorMessage } from '../lib/api.js';
import {
	h, clear, button, field, checkbox, openDialog, confirmDialog, pageHeader, emptyState,
	loading, errorBlock, toast, badge, card,
} from '../lib/ui.js';

// One section: a card with a table of items and a dialog to edit one.
function section(ctx, { key, path, columns, dialogFields, toBody, itemName }) {
	const canWrite = ctx.can('queues.write');
	const titleId = `${key}-title`;
	const addBtn = canWrite ? button(t(`${key}.create`), { kind: 'secondary', size: 'sm',
	    iconName: 'plus', id: `${key}-create` }) : null;
	const body = h('div');
	const el = card({ title: t(`${key}.title`), titleId, description: t(`${key}.description`),
	    actions: addBtn, body, cls: 'card--flush' });
	let items = [];

	async function load(focusId) {
		if (!items.length)
			clear(body).append(loading());
		try {
			items = (await api.get(path)).items || [];
			draw();
			if (focusId !== undefined && focusId !== null) {
				const b = body.querySelector(`tr[data-item-id="${CSS.escape(String(focusId))}"] [data-action=edit]`);
				if (b)
					b.focus();
			}
		} catch (err) {
			if (err && err.redirecting)
				return;
			clear(body).append(errorBlock(err, () => load()));
		}
	}

	function draw() {
		clear(body);
		if (!items.length) {
			body.append(emptyState({ title: t(`${key}.empty`), text: t(`${key}.emptyText`), iconName: 'inbox' }));
			return;
		}
		const tbody = h('tbody');
		for (const it of items) {
			tbody.append(h('tr', { dataset: { itemId: it.id } },
			    h('th', { scope: 'row', class: 'table__primary' }, itemName(it)),
			    columns.map((c) => h('td', { class: c.cls }, c.cell(it))),
			    h('td', null, it.active ? badge(t('lists.active'), 'success') : badge(t('lists.inactive'), 'neutral')),
			    canWrite ? h('td', { class: 'table__actions' }, h('div', { class: 'row-actions' },
				button(t('action.edit'), { size: 'sm', kind: 'ghost', srSuffix: itemName(it),
				    attrs: { 'data-action': 'edit' }, onClick: () => dialog(it) }),
				button(t('action.delete'), { size: 'sm', kind: 'danger-ghost', srSuffix: itemName(it),
				    attrs: { 'data-action': 'delete' }, onClick: () => remove(it) }))) : null));
		}
		body.append(h('div', { class: 'table-wrap', tabIndex: 0, role: 'region', 'aria-labelledby': titleId },
		    h('table', { class: 'table', id: `${key}-table` },
			h('thead', null, h('tr', null,
			    h('th', { scope: 'col' }, t(`${key}.colName`)),
			    columns.map((c) => h('th', { scope: 'col', class: c.cls }, t(c.label))),
			    h('th', { scope: 'col' }, t('lists.colStatus')),
			    canWrite ? h('th', { scope: 'col', class: 'table__actions' },
				h('span', { class: 'sr-only' }, t('table.actions'))) : null)),
			tbody)));
	}

	function dialog(it) {
		const editing = Boolean(it);
		const fields = dialogFields(it);
		const active = checkbox({ name: 'active', value: '1', label: t('lists.activeLabel'),
		    checked: editing ? it.active : true, id: `${key}-active` });
		openDialog({
			title: editing ? t(`${key}.editTitle`, { name: itemName(it) }) : t(`${key}.createTitle`),
			content: h('div', { class: 'form-stack' }, Object.values(fields).map((f) => f.el), active.el),
			submitLabel: editing ? t('action.saveChanges') : t(`${key}.createSubmit`),
			submitId: `${key}-save`,
			async onSubmit(ctl) {
				const b = toBody(fields);
				b.active = active.input.checked;
				const first = Object.entries(fields).find(([, f]) => f.required && !f.input.value.trim());
				if (first) {
					first[1].setError(t('lists.errRequired'));
					first[1].input.focus();
					return false;
				}
				try {
					const res = editing ? await api.put(idPath(path.replace('/console', ''), it.id), b) :
					    await api.post(path, b);
					toast(t('lists.saved'));
					ctl.returnFocus = () => null;
					ctl.afterClose = () => load(res.item ? res.item.id : null);
					return true;
				} catch (err) {
					const f = err && err.field ? fields[err.field] : null;
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

	async function remove(it) {
		const ok = await confirmDialog({
			title: t('lists.deleteTitle', { name: itemName(it) }),
			message: t('lists.deleteText'),
			confirmLabel: t('action.delete'),
			onConfirm: () => api.del(idPath(path, it.id)),
		});
		if (ok) {
			toast(t('lists.deleted', { name: itemName(it) }));
			await load();
			if (addBtn)
				addBtn.focus();
		}
	}

	if (addBtn)
		addBtn.addEventListener('click', () => dialog(null));
	return { el, load };
}

function req(f) {
	f.required = true;
	return f;
}

function codeList(ctx, key, path) {
	return section(ctx, {
		key, path, itemName: (it) => it.name,
		columns: [{ label: 'lists.colSort', cls: 'num', cell: (it) => String(it.sort) }],
		dialogFields: (it) => ({
			name: req(field({ id: `${key}-name`, label: t('lists.name'), required: true,
			    value: it ? it.name : '', autocomplete: 'off', attrs: { maxlength: 100 } })),
			sort: field({ id: `${key}-sort`, label: t('lists.sort'), type: 'number',
			    value: it ? it.sort : 0, hint: t('lists.sortHint'),
			    attrs: { min: -100000, max: 100000, step: 1 } }),
		}),
		toBody: (f) => ({ name: f.name.input.value.trim(),
		    sort: f.sort.input.value === '' ? 0 : Number(f.sort.input.value) }),
	});
}

export async function render(root, ctx) {
	ctx.setTitle(t('lists.title'));
	root.append(pageHeader({ title: t('lists.title'), description: t('lists.description') }));
	const wrap = codeList(ctx, 'wrapup', '/api/wrapup-codes');
	const notready = codeList(ctx, 'notready', '/api/notready-reasons');
	const canned = section(ctx, {
		key: 'canned', path: '/api/canned-replies', itemName: (it) => it.title,
		columns: [
			{ label: 'canned.colShortcut', cell: (it) => (it.shortcut ? h('code', null, `/${it.shortcut}`) :
			    h('span', { class: 'muted' }, t('canned.noShortcut'))) },
			{ label: 'canned.colBody', cell: (it) => (it.body.length > 80 ? `${it.body.slice(0, 80)}…` : it.body) },
		],
		dialogFields: (it) => ({
			title: req(field({ id: 'canned-title-input', label: t('canned.titleLabel'), required: true,
			    value: it ? it.title : '', autocomplete: 'off', attrs: { maxlength: 200 } })),
			shortcut: field({ id: 'canned-shortcut', label: t('canned.shortcut'), value: it ? it.shortcut : '',
			    hint: t('canned.shortcutHint'), autocomplete: 'off',
			    attrs: { maxlength: 50, spellcheck: false, autocapitalize: 'none' } }),
			body: req(field({ id: 'canned-body', kind: 'textarea', label: t('canned.body'), required: true,
			    value: it ? it.body : '', hint: t('canned.bodyHint'), attrs: { rows: 6, maxlength: 4000 } })),
		}),
		toBody: (f) => ({ title: f.title.input.value.trim(), shortcut: f.shortcut.input.value.trim() || null,
		    body: f.body.input.value }),
	});
	root.append(h('div', { class: 'form-stack' }, wrap.el, notready.el, canned.el));
	await Promise.all([wrap.load(), notready.load(), canned.load()]);
}
