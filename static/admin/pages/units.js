// /admin/units: the organisational unit tree; create, edit, delete.
// Hooks: #unit-create, #unit-name, #unit-parent, #unit-manager, #unit-save.

import { t, fmtNumber } from '../lib/i18n.js';
import { api, idPath, errorMessage } from '../lib/api.js';
import {
	h, clear, button, field, openDialog, confirmDialog, pageHeader, emptyState,
	loading, errorBlock, toast, icon, uid, sortBy,
} from '../lib/ui.js';
import { refs, unitTree, descendants } from '../lib/refs.js';

export async function render(root, ctx) {
	const canWrite = ctx.can('units.write');
	ctx.setTitle(t('units.title'));
	const createBtn = canWrite ? button(t('units.create'),
	    { kind: 'primary', iconName: 'plus', id: 'unit-create' }) : null;
	root.append(pageHeader({ title: t('units.title'), description: t('units.description'),
	    actions: createBtn }));
	const host = h('div', { class: 'card card--flush' });
	root.append(host);

	let units = [];
	const collapsed = new Set();

	async function load(focusId) {
		if (!units.length)
			clear(host).append(loading());
		try {
			const res = await api.get('/api/units');
			units = res.units || [];
			draw();
			if (focusId !== undefined) {
				const el = host.querySelector(`[data-unit-id="${CSS.escape(String(focusId))}"] .tree__name`);
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
		if (!units.length) {
			host.append(emptyState({ title: t('units.empty'), text: t('units.emptyText'),
			    iconName: 'units', action: canWrite ? button(t('units.create'),
				{ kind: 'primary', iconName: 'plus', onClick: () => unitDialog(null, null) }) : null }));
			return;
		}
		const total = units.reduce((n, u) => n + (Number(u.member_count) || 0), 0);
		host.append(h('div', { class: 'card__header card__header--bar' },
		    h('h2', { class: 'card__title', id: 'units-heading' }, t('units.treeTitle')),
		    h('p', { class: 'card__meta' }, t('units.summary', { count: units.length,
			n: fmtNumber(units.length),
			members: t('units.members', { count: total, n: fmtNumber(total) }) }))));
		const byParent = new Map();
		for (const { unit, children } of unitTree(units))
			byParent.set(String(unit.id), children);
		const roots = unitTree(units).filter((x) => x.depth === 0).map((x) => x.unit);
		host.append(list(roots, byParent, 0, 'units-heading'));
	}

	function list(items, byParent, depth, labelledBy) {
		const ul = h('ul', { class: depth === 0 ? 'tree' : 'tree__group',
		    'aria-labelledby': labelledBy });
		for (const u of sortBy(items, (x) => x.name))
			ul.append(node(u, byParent, depth));
		return ul;
	}

	function node(u, byParent, depth) {
		const kids = byParent.get(String(u.id)) || [];
		const id = String(u.id);
		const isCollapsed = collapsed.has(id);
		const nameId = uid('unit-name');
		const groupId = uid('unit-group');
		let toggle;
		if (kids.length) {
			toggle = h('button', { type: 'button', class: 'tree__toggle',
			    'aria-expanded': String(!isCollapsed), 'aria-controls': groupId,
			    'aria-label': t('units.toggle', { name: u.name }) }, icon('chevronDown'));
			toggle.addEventListener('click', () => {
				if (collapsed.has(id))
					collapsed.delete(id);
				else
					collapsed.add(id);
				const open = !collapsed.has(id);
				toggle.setAttribute('aria-expanded', String(open));
				const g = document.getElementById(groupId);
				if (g)
					g.hidden = !open;
			});
		} else {
			toggle = h('span', { class: 'tree__leaf', 'aria-hidden': 'true' });
		}
		const meta = [];
		meta.push(u.manager ? h('span', { class: 'tree__meta-item' }, icon('account'),
		    h('span', null, t('units.managedBy', { name: u.manager.name }))) :
		    h('span', { class: 'tree__meta-item muted' }, icon('account'),
			h('span', null, t('units.noManager'))));
		meta.push(h('span', { class: 'tree__meta-item' }, icon('users'),
		    h('span', null, t('units.members', { count: Number(u.member_count) || 0,
			n: fmtNumber(Number(u.member_count) || 0) }))));
		if (kids.length) {
			meta.push(h('span', { class: 'tree__meta-item' }, icon('units'),
			    h('span', null, t('units.subunits', { count: kids.length }))));
		}
		const actions = canWrite ? h('div', { class: 'row-actions' },
		    button(t('units.addChild'), { size: 'sm', kind: 'ghost', iconName: 'plus',
			srSuffix: t('units.under', { name: u.name }), attrs: { 'data-action': 'add' },
			onClick: () => unitDialog(null, u) }),
		    button(t('action.edit'), { size: 'sm', kind: 'ghost', srSuffix: u.name,
			attrs: { 'data-action': 'edit' }, onClick: () => unitDialog(u, null) }),
		    button(t('action.delete'), { size: 'sm', kind: 'danger-ghost', srSuffix: u.name,
			attrs: { 'data-action': 'delete' }, onClick: () => removeUnit(u, kids.length) })) : null;
		const li = h('li', { class: 'tree__item', dataset: { unitId: u.id } },
		    h('div', { class: 'tree__row' }, toggle,
			h('div', { class: 'tree__main' },
			    h('span', { class: 'tree__name', id: nameId, tabIndex: -1 }, u.name),
			    h('span', { class: 'tree__meta' }, meta)),
			actions));
		if (kids.length) {
			const g = list(kids, byParent, depth + 1, nameId);
			g.id = groupId;
			g.hidden = isCollapsed;
			li.append(g);
		}
		return li;
	}

	async function unitDialog(u, parent) {
		const editing = Boolean(u);
		const users = await refs.activeUsers();
		const name = field({ id: 'unit-name', label: t('units.name'), required: true,
		    value: editing ? u.name : '', autocomplete: 'off' });

		// A unit may not move under itself or one of its descendants.
		const banned = editing ? descendants(units, u.id) : new Set();
		const parentOpts = [{ value: '', label: t('units.noParent') }];
		const unitIds = new Map();
		for (const { unit, depth } of unitTree(units)) {
			unitIds.set(String(unit.id), unit.id);
			if (banned.has(String(unit.id)))
				continue;
			parentOpts.push({ value: String(unit.id), label: `${'\u2003'.repeat(depth)}${unit.name}` });
		}
		const parentValue = editing ? (u.parent_id ?? '') : (parent ? parent.id : '');
		const parentField = field({ id: 'unit-parent', kind: 'select', label: t('units.parent'),
		    options: parentOpts, value: parentValue, hint: t('units.parentHint') });

		const managerOpts = [{ value: '', label: t('units.noManagerOption') }];
		const userIds = new Map();
		for (const x of users.items) {
			userIds.set(String(x.id), x.id);
			managerOpts.push({ value: String(x.id), label: x.name ? `${x.name} (${x.email})` : x.email });
		}
		if (editing && u.manager && !userIds.has(String(u.manager.id))) {
			userIds.set(String(u.manager.id), u.manager.id);
			managerOpts.push({ value: String(u.manager.id), label: u.manager.name });
		}
		const managerField = field({ id: 'unit-manager', kind: 'select', label: t('units.manager'),
		    options: managerOpts, value: editing && u.manager ? u.manager.id : '',
		    hint: users.error ? t('units.managerNoAccess') : t('units.managerHint') });

		const fields = { name, parent_id: parentField, manager_id: managerField };
		openDialog({
			title: editing ? t('units.editTitle', { name: u.name }) : t('units.createTitle'),
			content: h('div', { class: 'form-stack' }, name.el, parentField.el, managerField.el),
			submitLabel: editing ? t('action.saveChanges') : t('units.createSubmit'),
			submitId: 'unit-save',
			async onSubmit(ctl) {
				const body = {
					name: name.input.value.trim(),
					parent_id: parentField.input.value === '' ? null :
					    unitIds.get(parentField.input.value),
					manager_id: managerField.input.value === '' ? null :
					    userIds.get(managerField.input.value),
				};
				if (!body.name) {
					name.setError(t('units.errNameEmpty'));
					name.input.focus();
					return false;
				}
				try {
					const res = editing ? await api.put(idPath('/api/units', u.id), body) :
					    await api.post('/api/units', body);
					const saved = res.unit || {};
					toast(editing ? t('units.saved', { name: body.name }) :
					    t('units.created', { name: body.name }));
					if (body.parent_id !== null)
						collapsed.delete(String(body.parent_id));
					ctl.returnFocus = () => null;
					ctl.afterClose = () => load(saved.id ?? (editing ? u.id : undefined));
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

	async function removeUnit(u, childCount) {
		if (childCount > 0) {
			openDialog({ title: t('units.deleteBlockedTitle', { name: u.name }),
			    description: t('units.deleteBlocked', { count: childCount }), size: 'sm' });
			return;
		}
		const ok = await confirmDialog({
			title: t('units.deleteTitle', { name: u.name }),
			message: Number(u.member_count) > 0 ?
			    t('units.deleteTextMembers', { count: Number(u.member_count) }) : t('units.deleteText'),
			confirmLabel: t('action.delete'),
			async onConfirm() {
				try {
					await api.del(idPath('/api/units', u.id));
				} catch (err) {
					if (err && err.code === 'conflict')
						throw Object.assign(err, { serverMessage: err.serverMessage ||
						    t('units.deleteBlocked', { count: 1 }) });
					throw err;
				}
			},
		});
		if (ok) {
			toast(t('units.deleted', { name: u.name }));
			await load();
			const title = document.getElementById('page-title');
			if (createBtn)
				createBtn.focus();
			else if (title)
				title.focus();
		}
	}

	if (createBtn)
		createBtn.addEventListener('click', () => unitDialog(null, null));
	await load();
}
