// /admin/queues: the ACD's queues (A1–A6). Each queue has a distribution
// strategy, a priority, agent capacity, offer / wrap-up / preferred-agent
// times, required skills with minimum levels, overflow to another queue and
// relaxation of skill levels, and optional business hours (a weekly schedule
// in an IANA time zone plus closed dates). The server validates every field
// and names the field of an error; the form shows it there.

import { t, fmtNumber } from '../lib/i18n.js';
import { api, idPath, errorMessage } from '../lib/api.js';
import {
	h, clear, button, field, fieldset, checkbox, openDialog, confirmDialog, pageHeader,
	emptyState, loading, errorBlock, toast, toastError, sortBy, badge, uid, iconTextButton,
} from '../lib/ui.js';
import { refs } from '../lib/refs.js';
import { recordingFields } from './site_recording.js';

const STRATEGIES = ['round_robin', 'longest_idle', 'least_occupied'];
const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7];

function timeZones() {
	try {
		return Intl.supportedValuesOf('timeZone');
	} catch {
		return ['UTC'];
	}
}

// A number input; empty is null.
function numField(id, label, value, { hint, min, max, required = false } = {}) {
	const f = field({ id, label, type: 'number', value: value ?? '', hint, required,
	    attrs: { min, max, step: 1, inputmode: 'numeric' } });
	f.value = () => (f.input.value.trim() === '' ? null : Number(f.input.value));
	return f;
}

export function weekdayName(n) {
	// 2024-01-01 was a Monday (ISO weekday 1).
	return new Intl.DateTimeFormat(document.documentElement.lang || 'en', { weekday: 'long' })
	    .format(new Date(Date.UTC(2024, 0, n, 12)));
}

