// /console/recordings: the call recordings archive for supervisors (S5).
// Search by customer (name or e-mail), agent, queue and dates; results with
// "Load more" (cursor paging); a player (audio or video element streaming
// /api/recordings/:id/media with byte ranges) and a download link. Every
// play and download is audited by the server. Hooks: #recordings-table,
// tr[data-recording-id], #recording-player, #recording-download.

import { t, fmtDateTime, fmtDateTimeFull, fmtNumber } from '../lib/i18n.js';
import { api, qs, idPath } from '../lib/api.js';
import {
	h, clear, button, pageHeader, emptyState, loading, errorBlock, toastError, sortBy,
} from '../lib/ui.js';

const PAGE_SIZE = 25;

// Local calendar day → ISO instant at its start (from) or the next day's start (to).
function dayStart(value, plusDays = 0) {
	const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
	if (!m)
		return '';
	return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays).toISOString();
}

export function fmtDuration(ms) {
	const s = Math.max(0, Math.floor((ms || 0) / 1000));
	const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
	const two = (n) => String(n).padStart(2, '0');
	return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

export function fmtBytes(n) {
	if (n < 1024)
		return t('file.size.b', { n: fmtNumber(n) });
	if (n < 1024 * 1024)
		return t('file.size.kb', { n: fmtNumber(Math.round(n / 1024)) });
	return t('file.size.mb', { n: fmtNumber(Math.round(n / 1024 / 1024 * 10) / 10) });
}

function agentsOf(r) {
	return (r.agents || []).map((a) => a.name).join(', ');
}

export async function render(root, ctx) {
	ctx.setTitle(t('recordings.title'));
	root.append(pageHeader({ title: t('recordings.title'), description: t('recordings.description') }));

	const params = new URLSearchParams(location.search);
	const customer = h('input', { id: 'rec-customer', class: 'input', type: 'search', name: 'customer',
	    value: params.get('customer') || '', autocomplete: 'off', maxlength: 100,
	    placeholder: t('recordings.customerPlaceholder') });
	const agent = h('select', { id: 'rec-agent', class: 'select', name: 'agent_id' },
	    h('option', { value: '' }, t('recordings.anyAgent')));
	const queue = h('select', { id: 'rec-queue', class: 'select', name: 'queue_id' },
	    h('option', { value: '' }, t('recordings.anyQueue')));
	const from = h('input', { id: 'rec-from', class: 'input', type: 'date', name: 'from',
	    value: params.get('from') || '' });
	const to = h('input', { id: 'rec-to', class: 'input', type: 'date', name: 'to',
	    value: params.get('to') || '', 'aria-describedby': 'rec-filter-error' });
	const filterError = h('p', { class: 'field__error', id: 'rec-filter-error', role: 'alert' });
	const apply = button(t('recordings.search'), { kind: 'primary', type: 'submit', iconName: 'search',
	    id: 'rec-search' });
	const reset = button(t('recordings.reset'), { kind: 'ghost', id: 'rec-reset' });
	const lbl = (id, key) => h('label', { for: id, class: 'field__label' }, t(key));
	const form = h('form', { class: 'filters card', role: 'search', 'aria-label': t('recordings.filters'),
	    novalidate: true },
	h('div', { class: 'filters__grid' },
	    h('div', { class: 'field' }, lbl('rec-customer', 'recordings.customer'), customer),
	    h('div', { class: 'field' }, lbl('rec-agent', 'recordings.agent'), agent),
	    h('div', { class: 'field' }, lbl('rec-queue', 'recordings.queue'), queue),
	    h('div', { class: 'field' }, lbl('rec-from', 'recordings.from'), from),
	    h('div', { class: 'field' }, lbl('rec-to', 'recordings.to'), to, filterError),
	    h('div', { class: 'filters__actions' }, reset, apply)));
	root.append(form);

	// The player: one recording at a time, above the results.
	const player = h('section', { class: 'card recording-player', id: 'recording-player',
	    'aria-labelledby': 'recording-player-title', hidden: true });
	root.append(player);

	const summary = h('p', { class: 'toolbar__count', 'aria-live': 'polite', id: 'rec-summary' });
	const tbody = h('tbody');
	const table = h('table', { class: 'table', id: 'recordings-table' },
	    h('caption', { class: 'sr-only' }, t('recordings.caption')),
	    h('thead', null, h('tr', null,
		h('th', { scope: 'col' }, t('recordings.colDate')),
		h('th', { scope: 'col' }, t('recordings.colCustomer')),
		h('th', { scope: 'col' }, t('recordings.colAgent')),
		h('th', { scope: 'col' }, t('recordings.colQueue')),
		h('th', { scope: 'col', class: 'num' }, t('recordings.colDuration')),
		h('th', { scope: 'col' }, t('recordings.colKind')),
		h('th', { scope: 'col', class: 'num' }, t('recordings.colSize')),
		h('th', { scope: 'col', class: 'table__actions' },
		    h('span', { class: 'sr-only' }, t('table.actions'))))),
	    tbody);
	const body = h('div', { class: 'card card--flush' });
	const more = button(t('recordings.more'), { kind: 'secondary', id: 'rec-more' });
	const footer = h('div', { class: 'audit__footer' }, more);
	root.append(h('div', { class: 'toolbar toolbar--plain' }, summary), body);

	let cursor = null;
	let shown = 0;

	async function loadFilters() {
		try {
			const f = await api.get('/api/recordings/filters');
			for (const a of sortBy(f.agents || [], (x) => x.name))
				agent.append(h('option', { value: String(a.id) }, a.name));
			for (const q of sortBy(f.queues || [], (x) => x.name))
				queue.append(h('option', { value: String(q.id) }, q.name));
		} catch (err) {
			if (err && err.redirecting)
				return;
		}
		agent.value = params.get('agent_id') || '';
		queue.value = params.get('queue_id') || '';
	}

	function query(next) {
		return qs({ customer: customer.value.trim(), agent_id: agent.value, queue_id: queue.value,
		    from: dayStart(from.value), to: dayStart(to.value, 1), cursor: next, limit: PAGE_SIZE });
	}

	function syncUrl() {
		const u = new URL(location.href);
		u.search = qs({ customer: customer.value.trim(), agent_id: agent.value, queue_id: queue.value,
		    from: from.value, to: to.value });
		history.replaceState(null, '', u);
	}

	function play(r, opener) {
		const isVideo = r.mime_type.startsWith('video/');
		// Raw VP8 in IVF (a relay option) has no browser player: download only.
		const playable = r.mime_type !== 'video/x-ivf';
		const media = !playable ? h('p', { class: 'muted', id: 'recording-media' }, t('recordings.notPlayable')) :
		    h(isVideo ? 'video' : 'audio', { controls: true, preload: 'metadata',
		    id: 'recording-media', class: isVideo ? 'recording-player__video' : 'recording-player__audio',
		    src: idPath('/api/recordings', r.id, '/media'),
		    'aria-label': t('recordings.playerLabel', { customer: r.customer.name,
			date: fmtDateTime(r.started_at) }) });
		const close = button(t('recordings.closePlayer'), { kind: 'ghost', size: 'sm',
		    id: 'recording-close', onClick: () => {
			    if (playable)
				    media.pause();
			    player.hidden = true;
			    clear(player);
			    if (opener && opener.isConnected)
				    opener.focus();
		    } });
		clear(player).append(
		    h('div', { class: 'recording-player__head' },
			h('h2', { class: 'card__title', id: 'recording-player-title' },
			    t('recordings.playerTitle', { customer: r.customer.name })),
			close),
		    h('dl', { class: 'meta-list' },
			h('div', null, h('dt', null, t('recordings.colDate')),
			    h('dd', null, fmtDateTimeFull(r.started_at))),
			h('div', null, h('dt', null, t('recordings.colAgent')), h('dd', null, agentsOf(r) || '—')),
			h('div', null, h('dt', null, t('recordings.participant')),
			    h('dd', null, r.participant ? r.participant.name : t('recordings.kind.mix'))),
			h('div', null, h('dt', null, t('recordings.colDuration')),
			    h('dd', null, fmtDuration(r.duration_ms)))),
		    media,
		    h('p', null, h('a', { class: 'btn btn--secondary btn--sm', id: 'recording-download',
			href: idPath('/api/recordings', r.id, '/download'), download: '' },
		    t('recordings.download'))),
		    h('p', { class: 'muted' }, t('recordings.audited')));
		player.hidden = false;
		player.scrollIntoView({ block: 'nearest' });
		(playable ? media : close).focus();
	}

	function row(r) {
		const playBtn = button(t('recordings.play'), { size: 'sm', kind: 'ghost', iconName: 'play',
		    srSuffix: t('recordings.rowLabel', { customer: r.customer.name, date: fmtDateTime(r.started_at) }),
		    attrs: { 'data-action': 'play' } });
		playBtn.addEventListener('click', () => play(r, playBtn));
		return h('tr', { dataset: { recordingId: r.id } },
		    h('td', { class: 'nowrap' }, h('time', { datetime: r.started_at, title: fmtDateTimeFull(r.started_at) },
			fmtDateTime(r.started_at))),
		    h('td', null, h('div', { class: 'person person--compact' }, h('div', { class: 'person__text' },
			h('span', { class: 'person__name' }, r.customer.name),
			r.customer.email ? h('span', { class: 'person__sub' }, r.customer.email) : null))),
		    h('td', null, agentsOf(r) || h('span', { class: 'muted' }, '—')),
		    h('td', null, r.queue ? r.queue.name : h('span', { class: 'muted' }, '—')),
		    h('td', { class: 'num nowrap' }, fmtDuration(r.duration_ms)),
		    h('td', null, t(`recordings.kind.${r.kind}`) +
			(r.participant ? ` · ${r.participant.name}` : '')),
		    h('td', { class: 'num nowrap' }, fmtBytes(r.bytes)),
		    h('td', { class: 'table__actions' }, h('div', { class: 'row-actions' }, playBtn)));
	}

	function drawSummary() {
		summary.textContent = shown ? t('recordings.shown', { count: shown, n: fmtNumber(shown) }) : '';
		more.hidden = !cursor;
		footer.hidden = !cursor;
	}

	async function fetchPage(next) {
		const res = await api.get(`/api/recordings${query(next)}`);
		const list = res.recordings || [];
		for (const r of list)
			tbody.append(row(r));
		shown += list.length;
		cursor = res.next || null;
		return list;
	}

	async function reload() {
		filterError.textContent = '';
		if (from.value && to.value && from.value > to.value) {
			filterError.textContent = t('recordings.errRange');
			to.setAttribute('aria-invalid', 'true');
			to.focus();
			return;
		}
		to.removeAttribute('aria-invalid');
		syncUrl();
		clear(tbody);
		shown = 0;
		cursor = null;
		clear(body).append(loading());
		try {
			await fetchPage(null);
		} catch (err) {
			if (err && err.redirecting)
				return;
			clear(body).append(errorBlock(err, reload));
			summary.textContent = '';
			return;
		}
		clear(body);
		if (!shown) {
			const filtered = customer.value.trim() || agent.value || queue.value || from.value || to.value;
			body.append(emptyState({ title: filtered ? t('recordings.noMatch') : t('recordings.empty'),
			    text: filtered ? t('recordings.noMatchText') : t('recordings.emptyText'), iconName: 'mic' }));
		} else {
			body.append(h('div', { class: 'table-wrap', tabIndex: 0, role: 'region',
			    'aria-label': t('recordings.caption') }, table), footer);
		}
		drawSummary();
	}

	more.addEventListener('click', async () => {
		if (!cursor)
			return;
		more.setAttribute('aria-disabled', 'true');
		const firstNew = shown;
		try {
			await fetchPage(cursor);
			drawSummary();
			const target = tbody.querySelectorAll('tr')[firstNew]?.querySelector('button');
			if (more.hidden && target)
				target.focus();
		} catch (err) {
			toastError(err);
		} finally {
			more.removeAttribute('aria-disabled');
		}
	});
	form.addEventListener('submit', (e) => {
		e.preventDefault();
		reload();
	});
	reset.addEventListener('click', () => {
		customer.value = '';
		agent.value = '';
		queue.value = '';
		from.value = '';
		to.value = '';
		reload();
	});

	await loadFilters();
	await reload();
}
