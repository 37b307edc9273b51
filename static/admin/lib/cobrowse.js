// Co-browsing in the agent console (issue 5, W10/W20).
//
// new Cobrowse(hub, { announce }) follows the hub's co-browse frames for the
// agent's chats; .action(c) is the chat header's "Co-browse" button. While a
// session runs, a panel shows the customer's page live and read-only in
// /console/cobrowse-view (lib/cbview.js, rrweb's Replayer) with tools:
// pointer (the customer sees the agent's pointer and clicks highlighted),
// draw (strokes that fade on the customer's page), send a link or a file of
// the chat, remote control (asked for; the customer grants it explicitly;
// then clicks and fills in fields that are not hidden) and stop.
// Page data arrives as cobrowse_data parts, put together here by batch id.
// On a wide screen the panel takes the place of the lists and the customer
// details next to the chat (console.css), so the agent can write while
// guiding; "Hide page" gives them back without ending the session.

import { t } from './i18n.js';
import { api } from './api.js';
import { h, clear, button, openDialog, field, toast } from './ui.js';

export class Cobrowse {
	constructor(hub, { announce, customerName, onToggle }) {
		this.hub = hub;
		this.onToggle = onToggle || (() => {});
		this.announce = announce;
		this.customerName = customerName;
		this.sessions = new Map();	// conv → {status, control, agent}
		this.conv = 0;			// the one shown
		this.parts = new Map();		// batch id → {parts: [], got}
		this.view = null;
		this.viewReady = false;
		this.queue = [];
		this.mode = 'pointer';
		this.el = h('section', { class: 'cobrowse', id: 'cobrowse', hidden: true, 'aria-labelledby': 'cobrowse-title' });
		hub.on('cobrowse', (f) => this.onState(f));
		hub.on('cobrowse_data', (f) => this.onData(f));
		window.addEventListener('message', (e) => this.fromView(e));
	}

	// The chat header's button: ask the customer (or show the running session).
	action(c) {
		const s = this.sessions.get(c.id);
		return button(s?.status === 'active' ? t('cobrowse.show') : t('cobrowse.start'), {
			size: 'sm', id: 'chat-cobrowse', attrs: { 'aria-pressed': String(this.conv === c.id && !this.el.hidden) },
			onClick: () => {
				if (s?.status === 'active')
					return this.open(c.id);
				this.hub.send({ type: 'cobrowse', op: 'request', conversation_id: c.id });
			} });
	}

	onState(f) {
		const conv = f.conversation_id;
		if (f.op === 'too_large') {
			toast(t('cobrowse.tooLarge', { size: Math.round(f.limit / 1048576 * 10) / 10 }), 'error');
			this.status(t('cobrowse.tooLarge', { size: Math.round(f.limit / 1048576 * 10) / 10 }));
			return;
		}
		const s = { status: f.status, control: f.control, agent: f.agent, controlUser: f.control_user };
		this.sessions.set(conv, s);
		if (f.op === 'request')
			this.announce(t('cobrowse.asked'));
		else if (f.op === 'started' || f.op === 'resumed')
			this.open(conv);
		else if (f.op === 'declined')
			toast(t('cobrowse.declined'), 'info');
		else if (f.op === 'ended')
			this.ended(conv);
		if (conv === this.conv)
			this.drawTools();
	}

	onData(f) {
		if (!this.sessions.has(f.conversation_id))
			this.sessions.set(f.conversation_id, { status: 'active', control: 'none' });
		if (this.conv !== f.conversation_id && this.el.hidden)
			this.open(f.conversation_id);
		if (f.conversation_id !== this.conv)
			return;
		let b = this.parts.get(f.id);
		if (!b)
			this.parts.set(f.id, b = { parts: new Array(f.parts), got: 0 });
		if (b.parts[f.part] === undefined) {
			b.parts[f.part] = f.data;
			b.got++;
		}
		if (b.got < f.parts)
			return;
		this.parts.delete(f.id);
		let events;
		try {
			events = JSON.parse(b.parts.join(''));
		} catch {
			return;
		}
		this.toView({ type: 'events', conversation_id: this.conv, events });
	}

