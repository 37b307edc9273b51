// /admin/users: list, search and filter users; create, edit, disable,
// enable, reset password. Hooks: #user-create, #user-email, #user-name,
// input[name=role|unit|skill][value=id], select[name=level-<skill id>],
// #user-save, #temp-password, tr[data-user-id].

import { t, fmtRelative, fmtDateTime, fmtNumber } from '../lib/i18n.js';
import { api, qs, idPath, errorMessage } from '../lib/api.js';
import {
	h, clear, button, badge, avatar, field, fieldset, checkbox, openDialog,
	confirmDialog, secretDialog, pageHeader, emptyState, loading, errorBlock, toast,
	toastError, debounce, icon, iconTextButton,
} from '../lib/ui.js';
import { refs, unitTree } from '../lib/refs.js';

const LEVELS = [1, 2, 3, 4, 5];

// Let a long address wrap after the @ rather than widen the table.
function breakableEmail(email) {
	const s = String(email || '');
	const i = s.indexOf('@');
	return i < 0 ? s : [s.slice(0, i + 1), h('wbr'), s.slice(i + 1)];
}

export async function render(root, ctx) {
	const { me } = ctx;
	const canWrite = ctx.can('users.write');
	ctx.setTitle(t('users.title'));

	const createBtn = canWrite ? button(t('users.create'),
	    { kind: 'primary', iconName: 'plus', id: 'user-create' }) : null;
	root.append(pageHeader({ title: t('users.title'), description: t('users.description'),
	    actions: createBtn }));

	// Filters, kept in the address so a reload or a shared link keeps them.
	const params = new URLSearchParams(location.search);
	const search = h('input', { type: 'search', id: 'user-search', class: 'input input--search',
	    placeholder: t('users.searchPlaceholder'), value: params.get('q') || '',
	    autocomplete: 'off', spellcheck: false });
	const status = h('select', { id: 'user-status', class: 'select' },
	    h('option', { value: '' }, t('users.statusAll')),
	    h('option', { value: 'active' }, t('users.statusActive')),
	    h('option', { value: 'disabled' }, t('users.statusDisabled')));
	status.value = ['active', 'disabled'].includes(params.get('status')) ? params.get('status') : '';
	const count = h('p', { class: 'toolbar__count', 'aria-live': 'polite' });
	root.append(h('div', { class: 'toolbar', role: 'search', 'aria-label': t('users.filters') },
	    h('div', { class: 'toolbar__field toolbar__field--grow' },
		h('label', { for: 'user-search', class: 'sr-only' }, t('users.search')),
		h('span', { class: 'input-icon' }, icon('search'), search)),
	    h('div', { class: 'toolbar__field' },
		h('label', { for: 'user-status', class: 'toolbar__label' }, t('users.status')), status),
	    count));

	const tableHost = h('div', { class: 'card card--flush' });
	root.append(tableHost);

	let users = [];
	const rows = new Map();
	let controller = null;

	function syncUrl() {
		const u = new URL(location.href);
		u.search = qs({ q: search.value.trim(), status: status.value });
		history.replaceState(null, '', u);
	}

	async function load() {
		if (controller)
			controller.abort();
		controller = new AbortController();
		const mine = controller;
		if (!users.length) {
			clear(tableHost).append(loading());
		}
		tableHost.setAttribute('aria-busy', 'true');
		try {
			const res = await api.get(`/api/users${qs({ q: search.value.trim(),
			    status: status.value })}`, { signal: mine.signal });
			if (mine !== controller)
				return;
			users = res.users || [];
			drawTable();
		} catch (err) {
			if (err && (err.name === 'AbortError' || err.redirecting))
				return;
			clear(tableHost).append(errorBlock(err, load));
		} finally {
			if (mine === controller)
				tableHost.removeAttribute('aria-busy');
		}
	}

	function filtered() {
		return Boolean(search.value.trim() || status.value);
	}

	function drawTable() {
		clear(tableHost);
		rows.clear();
		count.textContent = t('users.count', { count: users.length, n: fmtNumber(users.length) });
		if (users.length === 0) {
			tableHost.append(filtered() ? emptyState({ title: t('users.noMatch'),
			    text: t('users.noMatchText'), iconName: 'search',
			    action: button(t('users.clearFilters'), { onClick: () => {
				    search.value = '';
				    status.value = '';
				    syncUrl();
				    load();
				    search.focus();
			    } }) }) :
			    emptyState({ title: t('users.empty'), text: t('users.emptyText'), iconName: 'users' }));
			return;
		}
		const tbody = h('tbody');
		for (const u of users) {
			const tr = row(u);
			rows.set(String(u.id), tr);
			tbody.append(tr);
		}
		tableHost.append(h('div', { class: 'table-wrap', tabIndex: 0, role: 'region',
		    'aria-labelledby': 'users-caption' },
		h('table', { class: 'table', id: 'users-table' },
		    h('caption', { id: 'users-caption', class: 'sr-only' }, t('users.caption')),
		    h('thead', null, h('tr', null,
			h('th', { scope: 'col' }, t('users.colUser')),
			h('th', { scope: 'col' }, t('users.colAccess')),
			h('th', { scope: 'col' }, t('users.colStatus')),
			h('th', { scope: 'col' }, t('users.colLastLogin')),
			canWrite ? h('th', { scope: 'col', class: 'table__actions' },
			    h('span', { class: 'sr-only' }, t('table.actions'))) : null)),
		    tbody)));
	}

	function names(list) {
		const items = (list || []).map((x) => x.name).filter(Boolean);
		return items.length ? items.join(', ') : h('span', { class: 'muted' }, t('common.none'));
	}

	function row(u) {
		const self = String(u.id) === String(me.id);
		const label = u.name || u.email;
		const actions = [];
		if (canWrite) {
			actions.push(button(t('action.edit'), { size: 'sm', kind: 'secondary', iconName: 'edit',
			    srSuffix: label, attrs: { 'data-action': 'edit' }, onClick: () => openEditor(u) }));
			if (!self) {
				actions.push(iconTextButton('key', t('users.resetFor', { name: label }),
				    { attrs: { 'data-action': 'reset' }, onClick: () => resetPassword(u) }));
				actions.push(u.status === 'disabled' ?
				    iconTextButton('checkCircle', t('users.enableNamed', { name: label }),
					{ attrs: { 'data-action': 'enable' }, onClick: () => setStatus(u, true) }) :
				    iconTextButton('ban', t('users.disableNamed', { name: label }),
					{ cls: 'icon-btn--danger', attrs: { 'data-action': 'disable' },
					    onClick: () => setStatus(u, false) }));
			}
		}
		const last = u.last_login_at ? h('time', { datetime: u.last_login_at,
		    title: fmtDateTime(u.last_login_at) }, fmtRelative(u.last_login_at)) :
		    h('span', { class: 'muted' }, t('users.never'));
		return h('tr', { dataset: { userId: u.id }, class: u.status === 'disabled' ? 'is-muted' : '' },
		    h('td', null, h('div', { class: 'person' }, avatar(label),
			h('div', { class: 'person__text' },
			    h('span', { class: 'person__name' }, u.name || t('common.unnamed'),
				self ? h('span', { class: 'person__you' }, ` ${t('users.you')}`) : null),
			    h('span', { class: 'person__sub' }, breakableEmail(u.email))))),
		    h('td', null, h('div', { class: 'access' },
			h('span', { class: 'access__roles' }, h('span', { class: 'sr-only' }, `${t('users.colRoles')}: `),
			    names(u.roles)),
			h('span', { class: 'access__units' }, icon('units'),
			    h('span', { class: 'sr-only' }, `${t('users.colUnits')}: `), names(u.units)))),
		    h('td', null, h('div', { class: 'status-stack' },
			u.status === 'disabled' ? badge(t('users.statusDisabled'), 'neutral') :
			    badge(t('users.statusActive'), 'success'),
			h('span', { class: u.totp_enabled ? 'status-stack__tfa status-stack__tfa--on' :
			    'status-stack__tfa' }, icon(u.totp_enabled ? 'shield' : 'lock'),
			u.totp_enabled ? t('users.twoFactorOn') : t('users.twoFactorOff')))),
		    h('td', { class: 'nowrap' }, last),
		    canWrite ? h('td', { class: 'table__actions' },
			h('div', { class: 'row-actions' }, actions)) : null);
	}

	// Replace one row after a change and keep keyboard focus where it was.
	function updateRow(u, focusAction) {
		const i = users.findIndex((x) => String(x.id) === String(u.id));
		if (i >= 0)
			users[i] = u;
		const old = rows.get(String(u.id));
		if (!old) {
			load();
			return;
		}
		const fresh = row(u);
		old.replaceWith(fresh);
		rows.set(String(u.id), fresh);
		if (focusAction) {
			const b = fresh.querySelector(`[data-action="${focusAction}"]`) ||
			    fresh.querySelector('[data-action="edit"]');
			if (b)
				b.focus();
		}
	}

	async function setStatus(u, enable) {
		const label = u.name || u.email;
		const path = idPath('/api/users', u.id, enable ? '/enable' : '/disable');
		if (enable) {
			try {
				const res = await api.post(path);
				toast(t('users.enabled', { name: label }));
				updateRow(res.user || { ...u, status: 'active' }, 'disable');
			} catch (err) {
				toastError(err);
			}
			return;
		}
		let updated = null;
		const ok = await confirmDialog({
			title: t('users.disableTitle', { name: label }),
			message: t('users.disableText'),
			confirmLabel: t('users.disable'),
			async onConfirm() {
				const res = await api.post(path);
				updated = res.user || { ...u, status: 'disabled' };
			},
		});
		if (ok && updated) {
			toast(t('users.disabled', { name: label }));
			updateRow(updated, 'enable');
		}
	}

	async function resetPassword(u) {
		const label = u.name || u.email;
		let temp = null;
		const ok = await confirmDialog({
			title: t('users.resetTitle', { name: label }),
			message: t('users.resetText'),
			confirmLabel: t('users.resetPassword'),
			async onConfirm() {
				const res = await api.post(idPath('/api/users', u.id, '/reset-password'));
				temp = res.temporary_password;
			},
		});
		if (ok && temp) {
			secretDialog({ title: t('users.resetDoneTitle'),
			    intro: t('users.resetDoneText', { name: label }), secret: temp });
		}
	}

	async function openEditor(u) {
		const opener = document.activeElement;
		if (opener && opener.classList)
			opener.classList.add('is-busy');
		const [roles, units, skills] = await Promise.all([refs.roles(), refs.units(), refs.skills()])
		    .catch(() => [{ items: [] }, { items: [] }, { items: [] }]);
		if (opener && opener.classList)
			opener.classList.remove('is-busy');
		userDialog(u, roles, units, skills);
	}

	// Shown instead of choices when the list cannot be read: what the user
	// has now, kept as it is.
	function keptList(items, text) {
		return h('div', { class: 'callout' }, icon('lock'), h('div', null,
		    h('p', null, text),
		    items && items.length ? h('ul', { class: 'chips' }, items.map((x) =>
			h('li', { class: 'chip' }, x.level ? `${x.name} · ${t('users.level', { level: x.level })}` :
			    x.name))) : null));
	}

	function userDialog(u, roles, units, skills) {
		const editing = Boolean(u);
		const email = field({ id: 'user-email', type: 'email', label: t('users.email'),
		    required: !editing, value: editing ? u.email : '', autocomplete: 'off',
		    hint: editing ? t('users.emailFixed') : t('users.emailHint'), optionalLabel: false,
		    attrs: { readOnly: editing, spellcheck: false } });
		const name = field({ id: 'user-name', label: t('users.name'), required: true,
		    value: editing ? u.name : '', autocomplete: 'off' });

		const has = (list, id) => (list || []).some((x) => String(x.id) === String(id));

		// Roles
		const roleSet = fieldset(t('users.roles'), { hint: t('users.rolesHint') });
		const roleById = new Map();
		if (roles.error) {
			roleSet.body.append(keptList(editing ? u.roles : [], t('users.noAccessRoles')));
		} else if (!roles.items.length) {
			roleSet.body.append(h('p', { class: 'muted' }, t('users.noRoles')));
		} else {
			const grid = h('div', { class: 'check-grid' });
			for (const r of roles.items) {
				roleById.set(String(r.id), r.id);
				grid.append(checkbox({ name: 'role', value: r.id, label: r.name,
				    checked: editing && has(u.roles, r.id) }).el);
			}
			roleSet.body.append(grid);
		}

		// Units, in tree order, indented by depth
		const unitSet = fieldset(t('users.units'), { hint: t('users.unitsHint') });
		const unitById = new Map();
		if (units.error) {
			unitSet.body.append(keptList(editing ? u.units : [], t('users.noAccessUnits')));
		} else if (!units.items.length) {
			unitSet.body.append(h('p', { class: 'muted' }, t('users.noUnits')));
		} else {
			const list = h('div', { class: 'check-list' });
			for (const { unit, depth } of unitTree(units.items)) {
				unitById.set(String(unit.id), unit.id);
				const cb = checkbox({ name: 'unit', value: unit.id, label: unit.name,
				    checked: editing && has(u.units, unit.id), cls: 'checkbox--tree' });
				cb.el.style.setProperty('--depth', String(Math.min(depth, 8)));
				list.append(cb.el);
			}
			unitSet.body.append(list);
		}

		// Skills, each with a level
		const skillSet = fieldset(t('users.skills'), { hint: t('users.skillsHint') });
		const skillById = new Map();
		if (skills.error) {
			skillSet.body.append(keptList(editing ? u.skills : [], t('users.noAccessSkills')));
		} else if (!skills.items.length) {
			skillSet.body.append(h('p', { class: 'muted' }, t('users.noSkills')));
		} else {
			const list = h('div', { class: 'skill-list' });
			for (const s of skills.items) {
				skillById.set(String(s.id), s.id);
				const current = editing ? (u.skills || []).find((x) => String(x.id) === String(s.id)) : null;
				const sel = h('select', { name: `level-${s.id}`, class: 'select select--sm',
				    'aria-label': t('users.levelFor', { skill: s.name }) },
				LEVELS.map((l) => h('option', { value: String(l) }, t('users.level', { level: l }))));
				sel.value = String(current ? current.level : 3);
				const cb = checkbox({ name: 'skill', value: s.id, label: s.name,
				    checked: Boolean(current) });
				sel.addEventListener('change', () => {
					cb.input.checked = true;
				});
				list.append(h('div', { class: 'skill-row' }, cb.el, sel));
			}
			skillSet.body.append(list);
		}

		const form = h('div', { class: 'form-stack' },
		    h('div', { class: 'form-grid' }, email.el, name.el),
		    roleSet.el, unitSet.el, skillSet.el);

		const fields = { email, name, role_ids: roleSet, unit_ids: unitSet, skills: skillSet };

		openDialog({
			title: editing ? t('users.editTitle', { name: u.name || u.email }) : t('users.createTitle'),
			content: form,
			submitLabel: editing ? t('action.saveChanges') : t('users.createSubmit'),
			submitId: 'user-save',
			size: 'lg',
			async onSubmit(ctl) {
				for (const f of [email, name, roleSet, unitSet, skillSet])
					f.setError('');
				// A list this user may not read is sent back unchanged, so
				// saving never drops links nobody could see.
				const kept = (list) => (editing ? list || [] : []);
				const body = {
					name: name.input.value.trim(),
					role_ids: roles.error ? kept(u && u.roles).map((x) => x.id) :
					    [...ctl.form.querySelectorAll('input[name=role]:checked')]
						.map((x) => roleById.get(x.value)),
					unit_ids: units.error ? kept(u && u.units).map((x) => x.id) :
					    [...ctl.form.querySelectorAll('input[name=unit]:checked')]
						.map((x) => unitById.get(x.value)),
					skills: skills.error ? kept(u && u.skills)
					    .map((x) => ({ skill_id: x.id, level: x.level })) :
					    [...ctl.form.querySelectorAll('input[name=skill]:checked')]
						.map((x) => ({ skill_id: skillById.get(x.value),
						    level: Number(ctl.form.querySelector(`select[name="level-${x.value}"]`).value) })),
				};
				let bad = null;
				if (!editing) {
					body.email = email.input.value.trim();
					if (!body.email) {
						email.setError(t('users.errEmailEmpty'));
						bad = email;
					} else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(body.email)) {
						email.setError(t('users.errEmailFormat'));
						bad = email;
					}
				}
				if (!body.name) {
					name.setError(t('users.errNameEmpty'));
					bad = bad || name;
				}
				if (bad) {
					bad.input.focus();
					return false;
				}
				try {
					if (editing) {
						const res = await api.put(idPath('/api/users', u.id), body);
						ctl.returnFocus = () => {
							const tr = rows.get(String(u.id));
							return tr ? tr.querySelector('[data-action="edit"]') : null;
						};
						updateRow(res.user || { ...u, name: body.name });
						toast(t('users.saved', { name: body.name }));
						return true;
					}
					const res = await api.post('/api/users', body);
					ctl.afterClose = () => {
						secretDialog({ title: t('users.createdTitle'),
						    intro: t('users.createdText', { name: body.name, email: body.email }),
						    secret: res.temporary_password });
					};
					load();
					return true;
				} catch (err) {
					if (err && err.redirecting)
						return false;
					if (err.code === 'conflict' && !editing) {
						email.setError(err.serverMessage || t('users.errEmailTaken'));
						email.input.focus();
						return false;
					}
					const f = err.field ? fields[err.field] : null;
					if (f) {
						f.setError(errorMessage(err));
						if (f.input)
							f.input.focus();
						return false;
					}
					throw err;
				}
			},
		});
	}

	if (createBtn)
		createBtn.addEventListener('click', () => openEditor(null));
	search.addEventListener('input', debounce(() => {
		syncUrl();
		load();
	}, 250));
	status.addEventListener('change', () => {
		syncUrl();
		load();
	});
	await load();
}
