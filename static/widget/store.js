// Where the panel keeps what must survive a page change on the host site
// (which reloads this frame): vb.seq.<id>, vb.log.<id>, vb.outbox.<id>.
//
// The panel is a third-party frame, and browsers refuse it storage when
// third-party cookies are blocked (private windows, Safari, Brave, many
// users' settings: "Access is denied for this document"). So the values live
// in the host page's sessionStorage, owned by loader.js: it hands them over
// in vb-init, and every change goes back as {type:'vb-store', key, value}.
// That adds no exposure: the same storage already holds the session token.
// Here they are kept in memory for this page's life.

const data = new Map();
let sink = null;

// Values from vb-init: {key: value}.
export function seed(values) {
	for (const [k, v] of Object.entries(values || {}))
		data.set(k, JSON.stringify(v));
}

// fn(key, value) is told of every change (value null: removed).
export function onSave(fn) {
	sink = fn;
}

export function load(key, fallback = null) {
	const raw = data.get(key);
	if (raw === undefined)
		return fallback;
	try {
		return JSON.parse(raw);
	} catch {
		return fallback;
	}
}

// The outbox goes at once (a message must not be lost to a page change);
// the transcript and seq, which a replay can always rebuild, at most every
// 100 ms, so a long replay is one hand-over, not hundreds.
const later = new Map();

export function save(key, value) {
	data.set(key, JSON.stringify(value));
	if (!key.startsWith('vb.log.') && !key.startsWith('vb.seq.')) {
		sink?.(key, value);
		return;
	}
	if (!later.has(key))
		setTimeout(() => {
			const v = later.get(key);
			later.delete(key);
			sink?.(key, v);
		}, 100);
	later.set(key, value);
}

export function remove(key) {
	data.delete(key);
	sink?.(key, null);
}
