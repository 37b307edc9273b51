// /admin/skills: list, create, rename and delete skills (used for routing).

import { t, fmtNumber } from '../lib/i18n.js';
import { api, idPath, errorMessage } from '../lib/api.js';
import {
	h, clear, button, field, openDialog, confirmDialog, pageHeader, emptyState,
	loading, errorBlock, toast, sortBy,
} from '../lib/ui.js';

export async function render(root, ctx) {
	const canWrite = ctx.can('users.write');
	ctx.setTitle(t('skills.title'));
	const createBtn = canWrite ? button(t('skills.create'),
	    { kind: 'primary', iconName: 'plus', id: 'skill-create' }) : null;
	root.append(pageHeader({ title: t('skills.title'), description: t('skills.description'),
	    actions: createBtn }));
	const host = h('div', { class: 'card card--flush' });
	root.append(host);
	let skills = [];

	async function load(focusId) {
		if (!skills.length)
			clear(host).append(loading());
		try {
			const res = await api.get('/api/skills');
			skills = sortBy(res.skills || [], (s) => s.name);
			draw();
			if (focusId !== undefined && focusId !== null) {
				const b = host.querySelector(`tr[data-skill-id="${CSS.escape(String(focusId))}"] [data-action="rename"]`);
				if (b)
					b.focus();
			}
		} catch (err) {
			if (err && err.redirecting)
				return;
			clear(host).append(errorBlock(err, () => load()));
		}
	}

	function draw() {
		clear(host);
		if (!skills.length) {
			host.append(emptyState({ title: t('skills.empty'), text: t('skills.emptyText'),
			    iconName: 'skills', action: canWrite ? button(t('skills.create'),
				{ kind: 'primary', iconName: 'plus', onClick: () => skillDialog(null) }) : null }));
			return;
		}
		const tbody = h('tbody');
		for (const s of skills) {
			const n = Number(s.user_count) || 0;
			tbody.append(h('tr', { dataset: { skillId: s.id } },
			    h('th', { scope: 'row', class: 'table__primary' }, s.name),
			    h('td', { class: 'num' }, n ? t('skills.users', { count: n, n: fmtNumber(n) }) :
				h('span', { class: 'muted' }, t('skills.unused'))),
			    canWrite ? h('td', { class: 'table__actions' }, h('div', { class: 'row-actions' },
				button(t('skills.rename'), { size: 'sm', kind: 'ghost', srSuffix: s.name,
				    attrs: { 'data-action': 'rename' }, onClick: () => skillDialog(s) }),
				button(t('action.delete'), { size: 'sm', kind: 'danger-ghost', srSuffix: s.name,
				    attrs: { 'data-action': 'delete' }, onClick: () => removeSkill(s) }))) : null));
		}
		host.append(h('div', { class: 'table-wrap', tabIndex: 0, role: 'region',
		    'aria-labelledby': 'skills-caption' },
		h('table', { class: 'table', id: 'skills-table' },
		    h('caption', { id: 'skills-caption', class: 'sr-only' }, t('skills.caption')),
		    h('thead', null, h('tr', null,
			h('th', { scope: 'col' }, t('skills.colName')),
			h('th', { scope: 'col', class: 'num' }, t('skills.colUsers')),
			canWrite ? h('th', { scope: 'col', class: 'table__actions' },
			    h('span', { class: 'sr-only' }, t('table.actions'))) : null)),
		    tbody)));
	}

	function skillDialog(s) {
		const editing = Boolean(s);
		const name = field({ id: 'skill-name', label: t('skills.name'), required: true,
		    value: editing ? s.name : '', autocomplete: 'off', hint: t('skills.nameHint') });
		openDialog({
			title: editing ? t('skills.renameTitle', { name: s.name }) : t('skills.createTitle'),
			content: h('div', { class: 'form-stack' }, name.el),
			submitLabel: editing ? t('action.saveChanges') : t('skills.createSubmit'),
			submitId: 'skill-save',
			size: 'sm',
			async onSubmit(ctl) {
				const v = name.input.value.trim();
				if (!v) {
					name.setError(t('skills.errNameEmpty'));
					name.input.focus();
					return false;
				}
				try {
					const res = editing ? await api.put(idPath('/api/skills', s.id), { name: v }) :
					    await api.post('/api/skills', { name: v });
					toast(editing ? t('skills.renamed', { name: v }) : t('skills.created', { name: v }));
					const id = res.skill ? res.skill.id : (editing ? s.id : null);
					ctl.returnFocus = () => null;
					ctl.afterClose = () => load(id);
					return true;
				} catch (err) {
					if (err && (err.field === 'name' || err.code === 'conflict')) {
						name.setError(errorMessage(err));
						name.input.focus();
						return false;
					}
					throw err;
				}
			},
		});
	}

	async function removeSkill(s) {
		const n = Number(s.user_count) || 0;
		const ok = await confirmDialog({
			title: t('skills.deleteTitle', { name: s.name }),
			message: n ? t('skills.deleteTextUsed', { count: n }) : t('skills.deleteText'),
			confirmLabel: t('action.delete'),
			onConfirm: () => api.del(idPath('/api/skills', s.id)),
		});
		if (ok) {
			toast(t('skills.deleted', { name: s.name }));
			await load();
			if (createBtn)
				createBtn.focus();
		}
	}

	if (createBtn)
		createBtn.addEventListener('click', () => skillDialog(null));
	await load();
}
