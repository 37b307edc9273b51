// /supervisor: live view of queues, agents and running chats (S1); open any
// chat silently, whisper to the agent, barge in (S2); chat with agents (S3).
//
// The page watches the organisation's board on the hub: every change
// (routing, agent state, answers) nudges it, and it refetches the board,
// at most every half second. Times in state tick locally.

import { t, fmtWait, fmtDateTime } from '../lib/i18n.js';
import { api } from '../lib/api.js';
import { h, clear, button, icon, pageHeader, toast, openDialog, field, errorBlock } from '../lib/ui.js';
import { Hub, clientId } from '../lib/hub.js';
import { renderText, presenceDot, ensureCss, ticker } from '../lib/chatui.js';
import { replayButton } from '../lib/cobrowse.js';
import { SupervisorCall } from '../lib/call.js';

export async function render(root, ctx) {
	ensureCss('/static/admin/console.css');
	ctx.setTitle(t('sup.title'));
	const hub = new Hub();
	const S = { board: null, monitor: null, items: new Map(), fetched: 0 };
	const kpis = h('div', { class: 'kpis', id: 'sup-kpis' });
	const queuesHost = h('div', { class: 'card card--flush', id: 'sup-queues' });
	const agentsHost = h('div', { class: 'card card--flush', id: 'sup-agents' });
	const convsHost = h('div', { class: 'card card--flush', id: 'sup-conversations' });
	const side = h('aside', { class: 'monitor', id: 'monitor', 'aria-label': t('sup.monitor') });
	const conn = h('span', { class: 'console__conn', id: 'sup-conn' });
	// Calls (S2): listen, whisper, barge on the monitored chat's call.
	const supCall = new SupervisorCall(hub, { me: ctx.me.id, announce: (m) => toast(m, 'info'),
	    onChange: (conv) => { if (S.monitor?.id === conv) drawMonitor(); } });
	root.append(pageHeader({ title: t('sup.title'), description: t('sup.description'), actions: conn }),
	    h('div', { class: 'board' },
		h('div', { class: 'board__main' }, kpis,
		    h('section', { 'aria-labelledby': 'sup-q-h' }, h('h2', { class: 'card__title', id: 'sup-q-h' }, t('sup.queues')), queuesHost),
		    h('section', { 'aria-labelledby': 'sup-a-h' }, h('h2', { class: 'card__title', id: 'sup-a-h' }, t('sup.agents')), agentsHost),
		    h('section', { 'aria-labelledby': 'sup-c-h' }, h('h2', { class: 'card__title', id: 'sup-c-h' }, t('sup.conversations')), convsHost)),
		side));

	const ago = (at) => (at ? fmtWait(Math.max(0, (Date.now() - Date.parse(at)) / 1000)) : '—');

	function table(id, caption, cols, rows) {
		return h('div', { class: 'table-wrap', tabIndex: 0, role: 'region', 'aria-label': caption },
		    h('table', { class: 'table', id },
			h('caption', { class: 'sr-only' }, caption),
			h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
			h('tbody', null, rows)));
	}

	function draw() {
		const b = S.board;
		if (!b)
			return;
		const waiting = b.queues.reduce((n, q) => n + Number(q.waiting), 0);
		const longest = Math.max(0, ...b.queues.map((q) => Number(q.longest_wait_s) || 0));
		const count = (p) => b.agents.filter((a) => p(a.presence)).length;
		clear(kpis).append(...[
			[t('sup.kpi.waiting'), waiting, waiting > 0 && longest > 60],
			[t('sup.kpi.longest'), longest ? fmtWait(longest) : '—', longest > 120],
			[t('sup.kpi.active'), b.conversations.filter((c) => c.routing === 'assigned').length],
			[t('sup.kpi.available'), count((p) => p === 'available')],
			[t('sup.kpi.busy'), count((p) => p === 'busy' || p === 'ringing')],
			[t('sup.kpi.away'), count((p) => p === 'away')],
		].map(([label, v, alert]) => h('div', { class: ['kpi', alert ? 'kpi--alert' : ''] },
		    h('span', { class: 'kpi__value' }, String(v)), h('span', { class: 'kpi__label' }, label))));

		clear(queuesHost).append(b.queues.length ? table('sup-queues-table', t('sup.queues'),
		    [{ label: t('sup.col.queue') }, { label: t('sup.col.waiting'), num: true }, { label: t('sup.col.longest'), num: true },
			{ label: t('sup.col.active'), num: true }, { label: t('sup.col.ready'), num: true },
			{ label: t('sup.col.busy'), num: true }, { label: t('sup.col.notReady'), num: true }],
		    b.queues.map((q) => h('tr', { dataset: { queue: q.id } },
			h('th', { scope: 'row', class: 'table__primary' }, q.name),
			h('td', { class: 'num' }, String(q.waiting)),
			h('td', { class: 'num' }, q.longest_wait_s ? fmtWait(q.longest_wait_s + (Date.now() - S.fetched) / 1000) : '—'),
			h('td', { class: 'num' }, String(q.active)),
			h('td', { class: 'num' }, String(q.agents_ready)),
			h('td', { class: 'num' }, String(q.agents_busy)),
			h('td', { class: 'num' }, String(q.agents_not_ready))))) :
		    h('p', { class: 'card__body muted' }, t('sup.noQueues')));

		clear(agentsHost).append(b.agents.length ? table('sup-agents-table', t('sup.agents'),
		    [{ label: t('sup.col.agent') }, { label: t('sup.col.state') }, { label: t('sup.col.inState'), num: true },
			{ label: t('sup.col.chats'), num: true }, { label: t('table.actions') }],
		    b.agents.map((a) => h('tr', { dataset: { agent: a.id } },
			h('th', { scope: 'row', class: 'table__primary' }, a.name),
			h('td', null, h('span', { class: 'state-pill' }, presenceDot(a.presence),
			    t(`presence.${a.presence}`), a.reason ? h('span', { class: 'muted' }, ` · ${a.reason}`) : null)),
			h('td', { class: 'num' }, a.since && a.presence !== 'offline' ? ago(a.since) : '—'),
			h('td', { class: 'num' }, `${a.load}/${a.capacity}`),
			h('td', null, button(t('sup.message'), { size: 'sm', kind: 'ghost', srSuffix: a.name,
			    onClick: () => dmDialog(a) }))))) :
		    h('p', { class: 'card__body muted' }, t('sup.noAgents')));

		clear(convsHost).append(b.conversations.length ? table('sup-conv-table', t('sup.conversations'),
		    [{ label: t('sup.col.customer') }, { label: t('sup.col.queue') }, { label: t('sup.col.agent') },
			{ label: t('sup.col.duration'), num: true }, { label: t('table.actions') }],
		    b.conversations.map((c) => h('tr', { dataset: { conv: c.id }, class: S.monitor?.id === c.id ? 'is-selected' : null },
			h('th', { scope: 'row', class: 'table__primary' }, c.customer),
			h('td', null, c.queue || '—'),
			h('td', null, c.agent || h('span', { class: 'muted' }, t(`sup.routing.${c.routing}`))),
			h('td', { class: 'num' }, ago(c.started)),
			h('td', null, button(t('sup.open'), { size: 'sm', kind: 'secondary', srSuffix: c.customer,
			    attrs: { 'data-action': 'monitor' }, onClick: () => monitor(c) }))))) :
		    h('p', { class: 'card__body muted' }, t('sup.noConversations')));
	}

	let pending = null;
	async function fetchBoard() {
		try {
			S.board = await api.get('/api/supervisor/board');
			S.fetched = Date.now();
			draw();
		} catch (err) {
			if (!S.board)
				clear(queuesHost).append(errorBlock(err, fetchBoard));
		}
	}
	function nudge() {
		if (pending)
			return;
		pending = setTimeout(() => {
			pending = null;
			fetchBoard();
		}, 500);
	}

	// ------------------------------------------------------------ monitor / whisper / barge
	function drawMonitor() {
		clear(side);
		const m = S.monitor;
		if (!m) {
			side.append(h('div', { class: 'console__empty' }, icon('users', 'console__empty-icon'),
			    h('h2', null, t('sup.monitorEmpty')), h('p', { class: 'muted' }, t('sup.monitorHelp'))));
			return;
		}
		const log = h('div', { class: 'chatlog', role: 'log', id: 'monitor-log', tabIndex: 0,
		    'aria-label': t('console.transcriptOf', { name: m.customer }) });
		for (const f of [...S.items.values()].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || (a.seq ?? 0) - (b.seq ?? 0)))
			log.append(item(f));
		const text = h('textarea', { id: 'whisper-text', class: 'composer__text', rows: 2, maxLength: 4000 });
		const form = h('form', { class: ['composer', m.barged ? '' : 'composer--note'], id: 'whisper-form' },
		    h('label', { for: 'whisper-text', class: 'composer__toggle' }, m.barged ? t('sup.writeCustomer') : t('sup.whisperLabel')),
		    text,
		    h('div', { class: 'composer__row' },
			m.barged ? null : button(t('sup.barge'), { size: 'sm', kind: 'danger', id: 'barge', onClick: () => {
				hub.send({ type: 'barge', conversation_id: m.id });
			} }),
			h('span', { class: 'topbar__spacer' }),
			button(m.barged ? t('console.send') : t('sup.whisper'), { kind: 'primary', size: 'sm', type: 'submit', id: 'whisper-send' })));
		form.addEventListener('submit', (e) => {
			e.preventDefault();
			const v = text.value.trim();
			if (!v)
				return;
			hub.send({ type: m.barged ? 'send' : 'whisper', conversation_id: m.id, client_id: clientId('w'), text: v });
			text.value = '';
		});
		text.addEventListener('keydown', (e) => {
			if (e.key === 'Enter' && !e.shiftKey) {
				e.preventDefault();
				form.requestSubmit();
			}
		});
		side.append(h('div', { class: 'chathead' },
		    h('div', { class: 'chathead__text' }, h('h2', { class: 'chathead__name', id: 'monitor-title' }, m.customer),
			h('p', { class: 'chathead__meta muted' }, [m.agent, m.queue].filter(Boolean).join(' · '))),
		    button(t('action.close'), { size: 'sm', kind: 'ghost', id: 'monitor-close', onClick: stopMonitor })),
		h('p', { class: 'monitor__banner', role: 'note' }, m.barged ? t('sup.bargedBanner') : t('sup.silentBanner')),
		supCall.controls(m.id) ?? '', log, form);
		log.scrollTop = log.scrollHeight;
	}

	function item(f) {
		if (f.type === 'note')
			return h('div', { class: ['msg', f.kind === 'whisper' ? 'msg--whisper' : 'msg--note'] },
			    h('div', { class: 'msg__label' }, f.kind === 'whisper' ? t('console.whisperFrom', { name: f.sender.name }) :
				t('console.noteBy', { name: f.sender.name })),
			    h('div', { class: 'msg__body' }, renderText(f.text)),
			    h('time', { class: 'msg__time', datetime: f.at }, fmtDateTime(f.at)));
		const kind = f.sender?.kind;
		if (kind === 'system')
			return h('div', { class: 'msg msg--system' }, h('span', null, f.text), replayButton(f));
		return h('div', { class: ['msg', kind === 'customer' ? 'msg--customer' : 'msg--staff'] },
		    h('div', { class: 'msg__label' }, kind === 'customer' ? S.monitor.customer : f.sender.name),
		    h('div', { class: 'msg__body' }, renderText(f.text)),
		    f.meta?.file ? h('a', { class: 'msg__file', href: `/api/files/${encodeURIComponent(f.meta.file.id)}`,
			download: f.meta.file.name || '' }, icon('audit'), h('span', null, f.meta.file.name || '')) : null,
		    h('time', { class: 'msg__time', datetime: f.at }, fmtDateTime(f.at)));
	}

	function monitor(c) {
		if (S.monitor)
			hub.unsubscribe(S.monitor.id);
		S.monitor = { ...c, barged: false };
		S.items = new Map();
		hub.subscribe(c.id);
		drawMonitor();
		draw();
		side.querySelector('#monitor-title')?.focus?.();
	}
	function stopMonitor() {
		if (S.monitor && supCall.modes.has(S.monitor.id))
			supCall.set(S.monitor.id, 'leave');
		if (S.monitor)
			hub.unsubscribe(S.monitor.id);
		S.monitor = null;
		drawMonitor();
		draw();
	}
	function onItem(key, f) {
		if (!S.monitor || f.conversation_id !== S.monitor.id || S.items.has(key))
			return;
		S.items.set(key, f);
		const log = side.querySelector('#monitor-log');
		if (log) {
			log.append(item(f));
			log.scrollTop = log.scrollHeight;
		}
	}
	hub.on('message', (f) => onItem(`m${f.seq}`, f));
	hub.on('note', (f) => onItem(`n${f.id}`, f));
	hub.on('barged', (f) => {
		if (S.monitor && S.monitor.id === f.conversation_id) {
			S.monitor.barged = true;
			drawMonitor();
			toast(t('sup.bargedToast'));
		}
	});
	hub.on('board', nudge);
	hub.on('error', (f) => toast(f.message || t('state.error'), 'error'));
	hub.on('connection', ({ up }) => {
		conn.textContent = up ? t('console.online') : t('console.reconnecting');
		conn.classList.toggle('is-down', !up);
		if (up)
			nudge();
	});
	hub.on('dm', (d) => {
		if (d.from.id !== ctx.me.id)
			toast(t('console.dmFrom', { name: d.from.name }), 'info');
	});

	function dmDialog(a) {
		const msg = field({ id: 'sup-dm-text', kind: 'textarea', label: t('console.dmMessage', { name: a.name }), required: true,
		    attrs: { maxLength: 4000, rows: 3 } });
		openDialog({ title: t('sup.messageTitle', { name: a.name }), content: msg.el, submitLabel: t('console.send'), submitId: 'sup-dm-send',
		    onSubmit: () => {
			    const v = msg.input.value.trim();
			    if (!v) {
				    msg.setError(t('sup.messageRequired'));
				    return false;
			    }
			    hub.send({ type: 'dm', to: a.id, client_id: clientId('d'), text: v });
			    toast(t('sup.messageSent', { name: a.name }));
			    return true;
		    } });
	}

	hub.watch();
	hub.connect();
	drawMonitor();
	await fetchBoard();
	ticker(1000, draw);
	ticker(15000, fetchBoard);
}