	toView(m) {
		if (this.viewReady)
			this.view.contentWindow.postMessage(m, location.origin);
		else
			this.queue.push(m);
	}

	fromView(e) {
		if (!this.view || e.source !== this.view.contentWindow || e.origin !== location.origin)
			return;
		const m = e.data, conv = this.conv;
		if (m?.type === 'ready') {
			this.viewReady = true;
			for (const q of this.queue.splice(0))
				this.view.contentWindow.postMessage(q, location.origin);
			this.toView({ type: 'mode', mode: this.mode });
		} else if (m?.type === 'pointer' || m?.type === 'click') {
			this.hub.send({ type: 'cobrowse_live', conversation_id: conv, kind: m.type, x: m.x, y: m.y });
		} else if (m?.type === 'draw') {
			this.hub.send({ type: 'cobrowse_live', conversation_id: conv, kind: 'draw', points: m.points });
		} else if (m?.type === 'pick') {
			if (!m.input)
				return this.hub.send({ type: 'cobrowse_control', conversation_id: conv, action: 'click', node: m.node });
			const v = field({ id: 'cobrowse-fill', label: t('cobrowse.fillLabel', { field: m.label }), attrs: { maxLength: 1000 } });
			openDialog({ title: t('cobrowse.fillTitle'), content: v.el, submitLabel: t('cobrowse.fill'), submitId: 'cobrowse-fill-submit',
			    onSubmit: () => {
				this.hub.send({ type: 'cobrowse_control', conversation_id: conv, action: 'fill', node: m.node, value: v.input.value });
			    } });
		}
	}

	open(conv) {
		if (this.conv !== conv || !this.view) {
			this.conv = conv;
			this.parts.clear();
			this.queue = [];
			this.viewReady = false;
			this.mode = 'pointer';
			clear(this.el);
			this.tools = h('div', { class: 'cobrowse__tools', role: 'toolbar', 'aria-label': t('cobrowse.tools') });
			this.ends = h('div', { class: 'cobrowse__ends' });
			this.statusEl = h('p', { class: 'cobrowse__status muted', role: 'status', id: 'cobrowse-status' });
			this.view = h('iframe', { class: 'cobrowse__view', id: 'cobrowse-view', title: t('cobrowse.viewTitle'),
			    src: '/console/cobrowse-view' });
			this.el.append(h('header', { class: 'cobrowse__head' },
			    h('h2', { class: 'cobrowse__title', id: 'cobrowse-title' }, t('cobrowse.title', { name: this.customerName(conv) || '' })),
			    this.ends, this.tools), this.statusEl, this.view);
		}
		this.show(true);
		this.drawTools();
	}

	show(on) {
		if (this.el.hidden !== on)
			return;
		this.el.hidden = !on;
		this.onToggle(this.conv, on);
	}

	status(text) {
		if (this.statusEl)
			this.statusEl.textContent = text;
	}

	setMode(mode) {
		this.mode = mode;
		this.toView({ type: 'mode', mode });
		this.drawTools();
	}

