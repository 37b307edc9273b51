// The customer's side of the chat protocol (docs/websocket.md), without DOM.
//
// What it guarantees to the panel:
// - every stored message is reported once, in the order it arrives, with its
//   seq; replay after a reconnect and live delivery may overlap, duplicates
//   are dropped here by seq;
// - a message typed by the customer stays in the outbox (sessionStorage)
//   until the server has acknowledged it, and is resent with the same
//   client_id after any reconnect, so the server stores it exactly once;
// - the connection comes back by itself: exponential backoff up to 10 s,
//   at once when the browser says it is online again.
//
// Kept in sessionStorage per conversation: vb.seq.<id> (highest seq seen),
// vb.log.<id> (the transcript, so a page change shows it at once) and
// vb.outbox.<id> (unacknowledged messages).

import { load, save } from './store.js';

const BACKOFF_MAX = 10000;
const PING_EVERY = 25000;
const PONG_WAIT = 10000;
const TYPING_EVERY = 3000;
const LOG_KEEP = 300;
const GAP_WAIT = 1500;

function newClientId() {
	if (crypto.randomUUID)
		return crypto.randomUUID();
	const b = crypto.getRandomValues(new Uint8Array(16));
	return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export class Chat {
	// url: ws(s)://…/ws?token=…; onEvent(type, detail) receives
	// status {state}, message {msg, live}, queued {entry}, failed {entry, code},
	// notice {code, message}, typing {sender}, subscribed {}, ended {code},
	// reauth {}.
	constructor({ url, conversationId, onEvent }) {
		this.url = url;
		this.conv = conversationId;
		this.emit = onEvent;
		this.keys = { seq: `vb.seq.${this.conv}`, log: `vb.log.${this.conv}`,
		    outbox: `vb.outbox.${this.conv}` };
		this.log = load(this.keys.log, []).filter((m) => m && Number.isInteger(m.seq));
		this.log.sort((a, b) => a.seq - b.seq);
		this.seen = new Set(this.log.map((m) => m.seq));
		const logMax = this.log.length ? this.log.at(-1).seq : 0;
		this.lastSeq = Math.min(Number(load(this.keys.seq, 0)) || 0, logMax);
		this.baseSeq = this.lastSeq;
		this.outbox = load(this.keys.outbox, []).filter((e) => e && e.client_id && e.text);
		this.ws = null;
		this.state = 'idle';
		this.subscribed = false;
		this.attempt = 0;
		this.failsBeforeOpen = 0;
		this.reauthAsked = false;
		this.inflight = new Set();
		this.timers = {};
		this.lastTyping = 0;
		this.stopped = false;
		this.onOnline = () => this.connectSoon(0);
		// The socket is as good as dead; do not wait for the ping to say so.
		this.onOffline = () => {
			this.setState('offline');
			this.ws?.close(4000);
		};
		this.onVisible = () => {
			if (document.visibilityState === 'visible' && !this.ws)
				this.connectSoon(0);
		};
	}

	history() {
		return this.log.slice();
	}

	pending() {
		return this.outbox.slice();
	}

	start() {
		window.addEventListener('online', this.onOnline);
		window.addEventListener('offline', this.onOffline);
		document.addEventListener('visibilitychange', this.onVisible);
		this.connect();
	}

	stop() {
		this.stopped = true;
		window.removeEventListener('online', this.onOnline);
		window.removeEventListener('offline', this.onOffline);
		document.removeEventListener('visibilitychange', this.onVisible);
		for (const k of Object.keys(this.timers))
			this.clearTimer(k);
		const ws = this.ws;
		this.ws = null;
		ws?.close(1000);
	}

	// ------------------------------------------------------------ sending

	// subjectId: the subject chosen before the first message (W4), if any.
	send(text, subjectId) {
		const entry = { client_id: newClientId(), text, at: new Date().toISOString() };
		if (Number.isSafeInteger(subjectId) && subjectId > 0)
			entry.subject_id = subjectId;
		this.outbox.push(entry);
		this.saveOutbox();
		this.emit('queued', { entry });
		this.flush();
		return entry;
	}

	retry(clientId) {
		const e = this.outbox.find((x) => x.client_id === clientId);
		if (!e)
			return;
		delete e.failed;
		this.saveOutbox();
		this.emit('queued', { entry: e });
		this.flush();
	}

	// Tells the others the customer is typing, at most every 3 s.
	// Leave the queue before anyone answered: the chat ends (A7 keeps it).
	leaveQueue() {
		this.frame({ type: 'leave_queue', conversation_id: this.conv });
	}

	// The customer ends the chat (W6); while waiting this is leaving the queue.
	end() {
		this.frame({ type: 'finish', conversation_id: this.conv });
	}

	typing() {
		const now = Date.now();
		if (!this.subscribed || now - this.lastTyping < TYPING_EVERY)
			return;
		this.lastTyping = now;
		this.frame({ type: 'typing', conversation_id: this.conv });
	}

	flush() {
		if (!this.subscribed)
			return;
		for (const e of this.outbox) {
			if (e.failed || this.inflight.has(e.client_id))
				continue;
			this.inflight.add(e.client_id);
			this.frame({ type: 'send', conversation_id: this.conv, client_id: e.client_id,
			    text: e.text, ...(e.subject_id ? { subject_id: e.subject_id } : {}) });
		}
	}

	saveOutbox() {
		save(this.keys.outbox, this.outbox);
	}

	settle(clientId) {
		this.inflight.delete(clientId);
		const i = this.outbox.findIndex((e) => e.client_id === clientId);
		if (i < 0)
			return null;
		const [e] = this.outbox.splice(i, 1);
		this.saveOutbox();
		return e;
	}

	// ------------------------------------------------------------ connection

	setState(state) {
		if (this.state === state)
			return;
		this.state = state;
		this.emit('status', { state });
	}

	connect() {
		if (this.stopped || this.ws)
			return;
		this.clearTimer('retry');
		if (navigator.onLine === false) {
			this.setState('offline');
			return;
		}
		this.setState(this.attempt === 0 && this.state !== 'reconnecting' ? 'connecting' : 'reconnecting');
		let ws;
		try {
			ws = new WebSocket(this.url);
		} catch {
			this.retryLater();
			return;
		}
		this.ws = ws;
		let opened = false;
		ws.onopen = () => {
			opened = true;
			this.failsBeforeOpen = 0;
		};
		ws.onmessage = (ev) => {
			if (this.ws === ws)
				this.onFrame(ev.data);
		};
		ws.onclose = () => {
			if (this.ws !== ws)
				return;
			this.ws = null;
			this.subscribed = false;
			this.inflight.clear();
			this.clearTimer('ping');
			this.clearTimer('pong');
			this.clearTimer('gap');
			if (!opened)
				this.failsBeforeOpen++;
			if (this.failsBeforeOpen >= 3 && !this.reauthAsked && navigator.onLine !== false) {
				// The handshake keeps failing: most likely the token has
				// expired. Ask for a fresh session; keep trying meanwhile.
				this.reauthAsked = true;
				this.emit('reauth', {});
			}
			if (!this.stopped)
				this.retryLater();
		};
	}

	retryLater() {
		if (navigator.onLine === false) {
			this.setState('offline');
			return;
		}
		this.setState('reconnecting');
		const full = Math.min(BACKOFF_MAX, 1000 * 2 ** this.attempt);
		this.attempt++;
		this.connectSoon(Math.round(full * (0.75 + Math.random() * 0.25)));
	}

	connectSoon(ms) {
		if (this.stopped || this.ws)
			return;
		this.clearTimer('retry');
		this.timers.retry = setTimeout(() => this.connect(), ms);
	}

	clearTimer(name) {
		if (this.timers[name]) {
			clearTimeout(this.timers[name]);
			delete this.timers[name];
		}
	}

	frame(obj) {
		if (this.ws && this.ws.readyState === WebSocket.OPEN)
			this.ws.send(JSON.stringify(obj));
	}

	subscribe(after) {
		this.frame({ type: 'subscribe', conversation_id: this.conv, after_seq: after });
	}

	keepAlive() {
		this.clearTimer('ping');
		this.timers.ping = setTimeout(() => {
			this.frame({ type: 'ping' });
			this.timers.pong = setTimeout(() => this.ws?.close(4000), PONG_WAIT);
			this.keepAlive();
		}, PING_EVERY);
	}

	// ------------------------------------------------------------ frames

	onFrame(data) {
		let f;
		try {
			f = JSON.parse(data);
		} catch {
			return;
		}
		if (!f || typeof f.type !== 'string')
			return;
		switch (f.type) {
		case 'hello':
			this.subscribe(this.lastSeq);
			break;
		case 'subscribed':
			if (f.conversation_id !== this.conv)
				break;
			// A replay stops at 500 messages: ask for the rest.
			if (Number.isInteger(f.last_seq) && f.last_seq > this.lastSeq &&
			    !this.seen.has(f.last_seq))
				this.subscribe(this.lastSeq);
			this.subscribed = true;
			this.attempt = 0;
			this.setState('online');
			this.keepAlive();
			this.emit('subscribed', {});
			this.flush();
			this.checkGap();
			break;
		case 'message':
			if (f.conversation_id !== this.conv)
				break;
			this.onMessage(f, this.subscribed);
			// The agent ended the chat: say so, and offer a new one.
			if (f.sender?.kind === 'system' && f.meta?.event === 'ended')
				this.emit('ended', { code: 'closed' });
			break;
		case 'ack':
			if (f.conversation_id === this.conv)
				this.onAck(f);
			break;
		case 'queue':
			if (f.conversation_id === this.conv && Number.isInteger(f.position))
				this.emit('queue', { position: f.position, wait: f.estimated_wait_s });
			break;
		case 'left_queue':
			if (f.conversation_id === this.conv)
				this.emit('ended', { code: 'left_queue' });
			break;
		case 'read':
			if (f.conversation_id === this.conv && f.by === 'staff' && Number.isInteger(f.seq))
				this.emit('read', { seq: f.seq });
			break;
		case 'typing':
			if (f.conversation_id === this.conv && f.sender?.kind !== 'customer')
				this.emit('typing', { sender: f.sender });
			break;
		case 'cobrowse':	// co-browsing (issue 5): cobrowse-panel.js
		case 'cobrowse_live':
		case 'cobrowse_do':
			if (f.conversation_id === this.conv)
				this.emit('cobrowse', { frame: f });
			break;
		case 'call':		// calls (issue 4): call.js
			if (f.conversation_id === this.conv)
				this.emit('call', { frame: f });
			break;
		case 'pong':
			this.clearTimer('pong');
			break;
		case 'error':
			this.onError(f);
			break;
		default:
			break;
		}
	}

	onMessage(m, live) {
		if (!Number.isInteger(m.seq) || m.seq < 1)
			return;
		if (m.sender?.kind === 'customer' && m.client_id)
			this.settle(m.client_id);
		if (this.seen.has(m.seq))
			return;
		this.remember(m);
		this.emit('message', { msg: m, live });
		if (live)
			this.checkGap();
	}

	// Stored: the message leaves the outbox. If its own echo has not come
	// yet, it enters the transcript now (the echo will be a duplicate).
	onAck(f) {
		const e = this.settle(f.client_id);
		if (!Number.isInteger(f.seq) || this.seen.has(f.seq) || !e)
			return;
		const m = { type: 'message', conversation_id: this.conv, seq: f.seq,
		    client_id: f.client_id, sender: { kind: 'customer' }, text: e.text,
		    at: new Date().toISOString() };
		this.remember(m);
		this.emit('message', { msg: m, live: true });
		this.checkGap();
	}

	remember(m) {
		this.seen.add(m.seq);
		this.log.push(m);
		if (this.log.length > 1 && this.log.at(-2).seq > m.seq)
			this.log.sort((a, b) => a.seq - b.seq);
		if (this.log.length > LOG_KEEP)
			this.log.splice(0, this.log.length - LOG_KEEP);
		this.lastSeq = Math.max(this.lastSeq, m.seq);
		save(this.keys.log, this.log);
		save(this.keys.seq, this.lastSeq);
	}

	// A seq we never saw below the highest one: live delivery between
	// workers can lag (or wait for Redis). Give it a moment, then replay.
	checkGap() {
		if (this.timers.gap)
			return;
		this.timers.gap = setTimeout(() => {
			delete this.timers.gap;
			let from = null;
			for (let s = this.baseSeq + 1; s <= this.lastSeq; s++) {
				if (!this.seen.has(s)) {
					from = s;
					break;
				}
			}
			if (from !== null && this.subscribed)
				this.subscribe(from - 1);
		}, GAP_WAIT);
	}

	onError(f) {
		const code = typeof f.code === 'string' ? f.code : 'internal';
		// A refused call frame (its client_id says so): for call.js only.
		if (typeof f.client_id === 'string' && f.client_id.startsWith('call-')) {
			this.emit('call', { frame: { type: 'call', op: 'error', code, message: f.message } });
			return;
		}
		const e = f.client_id ? this.outbox.find((x) => x.client_id === f.client_id) : null;
		if (f.client_id)
			this.inflight.delete(f.client_id);
		if (code === 'rate_limited' || code === 'unavailable') {
			// Kept in the outbox; sent again shortly.
			this.emit('notice', { code, message: f.message });
			this.clearTimer('flush');
			this.timers.flush = setTimeout(() => {
				delete this.timers.flush;
				this.flush();
			}, code === 'rate_limited' ? 1500 : 3000);
			if (!f.client_id && code === 'unavailable') {
				// The subscribe itself failed: try the whole thing again.
				this.ws?.close(4000);
			}
			return;
		}
		if (code === 'not_subscribed' || code === 'too_many')
			return;
		if (e) {
			e.failed = code;
			this.saveOutbox();
			this.emit('failed', { entry: e, code });
		}
		if (code === 'not_found' || code === 'forbidden' || code === 'closed') {
			this.emit('ended', { code });
			return;
		}
		if (!e)
			this.emit('notice', { code, message: f.message });
	}
}
