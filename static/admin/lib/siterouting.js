// The routing block of a site card (/admin/sites): the site's default queue
// and its subjects (W4), the ordered list customers choose from in the
// widget before they write. Each subject sends the chat to its queue.

import { t } from './i18n.js';
import { api, idPath, errorMessage } from './api.js';
import {
	h, clear, button, field, checkbox, openDialog, confirmDialog, loading, errorBlock, toast,
	badge, uid, sortBy,
} from './ui.js';

export function routingBlock(site, ctx) {
	const canWrite = ctx.can('sites.write');
	const el = h('div', { class: 'site__block site__block--wide site-routing',
	    dataset: { routingFor: site.id } });
	let queues = [];
	let routing = null;

	async function load(focusSel) {
		clear(el).append(loading());
		try {
			const [r, q] = await Promise.all([api.get(idPath('/api/sites', site.id, '/routing')),
			    api.get('/api/queues')]);
			routing = r;
			queues = sortBy(q.queues || [], (x) => x.name);
			draw();
			if (focusSel) {
				const f = el.querySelector(focusSel);
				if (f)
					f.focus();
			}
		} catch (err) {
			if (err && err.redirecting)
				return;
			clear(el).append(errorBlock(err, () => load()));
		}
	}

	function queueOptions(none) {
		return [...(none ? [{ value: '', label: none }] : []),
		    ...queues.map((q) => ({ value: q.id, label: q.name }))];
	}

	function draw() {
		clear(el);
		const headId = uid('routing');
		el.append(h('h3', { class: 'site__label', id: headId }, t('siteRouting.title')));
		const dq = field({ id: uid('default-queue'), kind: 'select', label: t('siteRouting.defaultQueue'),
		    value: routing.default_queue_id ?? '', hint: t('siteRouting.defaultQueueHint'),
		    options: queueOptions(t('siteRouting.noQueue')),
		    attrs: { disabled: !canWrite, 'data-role': 'default-queue' } });
		const saveDq = canWrite ? button(t('siteRouting.saveQueue'), { size: 'sm', kind: 'secondary',
		    srSuffix: site.name, attrs: { 'data-action': 'save-default-queue' }, onClick: async () => {
			    try {
				    const v = dq.input.value;
				    routing = await api.put(idPath('/api/sites', site.id, '/default-queue'),
					{ queue_id: v ? Number(v) : null });
				    toast(t('siteRouting.queueSaved', { name: site.name }));
			    } catch (err) {
				    dq.setError(errorMessage(err));
				    dq.input.focus();
			    }
		    } }) : null;
		el.append(h('div', { class: 'site-routing__queue' }, dq.el, saveDq));

		el.append(h('h3', { class: 'site__label' }, t('siteRouting.subjects')),
		    h('p', { class: 'site__hint' }, t('siteRouting.subjectsHint')));
		const subjects = routing.subjects || [];
		if (!subjects.length) {
			el.append(h('p', { class: 'muted' }, t('siteRouting.noSubjects')));
		} else {
			const list = h('ol', { class: 'subject-list', 'aria-label': t('siteRouting.subjectsOf', { name: site.name }) });
			subjects.forEach((s, i) => {
				list.append(h('li', { class: 'subject-row', dataset: { subjectId: s.id } },
				    h('span', { class: 'subject-row__name' }, s.name),
				    h('span', null, t('siteRouting.toQueue', { queue: s.queue_name })),
				    s.active ? null : badge(t('siteRouting.inactive'), 'neutral'),
				    canWrite ? h('span', { class: 'row-actions' },
					button(t('siteRouting.up'), { size: 'sm', kind: 'ghost', srSuffix: s.name,
					    attrs: { 'data-action': 'up', disabled: i === 0 }, onClick: () => move(i, -1) }),
					button(t('siteRouting.down'), { size: 'sm', kind: 'ghost', srSuffix: s.name,
					    attrs: { 'data-action': 'down', disabled: i === subjects.length - 1 },
					    onClick: () => move(i, 1) }),
					button(t('action.edit'), { size: 'sm', kind: 'ghost', srSuffix: s.name,
					    attrs: { 'data-action': 'edit-subject' }, onClick: () => subjectDialog(s) }),
					button(t('action.delete'), { size: 'sm', kind: 'danger-ghost', srSuffix: s.name,
					    attrs: { 'data-action': 'delete-subject' }, onClick: () => remove(s) })) : null));
			});
			el.append(list);
		}
		if (canWrite) {
			el.append(button(t('siteRouting.addSubject'), { size: 'sm', kind: 'secondary', iconName: 'plus',
			    srSuffix: site.name, attrs: { 'data-action': 'add-subject', disabled: !queues.length },
			    onClick: () => subjectDialog(null) }));
			if (!queues.length)
				el.append(h('p', { class: 'muted' }, t('siteRouting.needQueue')));
		}
	}

	async function move(i, delta) {
		const ids = routing.subjects.map((s) => s.id);
		const j = i + delta;
		[ids[i], ids[j]] = [ids[j], ids[i]];
		try {
			routing = await api.put(idPath('/api/sites', site.id, '/subjects/order'), { ids });
			draw();
			const b = el.querySelector(`[data-subject-id="${CSS.escape(String(ids[j]))}"] [data-action=${delta < 0 ? 'up' : 'down'}]`);
			if (b && !b.disabled)
				b.focus();
			else
				el.querySelector('[data-action=add-subject]')?.focus();
		} catch (err) {
			toast(errorMessage(err), 'error');
		}
	}

	function subjectDialog(s) {
		const editing = Boolean(s);
		const name = field({ id: 'subject-name', label: t('siteRouting.subjectName'), required: true,
		    value: editing ? s.name : '', autocomplete: 'off', hint: t('siteRouting.subjectNameHint') });
		const queue = field({ id: 'subject-queue', kind: 'select', label: t('siteRouting.subjectQueue'),
		    value: editing ? s.queue_id : (routing.default_queue_id ?? queues[0]?.id), required: true,
		    options: queueOptions(null) });
		const active = checkbox({ name: 'active', value: '1', label: t('siteRouting.subjectActive'),
		    checked: editing ? s.active : true, id: 'subject-active' });
		openDialog({
			title: editing ? t('siteRouting.editTitle', { name: s.name }) : t('siteRouting.createTitle'),
			content: h('div', { class: 'form-stack' }, name.el, queue.el, active.el),
			submitLabel: editing ? t('action.saveChanges') : t('siteRouting.createSubmit'),
			submitId: 'subject-save',
			size: 'sm',
			async onSubmit(ctl) {
				const v = name.input.value.trim();
				if (!v) {
					name.setError(t('siteRouting.errNameEmpty'));
					name.input.focus();
					return false;
				}
				const body = { name: v, queue_id: Number(queue.input.value), active: active.input.checked };
				try {
					if (editing)
						await api.put(idPath('/api/subjects', s.id), body);
					else
						await api.post(idPath('/api/sites', site.id, '/subjects'), body);
					toast(t('siteRouting.subjectSaved', { name: v }));
					ctl.returnFocus = () => null;
					ctl.afterClose = () => load('[data-action=add-subject]');
					return true;
				} catch (err) {
					const f = err && err.field ? { name, queue_id: queue }[err.field] : null;
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

	async function remove(s) {
		const ok = await confirmDialog({
			title: t('siteRouting.deleteTitle', { name: s.name }),
			message: t('siteRouting.deleteText'),
			confirmLabel: t('action.delete'),
			onConfirm: () => api.del(idPath('/api/subjects', s.id)),
		});
		if (ok) {
			toast(t('siteRouting.deleted', { name: s.name }));
			await load('[data-action=add-subject]');
		}
	}

	load();
	return el;
}