	drawTools() {
		if (!this.tools)
			return;
		const conv = this.conv, s = this.sessions.get(conv) || {};
		const tool = (id, mode, label) => button(label, { size: 'sm', id, attrs: { 'aria-pressed': String(this.mode === mode) },
		    onClick: () => this.setMode(mode) });
		clear(this.tools);
		clear(this.ends);
		this.tools.append(tool('cobrowse-pointer', 'pointer', t('cobrowse.pointer')),
		    tool('cobrowse-draw', 'draw', t('cobrowse.draw')),
		    button(t('cobrowse.clear'), { size: 'sm', id: 'cobrowse-clear',
			onClick: () => this.hub.send({ type: 'cobrowse_live', conversation_id: conv, kind: 'clear' }) }),
		    button(t('cobrowse.push'), { size: 'sm', id: 'cobrowse-push', onClick: () => this.pushDialog(conv) }));
		if (s.control === 'granted')
			this.tools.append(tool('cobrowse-control', 'control', t('cobrowse.control')));
		else if (s.status === 'active')
			this.tools.append(button(s.control === 'requested' ? t('cobrowse.controlAsked') : t('cobrowse.askControl'), {
			    size: 'sm', id: 'cobrowse-ask-control', attrs: { disabled: s.control === 'requested' || undefined },
			    onClick: () => this.hub.send({ type: 'cobrowse', op: 'control_request', conversation_id: conv }) }));
		if (s.status === 'active')
			this.ends.append(button(t('cobrowse.hide'), { size: 'sm', id: 'cobrowse-hide', onClick: () => this.show(false) }));
		this.ends.append(button(s.status === 'active' ? t('cobrowse.stop') : t('cobrowse.close'), { size: 'sm', kind: 'danger', id: 'cobrowse-stop',
		    onClick: () => {
			if (s.status === 'active')
				this.hub.send({ type: 'cobrowse', op: 'stop', conversation_id: conv });
			else
				this.show(false);
		    } }));
		if (this.mode === 'control' && s.control !== 'granted')
			this.setMode('pointer');
		this.status(s.status === 'active' ? (s.control === 'granted' ? t('cobrowse.controlOn') : t('cobrowse.live')) :
		    s.status === 'ended' ? t('cobrowse.ended') : '');
	}

	ended(conv) {
		if (conv !== this.conv)
			return;
		this.toView({ type: 'end', text: t('cobrowse.ended') });
		this.status(t('cobrowse.ended'));
		this.announce(t('cobrowse.ended'));
		this.drawTools();
	}

	async pushDialog(conv) {
		const url = field({ id: 'cobrowse-url', label: t('cobrowse.url'), type: 'url', attrs: { maxLength: 2000, placeholder: 'https://' } });
		const name = field({ id: 'cobrowse-name', label: t('cobrowse.linkName'), attrs: { maxLength: 200 } });
		let files = [];
		try {
			const r = await api.get(`/api/conversations/${conv}/files`);
			files = r.items || r.files || [];
		} catch { /* no files: links only */ }
		const pick = files.length ? field({ id: 'cobrowse-file', kind: 'select', label: t('cobrowse.file'),
		    options: [{ value: '', label: t('cobrowse.noFile') }, ...files.map((x) => ({ value: String(x.id), label: x.name }))] }) : null;
		openDialog({ title: t('cobrowse.pushTitle'), description: t('cobrowse.pushHelp'),
		    content: h('div', { class: 'form-stack' }, pick?.el, url.el, name.el),
		    submitLabel: t('cobrowse.send'), submitId: 'cobrowse-push-submit',
		    onSubmit: (dlg) => {
			const fid = Number(pick?.input.value || 0);
			const f = files.find((x) => x.id === fid);
			if (f)
				return void this.hub.send({ type: 'cobrowse_live', conversation_id: conv, kind: 'push', file_id: fid, name: f.name });
			if (!/^https?:\/\/\S{3,}$/.test(url.input.value)) {
				dlg.setError(t('cobrowse.badUrl'));
				return false;
			}
			this.hub.send({ type: 'cobrowse_live', conversation_id: conv, kind: 'push', url: url.input.value,
			    name: name.input.value || url.input.value.slice(0, 200) });
		    } });
	}
}

