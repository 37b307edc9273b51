// /admin/audit: the audit log with filters and "Load more" (before_id
// paging). A row expands to show the object before and after the change,
// as preformatted JSON text. Hooks: #audit-table, tr[data-audit-id].

import { t, fmtDateTime, fmtDateTimeFull, fmtNumber } from '../lib/i18n.js';
import { api, qs } from '../lib/api.js';
import {
	h, clear, button, pageHeader, emptyState, loading, errorBlock, toastError, icon, uid, sortBy,
} from '../lib/ui.js';

const PAGE_SIZE = 50;
const KNOWN_TYPES = ['user', 'unit', 'role', 'skill', 'site', 'organisation', 'session'];

// Local calendar day → ISO instant at its start (from) or the next day's start (to).
function dayStart(value, plusDays = 0) {
	const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
	if (!m)
		return '';
	const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays);
	return d.toISOString();
}

function pretty(v) {
	if (v === null || v === undefined)
		return null;
	if (typeof v === 'string') {
		try {
			return JSON.stringify(JSON.parse(v), null, 2);
		} catch {
			return v;
		}
	}
	return JSON.stringify(v, null, 2);
}

export async function render(root, ctx) {
	ctx.setTitle(t('audit.title'));
	root.append(pageHeader({ title: t('audit.title'), description: t('audit.description') }));

	const params = new URLSearchParams(location.search);
	const actor = h('select', { id: 'audit-actor', class: 'select', name: 'actor_id' },
	    h('option', { value: '' }, t('audit.anyone')));
	const action = h('input', { id: 'audit-action', class: 'input', type: 'text', name: 'action',
	    value: params.get('action') || '', autocomplete: 'off', spellcheck: false,
	    placeholder: t('audit.actionPlaceholder') });
	const typeList = h('datalist', { id: 'audit-types' },
	    KNOWN_TYPES.map((x) => h('option', { value: x })));
	const objectType = h('input', { id: 'audit-object-type', class: 'input', type: 'text',
	    name: 'object_type', value: params.get('object_type') || '', autocomplete: 'off',
	    list: 'audit-types', spellcheck: false, placeholder: t('audit.typePlaceholder') });
	const from = h('input', { id: 'audit-from', class: 'input', type: 'date', name: 'from',
	    value: params.get('from') || '' });
	const to = h('input', { id: 'audit-to', class: 'input', type: 'date', name: 'to',
	    value: params.get('to') || '' });
	const filterError = h('p', { class: 'field__error', id: 'audit-filter-error', role: 'alert' });
	to.setAttribute('aria-describedby', 'audit-filter-error');

	const apply = button(t('audit.apply'), { kind: 'primary', type: 'submit', iconName: 'filter',
	    id: 'audit-apply' });
	const reset = button(t('audit.reset'), { kind: 'ghost', id: 'audit-reset' });
	const filterForm = h('form', { class: 'filters card', role: 'search',
	    'aria-label': t('audit.filters'), novalidate: true },
	h('div', { class: 'filters__grid' },
	    h('div', { class: 'field' }, h('label', { for: 'audit-actor', class: 'field__label' },
		t('audit.actor')), actor),
	    h('div', { class: 'field' }, h('label', { for: 'audit-action', class: 'field__label' },
		t('audit.action')), action),
	    h('div', { class: 'field' }, h('label', { for: 'audit-object-type', class: 'field__label' },
		t('audit.objectType')), objectType, typeList),
	    h('div', { class: 'field' }, h('label', { for: 'audit-from', class: 'field__label' },
		t('audit.from')), from),
	    h('div', { class: 'field' }, h('label', { for: 'audit-to', class: 'field__label' },
		t('audit.to')), to, filterError),
	    h('div', { class: 'filters__actions' }, reset, apply)));
	root.append(filterForm);

	const summary = h('p', { class: 'toolbar__count', 'aria-live': 'polite', id: 'audit-summary' });
	const tbody = h('tbody');
	const table = h('table', { class: 'table table--audit', id: 'audit-table' },
	    h('caption', { class: 'sr-only' }, t('audit.caption')),
	    h('thead', null, h('tr', null,
		h('th', { scope: 'col', class: 'table__toggle' },
		    h('span', { class: 'sr-only' }, t('audit.colDetails'))),
		h('th', { scope: 'col' }, t('audit.colTime')),
		h('th', { scope: 'col' }, t('audit.colActor')),
		h('th', { scope: 'col' }, t('audit.colAction')),
		h('th', { scope: 'col' }, t('audit.colObject')),
		h('th', { scope: 'col' }, t('audit.colAddress')))),
	    tbody);
	const body = h('div', { class: 'card card--flush' });
	const more = button(t('audit.more'), { kind: 'secondary', id: 'audit-more' });
	const end = h('p', { class: 'muted audit__end' }, t('audit.end'));
	const footer = h('div', { class: 'audit__footer' }, more, end);
	root.append(h('div', { class: 'toolbar toolbar--plain' }, summary), body);

	let nextBefore = null;
	let shown = 0;
	const actorsSeen = new Map();
	let actorSource = 'entries';

	// Actor choices: everyone in the organisation when the user may list
	// users, else the people seen in the log so far.
	async function loadActors() {
		if (!ctx.can('users.read'))
			return;
		try {
			const res = await api.get('/api/users');
			actorSource = 'users';
			for (const u of sortBy(res.users || [], (x) => x.name || x.email))
				actor.append(h('option', { value: String(u.id) }, u.name ? `${u.name} (${u.email})` : u.email));
		} catch {
			actorSource = 'entries';
		}
		const want = params.get('actor_id');
		if (want)
			actor.value = want;
	}

	function noteActors(entries) {
		if (actorSource !== 'entries')
			return;
		for (const e of entries) {
			if (!e.actor || actorsSeen.has(String(e.actor.id)))
				continue;
			actorsSeen.set(String(e.actor.id), e.actor);
			actor.append(h('option', { value: String(e.actor.id) },
			    e.actor.name ? `${e.actor.name} (${e.actor.email})` : e.actor.email));
		}
	}

	function query(beforeId) {
		return qs({
			actor_id: actor.value, action: action.value.trim(), object_type: objectType.value.trim(),
			from: dayStart(from.value), to: dayStart(to.value, 1), before_id: beforeId,
			limit: PAGE_SIZE,
		});
	}

	function syncUrl() {
		const u = new URL(location.href);
		u.search = qs({ actor_id: actor.value, action: action.value.trim(),
		    object_type: objectType.value.trim(), from: from.value, to: to.value });
		history.replaceState(null, '', u);
	}

	function entryRow(e) {
		const detailId = uid('audit-detail');
		const toggle = h('button', { type: 'button', class: 'icon-btn icon-btn--sm audit__toggle',
		    'aria-expanded': 'false', 'aria-controls': detailId,
		    'aria-label': t('audit.showDetails', { action: e.action, time: fmtDateTime(e.at) }) },
		icon('chevronRight'));
		const who = e.actor ? h('div', { class: 'person person--compact' },
		    h('div', { class: 'person__text' },
			h('span', { class: 'person__name' }, e.actor.name || e.actor.email),
			e.actor.name ? h('span', { class: 'person__sub' }, e.actor.email) : null)) :
		    h('span', { class: 'muted' }, t('audit.system'));
		const row = h('tr', { dataset: { auditId: e.id }, class: 'audit__row' },
		    h('td', { class: 'table__toggle' }, toggle),
		    h('td', { class: 'nowrap' }, h('time', { datetime: e.at, title: fmtDateTimeFull(e.at) },
			fmtDateTime(e.at))),
		    h('td', null, who),
		    h('td', null, h('code', { class: 'tag' }, e.action)),
		    h('td', null, h('span', { class: 'audit__object' }, e.object_type || '—',
			e.object_id !== null && e.object_id !== undefined && e.object_id !== '' ?
			    h('span', { class: 'muted' }, ` #${e.object_id}`) : null)),
		    h('td', { class: 'nowrap mono' }, e.address || '—'));

		const before = pretty(e.before);
		const after = pretty(e.after);
		const pane = (label, text) => {
			const id = uid('audit-pane');
			return h('div', { class: 'diff__pane' },
			    h('p', { class: 'diff__label', id }, label),
			    text === null ? h('p', { class: 'diff__empty' }, t('audit.noData')) :
				h('pre', { class: 'diff__pre', tabIndex: 0, role: 'region', 'aria-labelledby': id },
				    text));
		};
		const detail = h('tr', { class: 'audit__detail', id: detailId, hidden: true },
		    h('td', { colSpan: 6 },
			h('div', { class: 'diff' }, pane(t('audit.before'), before), pane(t('audit.after'), after)),
			h('dl', { class: 'meta-list' },
			    h('div', null, h('dt', null, t('audit.requestId')),
				h('dd', { class: 'mono' }, e.request_id || '—')),
			    h('div', null, h('dt', null, t('audit.entryId')), h('dd', { class: 'mono' }, String(e.id))),
			    h('div', null, h('dt', null, t('audit.exactTime')), h('dd', null, fmtDateTimeFull(e.at))))));
		toggle.addEventListener('click', () => {
			const open = toggle.getAttribute('aria-expanded') !== 'true';
			toggle.setAttribute('aria-expanded', String(open));
			detail.hidden = !open;
			row.classList.toggle('is-open', open);
		});
		return [row, detail];
	}

	function drawSummary() {
		summary.textContent = shown ? t('audit.shown', { count: shown, n: fmtNumber(shown) }) : '';
		more.hidden = nextBefore === null || nextBefore === undefined;
		end.hidden = !more.hidden || shown === 0;
	}

	async function fetchPage(beforeId) {
		const res = await api.get(`/api/audit${query(beforeId)}`);
		const entries = res.entries || [];
		noteActors(entries);
		for (const e of entries)
			tbody.append(...entryRow(e));
		shown += entries.length;
		nextBefore = res.next_before_id ?? null;
		return entries;
	}

	async function reload() {
		filterError.textContent = '';
		if (from.value && to.value && from.value > to.value) {
			filterError.textContent = t('audit.errRange');
			to.setAttribute('aria-invalid', 'true');
			to.focus();
			return;
		}
		to.removeAttribute('aria-invalid');
		syncUrl();
		clear(tbody);
		shown = 0;
		nextBefore = null;
		clear(body).append(loading());
		try {
			await fetchPage(undefined);
		} catch (err) {
			if (err && err.redirecting)
				return;
			clear(body).append(errorBlock(err, reload));
			summary.textContent = '';
			return;
		}
		clear(body);
		if (!shown) {
			const filtered = actor.value || action.value.trim() || objectType.value.trim() ||
			    from.value || to.value;
			body.append(emptyState({ title: filtered ? t('audit.noMatch') : t('audit.empty'),
			    text: filtered ? t('audit.noMatchText') : null, iconName: 'audit' }));
		} else {
			body.append(h('div', { class: 'table-wrap', tabIndex: 0, role: 'region',
			    'aria-label': t('audit.caption') }, table), footer);
		}
		drawSummary();
	}

	more.addEventListener('click', async () => {
		if (nextBefore === null)
			return;
		more.classList.add('is-busy');
		more.setAttribute('aria-disabled', 'true');
		const firstNew = shown;
		try {
			const entries = await fetchPage(nextBefore);
			drawSummary();
			// Keep the keyboard user where the new entries begin.
			if (entries.length) {
				const rows = tbody.querySelectorAll('tr.audit__row');
				const target = rows[firstNew] && rows[firstNew].querySelector('button');
				if (more.hidden && target)
					target.focus();
			}
		} catch (err) {
			toastError(err);
		} finally {
			more.classList.remove('is-busy');
			more.removeAttribute('aria-disabled');
		}
	});
	filterForm.addEventListener('submit', (e) => {
		e.preventDefault();
		reload();
	});
	reset.addEventListener('click', () => {
		actor.value = '';
		action.value = '';
		objectType.value = '';
		from.value = '';
		to.value = '';
		reload();
	});

	await loadActors();
	await reload();
}