export async function render(root, ctx) {
	const canWrite = ctx.can('queues.write');
	ctx.setTitle(t('queues.title'));
	const createBtn = canWrite ? button(t('queues.create'),
	    { kind: 'primary', iconName: 'plus', id: 'queue-create' }) : null;
	root.append(pageHeader({ title: t('queues.title'), description: t('queues.description'),
	    actions: createBtn }));
	const host = h('div', { class: 'card card--flush' });
	root.append(host);
	let queues = [];

	async function load(focusId) {
		if (!queues.length)
			clear(host).append(loading());
		try {
			const res = await api.get('/api/queues');
			queues = sortBy(res.queues || [], (q) => q.name);
			draw();
			if (focusId !== undefined && focusId !== null) {
				const b = host.querySelector(`tr[data-queue-id="${CSS.escape(String(focusId))}"] [data-action="edit"]`);
				if (b)
					b.focus();
			}
		} catch (err) {
			if (err && err.redirecting)
				return;
			clear(host).append(errorBlock(err, () => load()));
		}
	}

	function hoursBadge(q) {
		if (!q.hours || !q.hours.enabled)
			return badge(t('queues.alwaysOpen'), 'neutral');
		return q.open_now ? badge(t('queues.openNow'), 'success') :
		    badge(t('queues.closedNow'), 'warning');
	}

	function draw() {
		clear(host);
		if (!queues.length) {
			host.append(emptyState({ title: t('queues.empty'), text: t('queues.emptyText'),
			    iconName: 'inbox', action: canWrite ? button(t('queues.create'),
				{ kind: 'primary', iconName: 'plus', onClick: () => edit(null) }) : null }));
			return;
		}
		const byId = new Map(queues.map((q) => [String(q.id), q]));
		const tbody = h('tbody');
		for (const q of queues) {
			const over = q.overflow_queue_id ? byId.get(String(q.overflow_queue_id)) : null;
			tbody.append(h('tr', { dataset: { queueId: q.id } },
			    h('th', { scope: 'row', class: 'table__primary' }, q.name),
			    h('td', null, t(`queues.strategy.${q.strategy}`)),
			    h('td', null, q.skills.length ? q.skills.map((s) =>
				t('queues.skillLevel', { skill: s.name, level: s.level })).join(', ') :
				h('span', { class: 'muted' }, t('queues.noSkills'))),
			    h('td', null, over ? over.name : h('span', { class: 'muted' }, t('queues.noOverflow'))),
			    h('td', null, hoursBadge(q)),
			    h('td', { class: 'num' }, fmtNumber(q.waiting || 0)),
			    canWrite ? h('td', { class: 'table__actions' }, h('div', { class: 'row-actions' },
				button(t('action.edit'), { size: 'sm', kind: 'ghost', srSuffix: q.name,
				    attrs: { 'data-action': 'edit' }, onClick: () => edit(q) }),
				button(t('action.delete'), { size: 'sm', kind: 'danger-ghost', srSuffix: q.name,
				    attrs: { 'data-action': 'delete' }, onClick: () => remove(q) }))) : null));
		}
		host.append(h('div', { class: 'table-wrap', tabIndex: 0, role: 'region',
		    'aria-labelledby': 'queues-caption' },
		h('table', { class: 'table', id: 'queues-table' },
		    h('caption', { id: 'queues-caption', class: 'sr-only' }, t('queues.caption')),
		    h('thead', null, h('tr', null,
			h('th', { scope: 'col' }, t('queues.colName')),
			h('th', { scope: 'col' }, t('queues.colStrategy')),
			h('th', { scope: 'col' }, t('queues.colSkills')),
			h('th', { scope: 'col' }, t('queues.colOverflow')),
			h('th', { scope: 'col' }, t('queues.colHours')),
			h('th', { scope: 'col', class: 'num' }, t('queues.colWaiting')),
			canWrite ? h('th', { scope: 'col', class: 'table__actions' },
			    h('span', { class: 'sr-only' }, t('table.actions'))) : null)),
		    tbody)));
	}

	async function edit(q) {
		const skills = await refs.skills();
		let recording = { policy: null, notice: null };
		if (q) {
			try {
				recording = (await api.get(idPath('/api/queues', q.id, '/recording'))).recording;
			} catch (err) {
				if (err && err.redirecting)
					return;
				toastError(err);
				return;
			}
		}
		queueDialog(q, skills, recording);
	}

	// One opening interval: two time inputs and a remove button.
	function intervalRow(day, iv, list) {
		const o = h('input', { class: 'input input--time', type: 'time', value: iv.opens,
		    'aria-label': t('queues.opensOn', { day: weekdayName(day) }), dataset: { role: 'opens' } });
		const c = h('input', { class: 'input input--time', type: 'time',
		    value: iv.closes === '24:00' ? '00:00' : iv.closes,
		    'aria-label': t('queues.closesOn', { day: weekdayName(day) }), dataset: { role: 'closes' } });
		const row = h('div', { class: 'hours-interval', dataset: { weekday: day } }, o,
		    h('span', { 'aria-hidden': 'true' }, '–'), c,
		    iconTextButton('trash', t('queues.removeInterval', { day: weekdayName(day) }), {
			    onClick: () => { row.remove(); list.dispatchEvent(new Event('change')); } }));
		return row;
	}

	function closedRow(d, list) {
		const date = h('input', { class: 'input', type: 'date', value: d.date || '',
		    'aria-label': t('queues.closedDate'), dataset: { role: 'date' } });
		const name = h('input', { class: 'input', type: 'text', value: d.name || '', maxlength: 100,
		    'aria-label': t('queues.closedName'), placeholder: t('queues.closedNamePlaceholder'),
		    dataset: { role: 'name' } });
		const row = h('div', { class: 'hours-closed' }, date, name,
		    iconTextButton('trash', t('queues.removeClosed'), { onClick: () => row.remove() }));
		list.append(row);
		return row;
	}

	function queueDialog(q, skills, recordingValue) {
		const editing = Boolean(q);
		const v = q || { strategy: 'longest_idle', priority: 0, capacity: 3, offer_timeout_s: 20,
		    wrapup_s: 30, preferred_s: 30, skills: [],
		    hours: { enabled: false, time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
			weekly: [], closed_dates: [] } };
		const name = field({ id: 'queue-name', label: t('queues.name'), required: true,
		    value: editing ? q.name : '', autocomplete: 'off', hint: t('queues.nameHint') });
		const strategy = field({ id: 'queue-strategy', kind: 'select', label: t('queues.strategyLabel'),
		    value: v.strategy, hint: t('queues.strategyHint'),
		    options: STRATEGIES.map((s) => ({ value: s, label: t(`queues.strategy.${s}`) })) });
		const priority = numField('queue-priority', t('queues.priority'), v.priority,
		    { hint: t('queues.priorityHint'), min: -100, max: 100, required: true });
		const capacity = numField('queue-capacity', t('queues.capacity'), v.capacity,
		    { hint: t('queues.capacityHint'), min: 1, max: 50, required: true });
		const offer = numField('queue-offer', t('queues.offerTimeout'), v.offer_timeout_s,
		    { hint: t('queues.offerTimeoutHint'), min: 5, max: 300, required: true });
		const wrapup = numField('queue-wrapup', t('queues.wrapup'), v.wrapup_s,
		    { hint: t('queues.wrapupHint'), min: 0, max: 3600, required: true });
		const preferred = numField('queue-preferred', t('queues.preferred'), v.preferred_s,
		    { hint: t('queues.preferredHint'), min: 0, max: 3600, required: true });
		const general = fieldset(t('queues.general'));
		general.body.append(name.el, h('div', { class: 'form-grid' }, strategy.el, priority.el,
		    capacity.el, offer.el, wrapup.el, preferred.el));

		// Skills with minimum levels.
		const skillSet = fieldset(t('queues.skills'), { hint: t('queues.skillsHint') });
		const levelOf = new Map((v.skills || []).map((s) => [String(s.skill_id), s.level]));
		if (skills.error || !skills.items.length) {
			skillSet.body.append(h('p', { class: 'muted' }, skills.error ?
			    errorMessage(skills.error) : t('queues.noSkillsDefined')));
		} else {
			const list = h('div', { class: 'skill-list' });
			for (const s of skills.items) {
				const lv = levelOf.get(String(s.id));
				const sel = h('select', { class: 'select select--sm', name: `level-${s.id}`,
				    'aria-label': t('queues.minLevelFor', { skill: s.name }) },
				[1, 2, 3, 4, 5].map((n) => h('option', { value: String(n), selected: n === (lv || 1) },
				    t('queues.minLevel', { level: n }))));
				const cb = checkbox({ name: 'skill', value: s.id, label: s.name, checked: Boolean(lv) });
				list.append(h('div', { class: 'skill-row' }, cb.el, sel));
			}
			skillSet.body.append(list);
		}

		// Overflow and relaxation.
		const others = queues.filter((x) => !editing || String(x.id) !== String(q.id));
		const overflow = field({ id: 'queue-overflow', kind: 'select', label: t('queues.overflowTo'),
		    value: v.overflow_queue_id ?? '', hint: t('queues.overflowHint'),
		    options: [{ value: '', label: t('queues.noOverflow') },
			...others.map((x) => ({ value: x.id, label: x.name }))] });
		const overAfter = numField('queue-overflow-after', t('queues.overflowAfter'), v.overflow_after_s,
		    { min: 1, max: 86400 });
		const overWaiting = numField('queue-overflow-waiting', t('queues.overflowWaiting'), v.overflow_waiting,
		    { min: 1, max: 10000 });
		const relax = numField('queue-relax', t('queues.relaxAfter'), v.relax_after_s,
		    { hint: t('queues.relaxHint'), min: 1, max: 86400 });
		const overSet = fieldset(t('queues.overflow'));
		overSet.body.append(overflow.el, h('div', { class: 'form-grid' }, overAfter.el,
		    overWaiting.el, relax.el));

		// Business hours.
		const hv = v.hours || { enabled: false, time_zone: 'UTC', weekly: [], closed_dates: [] };
		const hoursSet = fieldset(t('queues.hours'), { hint: t('queues.hoursHint') });
		const enabled = checkbox({ name: 'hours-enabled', value: '1', label: t('queues.hoursEnabled'),
		    checked: hv.enabled, id: 'queue-hours-enabled' });
		const zones = timeZones();
		const tzList = uid('tz');
		const tz = field({ id: 'queue-tz', label: t('queues.timeZone'), value: hv.time_zone,
		    hint: t('queues.timeZoneHint'), required: true,
		    attrs: { list: tzList, autocomplete: 'off', spellcheck: false } });
		const weekly = fieldset(t('queues.weekly'), { hint: t('queues.weeklyHint') });
		const days = h('div', { class: 'hours-week' });
		for (const d of WEEKDAYS) {
			const list = h('div', { class: 'hours-day__intervals' });
			for (const iv of (hv.weekly || []).filter((x) => x.weekday === d))
				list.append(intervalRow(d, iv, list));
			const addBtn = button(t('queues.addInterval'), { size: 'sm', kind: 'ghost', iconName: 'plus',
			    srSuffix: weekdayName(d), onClick: () => {
				    const row = intervalRow(d, { opens: '09:00', closes: '17:00' }, list);
				    list.append(row);
				    row.querySelector('input').focus();
			    } });
			days.append(h('div', { class: 'hours-day' },
			    h('span', { class: 'hours-day__name' }, weekdayName(d)), list, addBtn));
		}
		weekly.body.append(days);
		const closedSet = fieldset(t('queues.closedDates'), { hint: t('queues.closedDatesHint') });
		const closedList = h('div', { class: 'hours-closed-list' });
		for (const d of hv.closed_dates || [])
			closedRow(d, closedList);
		closedSet.body.append(closedList, button(t('queues.addClosed'), { size: 'sm', kind: 'ghost',
		    iconName: 'plus', onClick: () => closedRow({}, closedList).querySelector('input').focus() }));
		const hoursBody = h('div', { class: 'form-stack' }, tz.el,
		    h('datalist', { id: tzList }, zones.map((z) => h('option', { value: z }))), weekly.el, closedSet.el);
		const syncHours = () => { hoursBody.hidden = !enabled.input.checked; };
		enabled.input.addEventListener('change', syncHours);
		syncHours();
		hoursSet.body.append(enabled.el, hoursBody);

		// Recording policy (S5): saved with its own call, audited as queue.recording.
		const recording = recordingFields('queue-recording', recordingValue, { inherit: true });
		const recordingSet = fieldset(t('recording.title'));
		recordingSet.body.append(h('div', { class: 'form-stack' }, recording.policy.el, recording.notice.el));

		const fields = {
			name, strategy, priority, capacity, offer_timeout_s: offer, wrapup_s: wrapup,
			preferred_s: preferred, skills: skillSet, level: skillSet, overflow_queue_id: overflow,
			overflow_after_s: overAfter, overflow_waiting: overWaiting, relax_after_s: relax,
			hours: hoursSet, 'hours.enabled': hoursSet, 'hours.time_zone': tz,
			'hours.weekly': weekly, 'hours.closed_dates': closedSet,
		};

		function collect(form) {
			const weeklyOut = [...form.querySelectorAll('.hours-interval')].map((row) => {
				const closes = row.querySelector('[data-role=closes]').value;
				return { weekday: Number(row.dataset.weekday),
				    opens: row.querySelector('[data-role=opens]').value,
				    closes: closes === '00:00' ? '24:00' : closes };
			});
			const closedOut = [...form.querySelectorAll('.hours-closed')].map((row) => ({
				date: row.querySelector('[data-role=date]').value,
				name: row.querySelector('[data-role=name]').value.trim() || null,
			}));
			return {
				name: name.input.value.trim(),
				strategy: strategy.input.value,
				priority: priority.value(), capacity: capacity.value(),
				offer_timeout_s: offer.value(), wrapup_s: wrapup.value(), preferred_s: preferred.value(),
				skills: [...form.querySelectorAll('input[name=skill]:checked')].map((x) => ({
					skill_id: Number(x.value),
					level: Number(form.querySelector(`select[name="level-${CSS.escape(x.value)}"]`).value),
				})),
				overflow_queue_id: overflow.input.value ? Number(overflow.input.value) : null,
				overflow_after_s: overAfter.value(), overflow_waiting: overWaiting.value(),
				relax_after_s: relax.value(),
				hours: { enabled: enabled.input.checked, time_zone: tz.input.value.trim(),
				    weekly: weeklyOut, closed_dates: closedOut },
			};
		}

		openDialog({
			title: editing ? t('queues.editTitle', { name: q.name }) : t('queues.createTitle'),
			content: h('div', { class: 'form-stack' }, general.el, skillSet.el, overSet.el, hoursSet.el,
			    recordingSet.el),
			submitLabel: editing ? t('action.saveChanges') : t('queues.createSubmit'),
			submitId: 'queue-save',
			size: 'lg',
			async onSubmit(ctl) {
				for (const f of new Set(Object.values(fields)))
					f.setError('');
				const body = collect(ctl.form);
				if (!body.name) {
					name.setError(t('queues.errNameEmpty'));
					name.input.focus();
					return false;
				}
				if (!recording.check())
					return false;
				try {
					// An existing queue's recording settings first: their errors
					// show in the form before anything else is saved.
					if (editing)
						await api.put(idPath('/api/queues', q.id, '/recording'), recording.value());
					const res = editing ? await api.put(idPath('/api/queues', q.id), body) :
					    await api.post('/api/queues', body);
					if (!editing && res.queue)
						await api.put(idPath('/api/queues', res.queue.id, '/recording'), recording.value());
					toast(editing ? t('queues.saved', { name: body.name }) :
					    t('queues.created', { name: body.name }));
					ctl.returnFocus = () => null;
					ctl.afterClose = () => load(res.queue ? res.queue.id : null);
					return true;
				} catch (err) {
					if (err && err.field && err.field in recording.fields && recording.showError(err))
						return false;
					const f = err && err.field ? fields[err.field] : null;
					if (f) {
						f.setError(errorMessage(err));
						const target = f.input || f.el.querySelector('input, select');
						if (target)
							target.focus();
						return false;
					}
					throw err;
				}
			},
		});
	}

	async function remove(q) {
		const ok = await confirmDialog({
			title: t('queues.deleteTitle', { name: q.name }),
			message: t('queues.deleteText'),
			confirmLabel: t('action.delete'),
			onConfirm: () => api.del(idPath('/api/queues', q.id)),
		});
		if (ok) {
			toast(t('queues.deleted', { name: q.name }));
			await load();
			if (createBtn)
				createBtn.focus();
		}
	}

	if (createBtn)
		createBtn.addEventListener('click', () => edit(null));
	await load();
}
