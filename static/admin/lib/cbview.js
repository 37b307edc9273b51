// The agent's live, read-only view of the customer's page (issue 5): runs in
// /console/cobrowse-view, framed by the console (lib/cobrowse.js), which
// posts it batches of rrweb events; rrweb's Replayer rebuilds the page in a
// sandboxed frame without scripts. The agent's pointer, clicks, strokes and
// (with a grant) picked elements go back to the console as messages.
//
// console → view: {type:'events', conversation_id, events}, {type:'mode', mode:'pointer'|'draw'|'control'},
//                 {type:'end'}, {type:'replay', events} (a stored session, played from its start)
// view → console: {type:'ready'}, {type:'pointer'|'click', x, y}, {type:'draw', points},
//                 {type:'pick', node, input, label}, {type:'size', width, height}

const stage = document.getElementById('stage');
const glass = document.getElementById('glass');
const ink = document.getElementById('ink');
const waitEl = document.getElementById('wait');
let replayer = null;
let mode = 'pointer';
let scale = 1;
let size = { width: 1024, height: 768 };
let stroke = null;
let lastMove = 0;

function tell(m) {
	window.parent.postMessage(m, location.origin);
}

function fit() {
	const wrap = stage.querySelector('.replayer-wrapper');
	scale = Math.min(1, stage.clientWidth / size.width, stage.clientHeight / size.height) || 1;
	for (const el of [wrap, glass, ink]) {
		if (!el)
			continue;
		el.style.transform = `scale(${scale})`;
		el.style.width = `${size.width}px`;
		el.style.height = `${size.height}px`;
	}
	ink.setAttribute('viewBox', `0 0 ${size.width} ${size.height}`);
}

function ensure() {
	if (replayer)
		return;
	// Live mode: events are played as they arrive, stamped with our clock
	// (the customer's clock may differ).
	replayer = new window.rrwebReplay.Replayer([], { root: stage, liveMode: true, mouseTail: false,
	    UNSAFE_replayCanvas: false, showWarning: false, triggerFocus: false });
	replayer.startLive();
	replayer.on('resize', (d) => {
		size = { width: d.width, height: d.height };
		fit();
	});
	waitEl.remove();
	glass.hidden = false;
}

