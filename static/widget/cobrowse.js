/*
 * Co-browsing on the host page (issue 5, W10/W20). Loaded by loader.js only
 * when the chat panel says co-browsing starts (never on page load); loads
 * rrweb's recorder (static/vendor/rrweb-record.js) when the customer has
 * consented. Works under a strict CSP: scripts only from the chat host,
 * styles only as constructed stylesheets in a closed shadow root, inline
 * style properties only through the CSSOM.
 *
 * Masking happens here, before anything leaves the browser: every input's
 * value (passwords included) becomes the same fixed mask (no length leak),
 * except fields the site marks data-vb-unmask (never passwords); the text
 * of elements matching [data-vb-mask] or the site's mask selectors becomes
 * the fixed mask; [data-vb-block], the site's block selectors and the chat
 * widget itself are replaced by empty boxes. The agent can never read nor
 * act on masked or blocked elements: control actions on them are refused
 * here, whatever the server let through.
 *
 * Served as HOST/widget/cb.js. loader.js hands over the panel's first
 * message event (window.vbCb); from then on only messages from that window
 * and origin HOST are taken: see static/widget/cobrowse-panel.js.
 */
(function (w, d) {
	'use strict';
	var boot = w.vbCb, me = d.currentScript;
	if (!boot || !boot.source || !me || w.vbCbOn)
		return;
	w.vbCbOn = 1;
	var HOST = new URL(me.src).origin, PANEL = boot.source;
	var SVG = 'http://www.w3.org/2000/svg', MASK = '\u2022\u2022\u2022\u2022\u2022\u2022\u2022\u2022', PART = 16000;
	var cfg = null, stopRec = null, granted = false, agent = '', batch = [], timer = 0, batchId = 0;
	var ui, root, banner, bannerText, stopBtn, revokeBtn, pointer, svg, toast, card;
	var maskSel = '[data-vb-mask]', blockSel = '[data-vb-block]';
	var INPUTS = ['color', 'date', 'datetime-local', 'email', 'month', 'number', 'range', 'search',
	    'tel', 'text', 'time', 'url', 'week', 'textarea', 'select', 'password', 'hidden'];

	function send(m) {
		m.type = 'vb-cb';
		PANEL.postMessage(m, HOST);
	}

	/* A selector list from the site; a broken one masks (or blocks) everything. */
	function sel(base, extra, all) {
		var s = extra ? base + ',' + extra : base;
		try {
			d.querySelector(s);
			return s;
		} catch (e) {
			return all;
		}
	}

	function masked(el) {
		return !!(el && el.closest && (el.closest(maskSel) || el.closest(blockSel)));
	}

	/* rrweb asks for every input; only data-vb-unmask fields show their value. */
	function maskInput(text, el) {
		if (el && el.type !== 'password' && el.closest && el.closest('[data-vb-unmask]') && !masked(el))
			return text;
		return MASK;
	}

	function css() {
		return ':host{all:initial!important}' +
		    '.f{position:fixed;inset:0;border:4px solid #0b5cad;pointer-events:none;z-index:2147483001}' +
		    '.b{position:fixed;top:8px;left:50%;transform:translateX(-50%);display:flex;gap:8px;align-items:center;' +
		    'max-width:calc(100vw - 32px);box-sizing:border-box;padding:8px 8px 8px 14px;border-radius:10px;background:#0b5cad;color:#fff;' +
		    'font:14px/1.4 system-ui,sans-serif;box-shadow:0 6px 16px #0004;z-index:2147483002}' +
		    '.b button{font:600 14px system-ui,sans-serif;padding:6px 12px;border:0;border-radius:999px;' +
		    'background:#fff;color:#0b3d73;cursor:pointer}.b button:focus-visible{outline:3px solid #fff;outline-offset:2px}' +
		    '.p{fill:#f7900980;stroke:#b54708;stroke-width:2;transform-box:fill-box;transform-origin:center}' +
		    '.p.c{animation:c .6s}@keyframes c{50%{transform:scale(2)}}.o{display:none}' +
		    '.h{fill:none;stroke:#f79009;stroke-width:3}' +
		    '.s{position:fixed;inset:0;width:100vw;height:100vh;pointer-events:none;z-index:2147483003}' +
		    '.s polyline{fill:none;stroke:#d92d20;stroke-width:4;stroke-linecap:round;stroke-linejoin:round;animation:f 5s forwards}' +
		    '@keyframes f{70%{opacity:1}to{opacity:0}}' +
		    '.t,.k{position:fixed;bottom:96px;left:50%;transform:translateX(-50%);max-width:min(420px,calc(100vw - 32px));' +
		    'padding:10px 14px;border-radius:10px;background:#101828;color:#fff;font:14px/1.4 system-ui,sans-serif;z-index:2147483002}' +
		    '.k{bottom:auto;top:64px;background:#fff;color:#101828;border:1px solid #0b5cad;display:flex;gap:10px;align-items:center}' +
		    '.k a{color:#0b5cad;font-weight:600}.k button{border:0;background:none;font:20px system-ui;cursor:pointer;color:#4b5565}' +
		    '[hidden]{display:none!important}' +
		    '@media (prefers-reduced-motion:reduce){.p,.p.c,.s polyline{transition:none;animation:none}}';
	}

	function el(tag, cls, text) {
		var e = d.createElement(tag);
		if (cls)
			e.className = cls;
		if (text)
			e.textContent = text;
		return e;
	}

	function mount() {
		if (ui)
			return;
		ui = el('div');
		ui.id = 'vb-cobrowse';
		root = ui.attachShadow({ mode: 'closed' });
		var sheet = new CSSStyleSheet();
		sheet.replaceSync(css());
		root.adoptedStyleSheets = [sheet];
		root.appendChild(el('div', 'f'));
		banner = el('div', 'b');
		banner.setAttribute('role', 'region');
		banner.setAttribute('aria-label', 'Screen sharing');
		bannerText = el('span', '', 'You are sharing this page with our adviser');
		stopBtn = el('button', '', 'Stop sharing');
		stopBtn.type = 'button';
		stopBtn.addEventListener('click', function () {
			send({ op: 'stop' });
			end();
		});
		revokeBtn = el('button', '', 'Take back control');
		revokeBtn.type = 'button';
		revokeBtn.hidden = true;
		revokeBtn.addEventListener('click', function () {
			granted = false;
			revokeBtn.hidden = true;
			send({ op: 'revoke' });
		});
		banner.appendChild(bannerText);
		banner.appendChild(revokeBtn);
		banner.appendChild(stopBtn);
		root.appendChild(banner);
		/* Drawn in SVG by attributes: no inline style for the page's CSP. */
		svg = d.createElementNS(SVG, 'svg');
		svg.setAttribute('class', 's');
		svg.setAttribute('aria-hidden', 'true');
		root.appendChild(svg);
		pointer = d.createElementNS(SVG, 'circle');
		pointer.setAttribute('class', 'p o');
		pointer.setAttribute('r', '11');
		svg.appendChild(pointer);
		toast = el('p', 't');
		toast.setAttribute('role', 'status');
		toast.hidden = true;
		root.appendChild(toast);
		d.body.appendChild(ui);
	}

	function say(text) {
		toast.textContent = text;
		toast.hidden = false;
		clearTimeout(say.t);
		say.t = setTimeout(function () {
			toast.hidden = true;
		}, 4000);
	}

	/* Page events in batches (40 ms), split in parts that fit a frame. */
	function flush(snap) {
		clearTimeout(timer);
		timer = 0;
		if (!batch.length)
			return;
		var text = JSON.stringify(batch), parts = [], i = 0, j;
		batch = [];
		while (i < text.length) {
			j = Math.min(text.length, i + PART);
			var c = text.charCodeAt(j - 1);
			if (j < text.length && c >= 0xd800 && c < 0xdc00)
				j--;	/* never split a surrogate pair */
			parts.push(text.slice(i, j));
			i = j;
		}
		batchId++;
		for (i = 0; i < parts.length; i++)
			send({ op: 'data', id: batchId, part: i, parts: parts.length, snap: !!snap, data: parts[i] });
	}

	function emit(ev) {
		batch.push(ev);
		if (ev.type === 2)	/* a full snapshot (after its Meta event) */
			flush(true);
		else if (!timer)
			timer = setTimeout(flush, 40);
	}

	function record() {
		if (stopRec || !w.rrwebRecord)
			return;
		stopRec = w.rrwebRecord.record({
			emit: emit,
			maskAllInputs: false,
			maskInputOptions: INPUTS.reduce(function (o, k) {
				o[k] = true;
				return o;
			}, {}),
			maskInputFn: maskInput,
			maskTextSelector: maskSel,
			maskTextFn: function () {
				return MASK;
			},
			blockSelector: blockSel,
			recordCanvas: false,
			collectFonts: false,
			inlineImages: false,
			sampling: { mousemove: 50, scroll: 100 }
		});
	}

	/* The site stores sessions (0025): the customer is told on the banner. */
	function sharingText() {
		return 'You are sharing this page with our adviser' +
		    (cfg && cfg.store ? '. The session is stored for review' : '');
	}

	function start(m) {
		cfg = m;
		maskSel = sel('[data-vb-mask]', m.mask_selectors, '*');
		blockSel = sel('[data-vb-block],#vb-widget,#vb-cobrowse', m.block_selectors, 'body');
		granted = m.control === 'granted';
		mount();
		revokeBtn.hidden = !granted;
		bannerText.textContent = sharingText();
		if (w.rrwebRecord)
			return record();
		var s = el('script');
		s.src = HOST + '/static/vendor/rrweb-record.js';
		s.onload = record;
		d.head.appendChild(s);
	}

	function end() {
		if (stopRec)
			stopRec();
		stopRec = null;
		cfg = null;
		granted = false;
		batch = [];
		if (ui)
			ui.remove();
		ui = null;
	}

	function live(f) {
		if (f.kind === 'pointer' || f.kind === 'click') {
			pointer.setAttribute('cx', f.x);
			pointer.setAttribute('cy', f.y);
			pointer.setAttribute('class', 'p');
			if (f.kind === 'click')
				void pointer.getBBox(), pointer.setAttribute('class', 'p c');
			clearTimeout(live.t);
			live.t = setTimeout(function () {
				pointer.setAttribute('class', 'p o');
			}, 4000);
		} else if (f.kind === 'draw' && Array.isArray(f.points)) {
			var p = d.createElementNS(SVG, 'polyline');
			p.setAttribute('points', f.points.map(function (q) {
				return (+q[0] || 0) + ',' + (+q[1] || 0);
			}).join(' '));
			svg.appendChild(p);
			setTimeout(function () {
				p.remove();
			}, 5200);
		} else if (f.kind === 'clear') {
			[].forEach.call(svg.querySelectorAll('polyline'), function (q) {
				q.remove();
			});
		} else if (f.kind === 'scroll') {
			w.scrollTo(f.x, f.y);
		} else if (f.kind === 'push' && /^https?:\/\//.test(f.url || '')) {
			if (card)
				card.remove();
			card = el('div', 'k');
			card.setAttribute('role', 'status');
			card.appendChild(el('span', '', (f.agent || 'Your adviser') + ' sent you:'));
			var a = el('a', '', f.name || f.url);
			a.href = f.url;
			a.target = '_blank';
			a.rel = 'noopener noreferrer';
			card.appendChild(a);
			var x = el('button', '', '\u00d7');
			x.type = 'button';
			x.setAttribute('aria-label', 'Dismiss');
			x.addEventListener('click', function () {
				card.remove();
				card = null;
			});
			card.appendChild(x);
			root.appendChild(card);
		}
	}

	function label(e) {
		var s = masked(e) ? '' : (e.getAttribute('aria-label') || e.textContent || e.name || e.tagName).trim();
		return s.length > 40 ? s.slice(0, 40) + '\u2026' : s;
	}

	/* An agent's action under the grant: refused on masked or blocked elements. */
	function act(f) {
		var e = w.rrwebRecord && w.rrwebRecord.record.mirror.getNode(f.node);
		if (!granted || !e || e.nodeType !== 1 || !e.isConnected || masked(e) ||
		    e.closest('#vb-widget,#vb-cobrowse')) {
			say('Your adviser tried an action on a protected part of the page: refused.');
			return;
		}
		var r = e.getBoundingClientRect(), hl = d.createElementNS(SVG, 'rect');
		hl.setAttribute('class', 'h');
		hl.setAttribute('x', r.left - 3);
		hl.setAttribute('y', r.top - 3);
		hl.setAttribute('width', r.width + 6);
		hl.setAttribute('height', r.height + 6);
		svg.appendChild(hl);
		setTimeout(function () {
			hl.remove();
		}, 1500);
		if (f.action === 'click') {
			say((f.agent || 'Your adviser') + ' clicked \u201c' + label(e) + '\u201d');
			e.click();
		} else if (f.action === 'fill' && /^(INPUT|TEXTAREA)$/.test(e.tagName) &&
		    maskInput('x', e) === 'x' && typeof f.value === 'string') {
			say((f.agent || 'Your adviser') + ' filled in \u201c' + label(e) + '\u201d');
			e.focus();
			e.value = f.value;
			e.dispatchEvent(new Event('input', { bubbles: true }));
			e.dispatchEvent(new Event('change', { bubbles: true }));
		} else {
			say('Your adviser tried to type into a protected field: refused.');
		}
	}

	function on(m) {
		if (m.op === 'record')
			start(m);
		else if (m.op === 'stop')
			end();
		else if (!cfg)
			return;
		else if (m.op === 'control') {
			granted = m.control === 'granted';
			agent = m.agent || agent;
			revokeBtn.hidden = !granted;
			bannerText.textContent = granted ? (agent || 'Our adviser') + ' can click and type on this page' :
			    sharingText();
		} else if (m.op === 'live' && m.frame)
			live(m.frame);
		else if (m.op === 'do' && m.frame)
			act(m.frame);
	}

	w.addEventListener('message', function (e) {
		var m = e.data;
		if (e.source === PANEL && e.origin === HOST && m && m.type === 'vb-cb')
			on(m);
	});
	on(boot.data);
})(window, document);
