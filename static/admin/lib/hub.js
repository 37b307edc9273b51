// The staff side of the WebSocket hub (docs/websocket.md), shared by the
// agent console and the supervisor page.
//
// One socket per page. It reconnects with backoff and, after every "hello",
// resubscribes each followed conversation from the last seq and note id seen,
// so nothing is lost across a restart of a worker, a node or Redis; the
// caller drops what it already has by seq (messages) or id (notes).
// Frames are dispatched by type to listeners: hub.on('message', fn).

const PING_MS = 25000;

export class Hub {
	constructor() {
		this.listeners = new Map();
		this.follow = new Map();	// conv → { seq, note }
		this.watching = false;
		this.attempt = 0;
		this.ws = null;
		this.queue = [];
		this.open = false;
		this.closedByUs = false;
	}

	on(type, fn) {
		if (!this.listeners.has(type))
			this.listeners.set(type, new Set());
		this.listeners.get(type).add(fn);
		return () => this.listeners.get(type).delete(fn);
	}

	emit(type, f) {
		for (const fn of this.listeners.get(type) || [])
			fn(f);
		for (const fn of this.listeners.get('*') || [])
			fn(f);
	}

	connect() {
		const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
		const ws = new WebSocket(url);
		this.ws = ws;
		ws.addEventListener('open', () => {
			this.open = true;
			this.attempt = 0;
			this.emit('connection', { up: true });
			this.pinger = setInterval(() => this.send({ type: 'ping' }), PING_MS);
		});
		ws.addEventListener('message', (e) => {
			let f;
			try {
				f = JSON.parse(e.data);
			} catch {
				return;
			}
			if (!f || typeof f.type !== 'string')
				return;
			if (f.type === 'hello')
				this.resume();
			this.track(f);
			this.emit(f.type, f);
		});
		ws.addEventListener('close', () => {
			this.open = false;
			clearInterval(this.pinger);
			this.emit('connection', { up: false });
			if (this.closedByUs)
				return;
			const wait = Math.min(15000, 500 * 2 ** this.attempt) * (0.75 + Math.random() / 2);
			this.attempt += 1;
			setTimeout(() => this.connect(), wait);
		});
	}

	close() {
		this.closedByUs = true;
		this.ws?.close();
	}

	// Frames wait while the socket is down, then go in order.
	send(frame) {
		if (this.open && this.ws.readyState === WebSocket.OPEN) {
			this.ws.send(JSON.stringify(frame));
			return;
		}
		if (frame.type !== 'ping')
			this.queue.push(frame);
	}

	resume() {
		for (const [conv, at] of this.follow)
			this.ws.send(JSON.stringify({ type: 'subscribe', conversation_id: conv,
			    after_seq: at.seq, after_note: at.note }));
		if (this.watching)
			this.ws.send(JSON.stringify({ type: 'watch' }));
		const q = this.queue;
		this.queue = [];
		for (const f of q)
			this.ws.send(JSON.stringify(f));
	}

	track(f) {
		const at = this.follow.get(f.conversation_id);
		if (!at)
			return;
		if (f.type === 'message' && Number.isInteger(f.seq))
			at.seq = Math.max(at.seq, f.seq);
		if (f.type === 'note' && Number.isInteger(f.id))
			at.note = Math.max(at.note, f.id);
	}

	subscribe(conv, seq = 0, note = 0) {
		if (!this.follow.has(conv))
			this.follow.set(conv, { seq, note });
		this.send({ type: 'subscribe', conversation_id: conv, after_seq: seq, after_note: note });
	}

	// Start following without asking (the server subscribed us on accept).
	followed(conv) {
		if (!this.follow.has(conv))
			this.follow.set(conv, { seq: 0, note: 0 });
	}

	unsubscribe(conv) {
		this.follow.delete(conv);
		this.send({ type: 'unsubscribe', conversation_id: conv });
	}

	watch() {
		this.watching = true;
		this.send({ type: 'watch' });
	}
}

let counter = 0;
// A client id unique per message, so a resend after a reconnect is not stored twice.
export function clientId(prefix = 's') {
	counter += 1;
	const rnd = crypto.getRandomValues(new Uint32Array(2));
	return `${prefix}${Date.now().toString(36)}${counter.toString(36)}${rnd[0].toString(36)}${rnd[1].toString(36)}`.slice(0, 64);
}