// The page's assets through our proxy (GET /api/cobrowse/proxy: the site's
// allowed origins only): this page may load images, styles and fonts from
// itself only, and the customer's assets may need what the agent lacks.
let conv = 0;
const proxied = (u) => `/api/cobrowse/proxy?conversation_id=${conv}&url=${encodeURIComponent(u)}`;
const ABS = /^https?:\/\//i;
const cssUrls = (css) => css.replace(/url\(\s*(['"]?)(https?:\/\/[^'")\s]+)\1\s*\)/gi, (m, q, u) => `url("${proxied(u)}")`);

function rewriteAttrs(tag, attrs) {
	for (const k of Object.keys(attrs || {})) {
		const v = attrs[k];
		if (typeof v !== 'string')
			continue;
		if (k === '_cssText' || k === 'style')
			attrs[k] = cssUrls(v);
		else if ((k === 'src' && /^(img|source|input|image)$/.test(tag)) || (k === 'href' && tag === 'link') ||
		    (k === 'poster' && tag === 'video'))
			attrs[k] = ABS.test(v) ? proxied(v) : v;
		else if (k === 'srcset')
			attrs[k] = v.split(',').map((p) => p.trim().replace(/^(\S+)/, (u) => ABS.test(u) ? proxied(u) : u)).join(', ');
	}
}

function rewriteNode(n, parentTag) {
	if (!n)
		return;
	if (n.type === 2) {
		rewriteAttrs(n.tagName, n.attributes);
		for (const c of n.childNodes || [])
			rewriteNode(c, n.tagName);
	} else if (n.type === 3 && parentTag === 'style' && typeof n.textContent === 'string') {
		n.textContent = cssUrls(n.textContent);
	} else {
		for (const c of n.childNodes || [])
			rewriteNode(c, n.tagName);
	}
}

function rewrite(ev) {
	if (ev.type === 2)
		rewriteNode(ev.data.node);
	else if (ev.type === 3 && ev.data?.source === 0) {
		for (const a of ev.data.adds || [])
			rewriteNode(a.node);
		for (const a of ev.data.attributes || [])
			rewriteAttrs('img', a.attributes);
	}
}

function point(e) {
	const r = glass.getBoundingClientRect();
	return [Math.round((e.clientX - r.left) / scale), Math.round((e.clientY - r.top) / scale)];
}

function line(points) {
	const p = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
	p.setAttribute('points', points.map((q) => q.join(',')).join(' '));
	ink.append(p);
	setTimeout(() => p.remove(), 5200);
	return p;
}

glass.addEventListener('pointermove', (e) => {
	const [x, y] = point(e);
	if (stroke) {
		if (stroke.points.length < 256)
			stroke.points.push([x, y]);
		stroke.el.setAttribute('points', stroke.points.map((q) => q.join(',')).join(' '));
		return;
	}
	if (mode !== 'draw' && Date.now() - lastMove > 50) {
		lastMove = Date.now();
		tell({ type: 'pointer', x, y });
	}
});

glass.addEventListener('pointerdown', (e) => {
	const [x, y] = point(e);
	if (mode === 'draw') {
		glass.setPointerCapture(e.pointerId);
		stroke = { points: [[x, y]], el: line([[x, y]]) };
	}
});

glass.addEventListener('pointerup', () => {
	if (stroke) {
		tell({ type: 'draw', points: stroke.points });
		stroke = null;
	}
});

glass.addEventListener('click', (e) => {
	const [x, y] = point(e);
	if (mode === 'pointer') {
		tell({ type: 'click', x, y });
	} else if (mode === 'control' && replayer) {
		const doc = replayer.iframe.contentDocument;
		const el = doc.elementFromPoint(x, y);
		const node = el ? replayer.getMirror().getId(el) : -1;
		if (node > 0)
			tell({ type: 'pick', node, input: /^(INPUT|TEXTAREA)$/.test(el.tagName),
			    label: (el.getAttribute('aria-label') || el.textContent || el.getAttribute('name') || el.tagName).trim().slice(0, 60) });
	}
});

window.addEventListener('message', (e) => {
	if (e.origin !== location.origin || e.source !== window.parent)
		return;
	const m = e.data;
	if (m?.type === 'events' && Array.isArray(m.events)) {
		conv = Number(m.conversation_id) || conv;
		ensure();
		const now = Date.now();
		for (const ev of m.events) {
			if (ev.type === 4 && ev.data?.width) {	// Meta: the customer's viewport
				size = { width: ev.data.width, height: ev.data.height };
				fit();
			}
			ev.timestamp = now;
			rewrite(ev);
			replayer.addEvent(ev);
		}
		fit();
	} else if (m?.type === 'replay' && Array.isArray(m.events)) {
		// A stored session (lib/cobrowse.js, openReplay): played from the
		// start at its own pace, read-only (no glass, nothing sent back).
		replayer?.destroy?.();
		stage.replaceChildren();
		waitEl.remove();
		glass.hidden = true;
		// Its assets through the proxy, as live (the server lets those who
		// may replay the session fetch them).
		conv = Number(m.conversation_id) || conv;
		for (const ev of m.events)
			rewrite(ev);
		const meta = m.events.find((ev) => ev.type === 4 && ev.data?.width);
		if (meta)
			size = { width: meta.data.width, height: meta.data.height };
		replayer = new window.rrwebReplay.Replayer(m.events, { root: stage, mouseTail: false,
		    UNSAFE_replayCanvas: false, showWarning: false, triggerFocus: false });
		replayer.on('resize', (d) => {
			size = { width: d.width, height: d.height };
			fit();
		});
		fit();
		replayer.play(0);
	} else if (m?.type === 'mode') {
		mode = m.mode;
		glass.dataset.mode = mode;
	} else if (m?.type === 'end') {
		replayer?.destroy?.();
		replayer = null;
		stage.replaceChildren(Object.assign(document.createElement('p'), { className: 'wait', textContent: m.text || '' }));
		glass.hidden = true;
	}
});
window.addEventListener('resize', fit);
tell({ type: 'ready' });
