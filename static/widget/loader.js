/* Virtual Branch chat loader: static/widget/README.md */
(function (w, d) {
	'use strict';
	var me = d.currentScript;
	if (w.__vbWidget)
		return;
	w.__vbWidget = 1;
	var src = me && me.src;
	if (!src) {
		me = d.querySelector('script[src*="/widget/loader.js"]');
		src = me && me.src;
	}
	if (!src)
		return;
	var HOST = new URL(src, location.href).origin;
	var PAGES = 20, SESSION_MAX = 11 * 3600e3;
	var cfg, host, wrap, btn, badge, live, panel, frame, note, isOpen, busy, unread = 0;
	var session, reauthing, wantOpen, ready;

	function get(area, k) {
		try {
			return JSON.parse(w[area].getItem(k));
		} catch (e) {
			return null;
		}
	}
	function put(area, k, v) {
		try {
			if (v == null)
				w[area].removeItem(k);
			else
				w[area].setItem(k, JSON.stringify(v));
		} catch (e) { }
	}

	var url = location.href.split(/[?#]/)[0], pages = get('sessionStorage', 'vb.pages');
	pages = Array.isArray(pages) ? pages : [];
	if (!pages.length || pages[pages.length - 1].url !== url)
		pages.push({ url: url, title: d.title.slice(0, 300), at: new Date().toISOString() });
	put('sessionStorage', 'vb.pages', pages = pages.slice(-PAGES));

	function ctx() {
		return { language: navigator.language, screen: screen.width + 'x' + screen.height,
		    time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
		    page: pages[pages.length - 1], pages: pages };
	}

	function api(path, body, done) {
		fetch(HOST + '/api/widget/' + path, body ? {
			method: 'POST', mode: 'cors', credentials: 'omit',
			headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
		} : { credentials: 'omit' }).then(function (r) {
			r.json().catch(function () { return {}; }).then(function (j) { done(r, j); });
		}, function () {
			done({}, {});
		});
	}

	function svg(path, cls) {
		var NS = 'http://www.w3.org/2000/svg', s = d.createElementNS(NS, 'svg'), e = d.createElementNS(NS, 'path');
		s.setAttribute('viewBox', '0 0 24 24');
		s.setAttribute('aria-hidden', 'true');
		s.setAttribute('class', cls);
		e.setAttribute('d', path);
		s.appendChild(e);
		return s;
	}
	function el(tag, cls, text) {
		var e = d.createElement(tag);
		if (cls)
			e.className = cls;
		if (text)
			e.textContent = text;
		return e;
	}

	function css(c, side) {
		var x = c.length < 5 ? c.replace(/\w/g, '$&$&') : c, n = parseInt(x.slice(1), 16);
		var fg = ((n >> 16) * 299 + (n >> 8 & 255) * 587 + (n & 255) * 114) / 1e3 > 150 ? '#101828' : '#fff';
		var at = side + ':20px;', sh = 'box-shadow:0 0 0 2px #fff,0 6px 16px #0004';
		return ':host{all:initial!important;position:fixed!important;bottom:0!important;' + side +
		    ':0!important;z-index:2147483000!important}' +
		    '.l{position:fixed;bottom:20px;' + at + 'width:56px;height:56px;padding:0;border:0;border-radius:50%;' +
		    'background:' + c + ';color:' + fg + ';cursor:pointer;display:grid;place-items:center;' + sh +
		    ';transition:transform .15s}.l:hover{transform:scale(1.06)}' +
		    '.l:focus-visible{outline:3px solid #101828;outline-offset:5px}' +
		    '.l svg{width:28px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}' +
		    '.l .x,.open .l .c{display:none}.open .l .x{display:block}.l[aria-busy]{cursor:progress}' +
		    '.b{position:absolute;top:-4px;right:-4px;min-width:22px;padding:0 6px;border-radius:11px;' +
		    'background:#b42318;color:#fff;font:700 12px/22px system-ui,sans-serif;' + sh + '}' +
		    '[hidden]{display:none!important}.s{position:fixed;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}' +
		    '.p{position:fixed;bottom:88px;' + at + 'width:380px;height:600px;max-width:calc(100vw - 40px);' +
		    'max-height:calc(100vh - 108px);border-radius:14px;overflow:hidden;background:#fff;' +
		    'box-shadow:0 24px 48px -12px #0006,0 0 0 1px #0002;' +
		    'visibility:hidden;opacity:0;transform:translateY(12px);transition:.18s}' +
		    '.open .p{visibility:visible;opacity:1;transform:none}' +
		    '.p iframe{display:block;width:100%;height:100%;border:0}' +
		    '.n{position:fixed;bottom:88px;' + at + 'max-width:min(300px,calc(100vw - 40px));margin:0;' +
		    'padding:12px 40px 12px 14px;background:#fff;color:#1d2939;border:1px solid #b42318;border-' + side +
		    '-width:4px;border-radius:10px;font:14px/1.45 system-ui,sans-serif;' + sh + '}' +
		    '.n button{position:absolute;top:6px;right:6px;width:28px;height:28px;border:0;' +
		    'background:none;color:#4b5565;font:20px system-ui,sans-serif;cursor:pointer}' +
		    '@media (max-width:479.98px){.p{inset:0;width:auto;height:auto;max-width:none;max-height:none;border-radius:0}' +
		    '.open .l{display:none}}' +
		    '@media (prefers-reduced-motion:reduce){.l,.p{transition:none!important}}';
	}

	function mount() {
		if (host)
			return;
		if (!d.body) {
			d.addEventListener('DOMContentLoaded', mount);
			return;
		}
		host = el('div');
		host.id = 'vb-widget';
		var root = host.attachShadow({ mode: 'closed' });
		var sheet = new CSSStyleSheet();
		sheet.replaceSync(css(cfg.color, cfg.position));
		root.adoptedStyleSheets = [sheet];
		wrap = el('div', 'w');
		btn = el('button', 'l');
		btn.type = 'button';
		btn.setAttribute('aria-expanded', 'false');
		btn.appendChild(svg('M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z', 'c'));
		btn.appendChild(svg('M6 9l6 6 6-6', 'x'));
		badge = el('span', 'b');
		badge.hidden = true;
		badge.setAttribute('aria-hidden', 'true');
		btn.appendChild(badge);
		btn.addEventListener('click', function () {
			if (isOpen)
				close(false);
			else
				open(true);
		});
		btn.addEventListener('keydown', function (e) {
			if (e.key === 'Escape' && isOpen)
				close(true);
		});
		panel = el('div', 'p');
		live = el('p', 's');
		live.setAttribute('role', 'status');
		wrap.appendChild(panel);
		wrap.appendChild(btn);
		wrap.appendChild(live);
		root.appendChild(wrap);
		label();
		d.body.appendChild(host);
		session = get('sessionStorage', 'vb.session');
		if (session && session.site === cfg.site && session.token &&
		    Date.now() - session.at < SESSION_MAX) {
			makeFrame();
			if (get('sessionStorage', 'vb.open'))
				show(false);
		} else if (session = null, cfg.auth == 'token' && cfg.token && !wantOpen) {
			busy = 1;
			newSession(function (e) {
				busy = 0;
				e || frame || makeFrame();
				wantOpen && open(wantOpen > 1);
			});
		}
		if (session)
			api('context', { token: session.token, conversation_id: session.conversation_id, context: ctx() }, Object);
		if (wantOpen)
			open(false);
	}

	function label() {
		var n = unread ? unread + ' new message' + (unread > 1 ? 's' : '') : '';
		btn.setAttribute('aria-label', 'Chat with us' + (n && ' (' + n + ')'));
		live.textContent = n && 'Chat: ' + n;
		badge.textContent = unread > 9 ? '9+' : String(unread);
		badge.hidden = !unread;
	}

	function fail(text) {
		if (note)
			note.remove();
		note = el('p', 'n', text);
		note.setAttribute('role', 'alert');
		var x = el('button', '', '\u00d7');
		x.type = 'button';
		x.setAttribute('aria-label', 'Dismiss');
		x.addEventListener('click', function () {
			note.remove();
			note = null;
			btn.focus();
		});
		note.appendChild(x);
		wrap.appendChild(note);
	}


	function newSession(done, extra) {
		var body = extra || {}, corr = get('localStorage', 'vb.correlation');
		body.site_key = cfg.site;
		body.context = ctx();
		if (typeof corr === 'string')
			body.correlation_id = corr;
		Promise.resolve(typeof cfg.token === 'function' ? cfg.token() : cfg.token).then(function (t) {
			if (t)
				body.token = t;
			api('session', body, function (r, j) {
				if (r.status === 422 && body.correlation_id) {
					put('localStorage', 'vb.correlation', null);
					return newSession(done, extra);
				}
				if (!r.ok || !j.token)
					return done((j.error && j.error.code) || 'network', j.error);
				put('localStorage', 'vb.correlation', j.correlation_id);
				session = { site: cfg.site, token: j.token, conversation_id: j.conversation_id, at: Date.now(),
				    routing: { subjects: j.subjects || [], open: j.open } };
				put('sessionStorage', 'vb.session', session);
				done(null);
			});
		}, function () {
			done('token_required');
		});
	}

	function open(focus) {
		if (isOpen || busy)
			return busy && (wantOpen = focus ? 2 : 1);
		if (note) {
			note.remove();
			note = null;
		}
		if (frame)
			return show(focus);
		if (/^(captcha|email_otp)$/.test(cfg.auth)) {
			makeFrame();
			return show(focus);
		}
		busy = true;
		btn.setAttribute('aria-busy', 'true');
		newSession(function (err) {
			busy = false;
			btn.removeAttribute('aria-busy');
			if (err) {
				if (w.console)
					console.warn('[Virtual Branch] chat session refused: ' + err +
					    (err === 'origin_not_allowed' ? ' (add ' + location.origin + ' to the site\'s allowed origins)' : ''));
				return fail(/^(origin_not_allowed|unknown_site)$/.test(err) ? 'Sorry, chat is not available on this page.' :
				    err === 'too_many_attempts' ? 'Too many chats were started from your network. Please try again in a minute.' :
				    'Sorry, we could not start the chat. Please check your connection and try again.');
			}
			frame || makeFrame();
			show(focus);
		});
	}

	function makeFrame() {
		frame = el('iframe');
		frame.title = 'Chat';
		frame.allow = 'camera;microphone;display-capture';
		frame.src = HOST + '/widget/panel?site=' + encodeURIComponent(cfg.site) +
		    (cfg.lang ? '&lang=' + encodeURIComponent(cfg.lang) : '');
		panel.appendChild(frame);
	}

	function send(msg) {
		if (ready && frame.contentWindow)
			frame.contentWindow.postMessage(msg, HOST);
	}

	function flip(o) {
		isOpen = o;
		wrap.className = o ? 'w open' : 'w';
		btn.setAttribute('aria-expanded', o);
		put('sessionStorage', 'vb.open', o || null);
	}

	function show(focus) {
		flip(true);
		if (focus)
			frame.focus();
		send({ type: 'vb-show', focus: !!focus });
	}

	function close(refocus) {
		if (!isOpen)
			return;
		flip(false);
		send({ type: 'vb-hide' });
		if (refocus)
			btn.focus();
	}

	var KEY = /^vb\.(seq|log|outbox)\.(\d+)$/;
	function kept(c) {
		var o = {};
		['seq', 'log', 'outbox'].forEach(function (k) {
			var v = get('sessionStorage', 'vb.' + k + '.' + c);
			if (v != null)
				o['vb.' + k + '.' + c] = v;
		});
		return o;
	}

	function init() {
		send(session ? {
			type: 'vb-init', token: session.token, conversation_id: session.conversation_id, routing: session.routing,
			store: kept(session.conversation_id), color: cfg.color, look: cfg.look, visible: !!isOpen,
			focus: !!isOpen && d.activeElement === host
		} : { type: 'vb-auth-start', mode: cfg.auth, color: cfg.color, look: cfg.look });
	}

	function renew() {
		if (reauthing || !session)
			return;
		reauthing = 1;
		var old = kept(session.conversation_id);
		newSession(function (err) {
			reauthing = 0;
			if (/^(captcha|otp)_required$/.test(err)) {
				put('sessionStorage', 'vb.session', session = null);
				init();
			}
			if (err)
				return;
			for (var k in old)
				put('sessionStorage', k, null);
			init();
		});
	}

	w.addEventListener('message', function (e) {
		var m = e.data;
		if (!frame || e.source !== frame.contentWindow || e.origin !== HOST || !m || typeof m.type !== 'string')
			return;
		if (m.type === 'vb-ready') {
			ready = 1;
			init();
		}
		else if (m.type === 'vb-call' && /^(challenge|otp)$/.test(m.path))
			api(m.path + (m.email ? '' : '?site_key=' + cfg.site), m.email && { site_key: cfg.site, email: m.email },
			    function (r, j) {
				send({ type: 'vb-reply', path: m.path, ok: r.ok, data: j });
			});
		else if (m.type === 'vb-auth' && !session)
			newSession(function (err) {
				err ? send({ type: 'vb-auth-fail', code: err }) : init();
			}, { altcha: m.altcha, email: m.email, code: m.code });
		else if (m.type === 'vb-close')
			close(true);
		else if (m.type == 'vb-cb' && !w.vbCb)
			w.vbCb = e, d.head.appendChild(el('script')).src = HOST + '/widget/cb.js';
		else if (m.type === 'vb-unread') {
			unread = Math.max(0, m.count | 0);
			label();
		} else if (m.type === 'vb-reauth' || m.type === 'vb-new')
			renew();
		else if (m.type === 'vb-store' && KEY.test(m.key) && session &&
		    KEY.exec(m.key)[2] === String(session.conversation_id))
			put('sessionStorage', m.key, m.value);
	});

	function setup(o) {
		if (cfg || !o || !/^[\w-]{1,64}$/.test(o.site || ''))
			return;
		cfg = {
			site: o.site,
			position: o.position === 'left' ? 'left' : 'right',
			color: /^#([0-9a-f]{3}){1,2}$/i.test(o.color || '') ? o.color : '#0b5cad',
			lang: /^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})?$/.test(o.lang || '') ? o.lang : '',
			token: o.token
		};
		api('config?site_key=' + cfg.site, 0, function (r, j) {
			var a = cfg.look = j.appearance || {};
			cfg.auth = j.auth && j.auth.mode;
			cfg.color = a.colour || cfg.color;
			cfg.position = a.position || cfg.position;
			cfg.lang = cfg.lang || a.language || '';
			mount();
		});
	}

	function command(c) {
		if (!c || !c.length)
			return;
		if (c[0] === 'init')
			setup(c[1]);
		else if (c[0] === 'open')
			btn ? open(false) : wantOpen = 1;
		else if (c[0] === 'close' && btn)
			close(false);
	}

	var q = w.vbq = Array.isArray(w.vbq) ? w.vbq : [];
	var queued = q.splice(0, q.length);
	q.push = function () {
		for (var i = 0; i < arguments.length; i++)
			command(arguments[i]);
		return 0;
	};
	queued.forEach(command);

	function fromElement() {
		var e = cfg ? null : d.querySelector('[data-vb-site]');
		if (e)
			setup({ site: e.getAttribute('data-vb-site'), position: e.getAttribute('data-vb-position'),
			    color: e.getAttribute('data-vb-color'), lang: e.getAttribute('data-vb-lang'),
			    token: e.getAttribute('data-vb-token') });
	}
	fromElement();
	if (!cfg && d.readyState === 'loading')
		d.addEventListener('DOMContentLoaded', fromElement);
})(window, document);
