// /admin/roles: the permission matrix. Rows are permissions grouped by area,
// columns are roles. The built-in administrator role is shown read-only.
// Each role column is saved on its own.

import { t, has, fmtNumber } from '../lib/i18n.js';
import { api, idPath, errorMessage } from '../lib/api.js';
import {
	h, clear, button, badge, field, openDialog, confirmDialog, pageHeader,
	loading, errorBlock, toast, toastError, iconButton, uid,
} from '../lib/ui.js';

// The built-in administrator role is fixed on the server (409 on change).
// The server marks built-in roles with builtin = 'administrator' | 'supervisor'
// | 'agent'; a plain true is also understood, then by name.
export function isFixedAdmin(role) {
	if (role.builtin === 'administrator')
		return true;
	if (role.builtin !== true)
		return false;
	return typeof role.name === 'string' && /^(administrator|admin)$/i.test(role.name.trim());
}

function permLabel(code) {
	return has(`perm.${code}`) ? t(`perm.${code}`) : code;
}

function areaLabel(area) {
	if (has(`area.${area}`))
		return t(`area.${area}`);
	const s = String(area || t('roles.areaOther')).replace(/[_.-]+/g, ' ');
	return s.charAt(0).toUpperCase() + s.slice(1);
}

export async function render(root, ctx) {
	const canWrite = ctx.can('roles.write');
	ctx.setTitle(t('roles.title'));
	const createBtn = canWrite ? button(t('roles.create'),
	    { kind: 'primary', iconName: 'plus', id: 'role-create' }) : null;
	root.append(pageHeader({ title: t('roles.title'), description: t('roles.description'),
	    actions: createBtn }));
	const host = h('div', { class: 'card card--flush' });
	root.append(host);

	let roles = [];
	let perms = [];
	// role id (string) → Set of permission codes as edited on screen
	const draft = new Map();

	const dirty = (r) => {
		const d = draft.get(String(r.id));
		const saved = new Set(r.permissions || []);
		if (!d || d.size !== saved.size)
			return Boolean(d);
		for (const p of d)
			if (!saved.has(p))
				return true;
		return false;
	};
	const anyDirty = () => roles.some((r) => dirty(r));
	window.addEventListener('beforeunload', (e) => {
		if (anyDirty()) {
			e.preventDefault();
			e.returnValue = '';
		}
	});

	async function load(focusSel) {
		if (!roles.length)
			clear(host).append(loading());
		try {
			const res = await api.get('/api/roles');
			roles = res.roles || [];
			perms = res.permissions || [];
			// keep unsaved edits of roles that still exist
			for (const key of [...draft.keys()])
				if (!roles.some((r) => String(r.id) === key))
					draft.delete(key);
			for (const r of roles)
				if (!draft.has(String(r.id)))
					draft.set(String(r.id), new Set(r.permissions || []));
			draw();
			if (focusSel) {
				const el = host.querySelector(focusSel);
				if (el)
					el.focus();
			}
		} catch (err) {
			if (err && err.redirecting)
				return;
			clear(host).append(errorBlock(err, () => load()));
		}
	}

	function readOnly(r) {
		return !canWrite || isFixedAdmin(r);
	}

	function draw() {
		clear(host);
		const areas = new Map();
		for (const p of perms) {
			const a = p.area || 'other';
			if (!areas.has(a))
				areas.set(a, []);
			areas.get(a).push(p);
		}
		const headRow = h('tr', null, h('th', { scope: 'col', class: 'matrix__corner' },
		    t('roles.colPermission')));
		const headIds = new Map();
		for (const r of roles) {
			const hid = uid('role-h');
			headIds.set(String(r.id), hid);
			const tools = [];
			if (canWrite && !r.builtin) {
				tools.push(iconButton('edit', t('roles.renameNamed', { name: r.name }),
				    { onClick: () => renameRole(r), attrs: { 'data-action': 'rename' } }));
				tools.push(iconButton('trash', t('roles.deleteNamed', { name: r.name }),
				    { cls: 'icon-btn--danger', onClick: () => deleteRole(r),
					attrs: { 'data-action': 'delete' } }));
			}
			headRow.append(h('th', { scope: 'col', class: 'matrix__role', id: hid,
			    dataset: { roleId: r.id } },
			h('span', { class: 'matrix__role-name' }, r.name),
			h('span', { class: 'matrix__role-meta' },
			    r.builtin ? badge(t('roles.builtin'), 'neutral') : badge(t('roles.custom'), 'info'),
			    h('span', { class: 'muted' }, t('roles.users', { count: Number(r.user_count) || 0,
				n: fmtNumber(Number(r.user_count) || 0) }))),
			isFixedAdmin(r) ? h('span', { class: 'matrix__fixed' }, t('roles.fixed')) : null,
			tools.length ? h('span', { class: 'matrix__tools' }, tools) : null));
		}
		const table = h('table', { class: 'table matrix', id: 'roles-matrix' },
		    h('caption', { class: 'sr-only' }, t('roles.caption')),
		    h('thead', null, headRow));
		for (const [area, list] of areas) {
			const tb = h('tbody', { class: 'matrix__area' },
			    h('tr', null, h('th', { scope: 'rowgroup', colSpan: roles.length + 1,
				class: 'matrix__area-title' }, areaLabel(area))));
			for (const p of list) {
				const label = permLabel(p.code);
				const tr = h('tr', { dataset: { permission: p.code } },
				    h('th', { scope: 'row', class: 'matrix__perm' },
					h('span', { class: 'matrix__perm-label' }, label),
					label !== p.code ? h('code', { class: 'matrix__code' }, p.code) : null));
				for (const r of roles) {
					const set = draft.get(String(r.id));
					const cb = h('input', { type: 'checkbox', class: 'checkbox__input',
					    name: `perm-${r.id}`, value: p.code, checked: set.has(p.code),
					    disabled: readOnly(r),
					    'aria-label': t('roles.cellLabel', { role: r.name, permission: label }) });
					cb.addEventListener('change', () => {
						if (cb.checked)
							set.add(p.code);
						else
							set.delete(p.code);
						updateColumn(r);
					});
					tr.append(h('td', { class: 'matrix__cell', dataset: { roleId: r.id } }, cb));
				}
				tb.append(tr);
			}
			table.append(tb);
		}
		const footRow = h('tr', null, h('th', { scope: 'row', class: 'matrix__perm' },
		    t('roles.saveRow')));
		for (const r of roles) {
			let cell;
			if (readOnly(r)) {
				cell = h('span', { class: 'muted' }, isFixedAdmin(r) ? t('roles.readOnly') : '');
			} else {
				cell = h('div', { class: 'matrix__save' },
				    h('button', { type: 'button', class: 'btn btn--primary btn--sm',
					dataset: { action: 'save', roleId: r.id },
					onClick: () => saveRole(r) },
				    h('span', { class: 'btn__spinner', 'aria-hidden': 'true' }),
				    h('span', null, t('action.save')),
				    h('span', { class: 'sr-only' }, ` ${r.name}`)),
				    h('button', { type: 'button', class: 'btn btn--ghost btn--sm',
					dataset: { action: 'revert', roleId: r.id },
					onClick: () => revertRole(r) }, t('roles.revert'),
				    h('span', { class: 'sr-only' }, ` ${r.name}`)));
			}
			footRow.append(h('td', { class: 'matrix__cell', dataset: { roleId: r.id } }, cell));
		}
		table.append(h('tfoot', null, footRow));
		host.append(h('div', { class: 'card__header card__header--bar' },
		    h('h2', { class: 'card__title', id: 'matrix-heading' }, t('roles.matrixTitle')),
		    h('p', { class: 'card__meta', id: 'matrix-status', 'aria-live': 'polite' })),
		h('div', { class: 'table-wrap table-wrap--matrix', tabIndex: 0, role: 'region',
		    'aria-labelledby': 'matrix-heading' }, table));
		for (const r of roles)
			updateColumn(r);
	}

	function updateColumn(r) {
		const d = dirty(r);
		const sel = CSS.escape(String(r.id));
		for (const el of host.querySelectorAll(`th[data-role-id="${sel}"], td[data-role-id="${sel}"]`))
			el.classList.toggle('is-dirty', d);
		const save = host.querySelector(`button[data-action="save"][data-role-id="${CSS.escape(String(r.id))}"]`);
		const revert = host.querySelector(`button[data-action="revert"][data-role-id="${CSS.escape(String(r.id))}"]`);
		if (save)
			save.disabled = !d;
		if (revert)
			revert.hidden = !d;
		const status = host.querySelector('#matrix-status');
		if (status) {
			const n = roles.filter(dirty).length;
			status.textContent = n ? t('roles.unsaved', { count: n }) : '';
		}
	}

	function revertRole(r) {
		draft.set(String(r.id), new Set(r.permissions || []));
		for (const cb of host.querySelectorAll(`input[name="perm-${CSS.escape(String(r.id))}"]`))
			cb.checked = draft.get(String(r.id)).has(cb.value);
		updateColumn(r);
		const th = document.getElementById(host.querySelector(`th[data-role-id="${CSS.escape(String(r.id))}"]`)?.id);
		if (th)
			th.scrollIntoView({ block: 'nearest', inline: 'nearest' });
		toast(t('roles.reverted', { name: r.name }), 'info');
	}

	async function saveRole(r) {
		const btn = host.querySelector(`button[data-action="save"][data-role-id="${CSS.escape(String(r.id))}"]`);
		if (btn)
			btn.classList.add('is-busy');
		const permissions = perms.map((p) => p.code).filter((c) => draft.get(String(r.id)).has(c));
		try {
			const res = await api.put(idPath('/api/roles', r.id), { name: r.name, permissions });
			const saved = res.role || { ...r, permissions };
			Object.assign(r, saved);
			draft.set(String(r.id), new Set(r.permissions || permissions));
			updateColumn(r);
			toast(t('roles.saved', { name: r.name }));
			// focus stays sensible: the disabled Save button cannot hold it
			const first = host.querySelector(`input[name="perm-${CSS.escape(String(r.id))}"]`);
			if (btn && document.activeElement === btn && first)
				first.focus();
		} catch (err) {
			toastError(err);
		} finally {
			if (btn)
				btn.classList.remove('is-busy');
		}
	}

	function nameDialog({ title, submitLabel, value, copyFrom, onSave }) {
		const name = field({ id: 'role-name', label: t('roles.name'), required: true,
		    value: value || '', autocomplete: 'off' });
		let from = null;
		if (copyFrom) {
			from = field({ id: 'role-copy', kind: 'select', label: t('roles.copyFrom'),
			    options: [{ value: '', label: t('roles.copyNone') },
				...roles.map((r) => ({ value: String(r.id), label: r.name }))],
			    hint: t('roles.copyHint') });
		}
		openDialog({
			title, submitLabel, submitId: 'role-save', size: 'sm',
			content: h('div', { class: 'form-stack' }, name.el, from ? from.el : null),
			async onSubmit(ctl) {
				const v = name.input.value.trim();
				if (!v) {
					name.setError(t('roles.errNameEmpty'));
					name.input.focus();
					return false;
				}
				try {
					await onSave(v, from ? from.input.value : '', ctl);
				} catch (err) {
					if (err && (err.field === 'name' || err.code === 'conflict')) {
						name.setError(errorMessage(err));
						name.input.focus();
						return false;
					}
					throw err;
				}
				return true;
			},
		});
	}

	function createRole() {
		nameDialog({
			title: t('roles.createTitle'), submitLabel: t('roles.createSubmit'), copyFrom: true,
			async onSave(name, fromId, ctl) {
				const src = roles.find((r) => String(r.id) === fromId);
				const permissions = src ? [...draft.get(String(src.id))] : [];
				const res = await api.post('/api/roles', { name, permissions });
				toast(t('roles.created', { name }));
				const id = res.role ? res.role.id : null;
				ctl.returnFocus = () => null;
				ctl.afterClose = () => load(id !== null ?
				    `th[data-role-id="${CSS.escape(String(id))}"] button, input[name="perm-${CSS.escape(String(id))}"]` : null);
			},
		});
	}

	function renameRole(r) {
		nameDialog({
			title: t('roles.renameTitle', { name: r.name }), submitLabel: t('action.saveChanges'),
			value: r.name,
			async onSave(name, _from, ctl) {
				const res = await api.put(idPath('/api/roles', r.id),
				    { name, permissions: r.permissions || [] });
				toast(t('roles.renamed', { name }));
				ctl.returnFocus = () => null;
				const d = draft.get(String(r.id));
				Object.assign(r, res.role || { name });
				draft.set(String(r.id), d);
				ctl.afterClose = () => {
					draw();
					const b = host.querySelector(`th[data-role-id="${CSS.escape(String(r.id))}"] [data-action="rename"]`);
					if (b)
						b.focus();
				};
			},
		});
	}

	async function deleteRole(r) {
		if (Number(r.user_count) > 0) {
			openDialog({ title: t('roles.deleteBlockedTitle', { name: r.name }),
			    description: t('roles.deleteBlocked', { count: Number(r.user_count) }), size: 'sm' });
			return;
		}
		const ok = await confirmDialog({
			title: t('roles.deleteTitle', { name: r.name }),
			message: t('roles.deleteText'),
			confirmLabel: t('action.delete'),
			onConfirm: () => api.del(idPath('/api/roles', r.id)),
		});
		if (ok) {
			toast(t('roles.deleted', { name: r.name }));
			draft.delete(String(r.id));
			await load();
			if (createBtn)
				createBtn.focus();
		}
	}

	if (createBtn)
		createBtn.addEventListener('click', createRole);
	await load();
}