// Stored sessions (0025): the transcript's "started" line of a session the
// site stores gets a Replay button (there is always one, while a chat that
// closes ends its session without a line); the dialog plays the stored page in
// /console/cobrowse-view (rrweb's Replayer, not live). The server answers
// 403 to those who may not replay (recordings.read or staff of the chat).
export function replayButton(f) {
	const cb = f.meta?.cobrowse;
	if (!cb?.stored || cb.event !== 'started' || !cb.session_id)
		return null;
	return button(t('cobrowse.replay'), { size: 'sm', kind: 'secondary', iconName: 'play',
	    attrs: { 'data-action': 'cobrowse-replay', 'data-session': String(cb.session_id) },
	    onClick: () => openReplay(cb.session_id, f.conversation_id) });
}

// The stored lines "<batch> <part> <parts>\t<data>" into rrweb events, batch by batch.
export function storedEvents(text) {
	const batches = new Map(), events = [];
	for (const line of text.split('\n')) {
		const tab = line.indexOf('\t');
		const m = /^(\d+) (\d+) (\d+)$/.exec(line.slice(0, tab));
		if (tab < 0 || !m)
			continue;
		const [id, part, parts] = [Number(m[1]), Number(m[2]), Number(m[3])];
		let b = batches.get(id);
		if (!b || b.parts.length !== parts)
			batches.set(id, b = { parts: new Array(parts), got: 0 });
		if (b.parts[part] === undefined)
			b.got++;
		b.parts[part] = line.slice(tab + 1);
		if (b.got < parts)
			continue;
		batches.delete(id);
		try {
			const batch = JSON.parse(b.parts.join(''));
			if (Array.isArray(batch))
				events.push(...batch.filter((e) => e && typeof e.type === 'number' && typeof e.timestamp === 'number'));
		} catch { /* an incomplete batch: skipped */ }
	}
	return events.sort((a, b) => a.timestamp - b.timestamp);
}

export async function openReplay(sessionId, conversationId) {
	const status = h('p', { class: 'cobrowse__status muted', role: 'status', id: 'cobrowse-replay-status' }, t('cobrowse.replayLoading'));
	const view = h('iframe', { class: 'cobrowse__view cobrowse__view--replay', id: 'cobrowse-replay-view',
	    title: t('cobrowse.replayView'), src: '/console/cobrowse-view' });
	let ready = false, events = null;
	const send = () => {
		if (ready && events)
			view.contentWindow.postMessage({ type: 'replay', events, conversation_id: conversationId }, location.origin);
	};
	const onMessage = (e) => {
		if (e.source === view.contentWindow && e.origin === location.origin && e.data?.type === 'ready') {
			ready = true;
			send();
		}
	};
	window.addEventListener('message', onMessage);
	const again = button(t('cobrowse.replayAgain'), { size: 'sm', kind: 'secondary', id: 'cobrowse-replay-again',
	    attrs: { disabled: true }, onClick: () => send() });
	openDialog({ title: t('cobrowse.replayTitle'), description: t('cobrowse.replayHelp'), size: 'xl',
	    content: h('div', { class: 'cobrowse-replay' }, status, view), footerExtra: again,
	    onClose: () => window.removeEventListener('message', onMessage) });
	try {
		const r = await fetch(`/api/cobrowse/sessions/${encodeURIComponent(sessionId)}/recording`,
		    { credentials: 'same-origin', headers: { accept: 'text/plain' } });
		if (!r.ok) {
			const err = await r.json().catch(() => null);
			status.textContent = r.status === 403 ? t('cobrowse.replayForbidden') :
			    r.status === 404 ? t('cobrowse.replayGone') : (err?.error?.message || t('cobrowse.replayFailed'));
			return;
		}
		events = storedEvents(await r.text());
		if (!events.some((e) => e.type === 2)) {
			status.textContent = t('cobrowse.replayEmpty');
			return;
		}
		const secs = Math.max(1, Math.round((events.at(-1).timestamp - events[0].timestamp) / 1000));
		status.textContent = t('cobrowse.replayPlaying', { d: `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}` });
		again.removeAttribute('disabled');
		send();
	} catch {
		status.textContent = t('cobrowse.replayFailed');
	}
}
