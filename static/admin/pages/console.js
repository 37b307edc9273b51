// /console: the agent console (C1–C5, C9).
//
// Left: ringing offers and invitations, my chats (tabs with unread counts)
// and the waiting list (first at the top; double-click or "Take" answers).
// Middle: the chat, with internal notes, canned replies and wrap-up. Right:
// the screen pop (customer, context, earlier contacts) and the team (staff
// directory with presence, one-to-one staff chat). Everything live arrives
// on the hub socket; the lists are read over REST.

import { t, fmtDateTime, fmtRelative, fmtWait } from '../lib/i18n.js';
import { api, errorMessage } from '../lib/api.js';
import { h, clear, button, icon, badge, avatar, openDialog, toast, field } from '../lib/ui.js';
import { Hub, clientId } from '../lib/hub.js';
import { renderText, presenceDot, fillCanned, ensureCss, beep, ticker } from '../lib/chatui.js';
import { followupsSection } from '../lib/followups.js';
import { Cobrowse, replayButton } from '../lib/cobrowse.js';
import { ConsoleCall } from '../lib/call.js';

const WAITING_POLL_MS = 5000;
const TEAM_POLL_MS = 30000;

export async function render(root, ctx) {
	ensureCss('/static/admin/console.css');
	ctx.setTitle(t('console.title'));
	document.body.classList.add('body--console');
	const me = ctx.me;
	const hub = new Hub();
	const S = {
		state: 'offline', reason: null, since: null,
		offers: new Map(), invites: new Map(), chats: new Map(), active: null,
		waiting: [], codes: [], reasons: [], canned: [], queues: [], team: [],
		side: 'customer', dmWith: null, dm: [],
	};

	// ------------------------------------------------------------ layout
	const live = h('div', { class: 'sr-only', role: 'status', 'aria-live': 'assertive', id: 'console-live' });
	const stateSel = h('select', { id: 'agent-state', class: 'select console__state-select' });
	const stateSince = h('span', { class: 'console__since muted' });
	const conn = h('span', { class: 'console__conn', id: 'console-conn' });
	const offersBox = h('div', { class: 'console__offers', id: 'offers' });
	const chatsList = h('ul', { class: 'chatlist', id: 'my-chats', 'aria-labelledby': 'my-chats-h' });
	const waitingList = h('ul', { class: 'waitlist', id: 'waiting', 'aria-labelledby': 'waiting-h',
	    'aria-describedby': 'waiting-hint' });
	const pane = h('section', { class: 'console__pane', id: 'chat-pane', 'aria-label': t('console.chat') });
	const sideTabs = h('div', { class: 'console__tabs', role: 'tablist', 'aria-label': t('console.details') });
	const sideBody = h('div', { class: 'console__side-body', role: 'tabpanel', id: 'side-panel', tabIndex: 0 });

	root.append(
	    h('div', { class: 'console' },
		h('header', { class: 'console__bar' },
		    h('h1', { class: 'console__title' }, t('console.title')),
		    h('div', { class: 'console__state' },
			h('label', { for: 'agent-state', class: 'console__state-label' }, t('console.myState')),
			stateSel, stateSince),
		    h('span', { class: 'topbar__spacer' }), conn),
		h('aside', { class: 'console__lists', 'aria-label': t('console.lists') },
		    offersBox,
		    h('section', { class: 'console__block' },
			h('h2', { class: 'console__h', id: 'my-chats-h' }, t('console.myChats')), chatsList),
		    h('section', { class: 'console__block' },
			h('h2', { class: 'console__h', id: 'waiting-h' }, t('console.waiting')),
			h('p', { class: 'console__hint muted', id: 'waiting-hint' }, t('console.waitingHint')),
			waitingList),
		    followupsSection({ hub, transcript: (x) => transcriptDialog(x), open: (id) => joinedChat(id) })),
		pane,
		h('aside', { class: 'console__side', 'aria-label': t('console.details') }, sideTabs, sideBody)),
	    live);

	const announce = (msg) => {
		live.textContent = '';
		setTimeout(() => { live.textContent = msg; }, 30);
	};
	// Co-browsing (issue 5): the live view of the customer's page.
	const cobrowse = new Cobrowse(hub, { announce, customerName: (id) => S.chats.get(id)?.customer,
	    onToggle: (conv) => { if (conv === S.active) drawPaneHeader(); } });
	// In the grid: docked beside the chat on wide screens (console.css).
	root.querySelector('.console').append(cobrowse.el);
	// Calls (issue 4): voice and video with the customer, through the relay.
	const calls = new ConsoleCall(hub, { announce, me: me.id, customerName: (id) => S.chats.get(id)?.customer,
	    onChange: (conv) => { if (conv === S.active) drawPaneHeader(); } });
	root.append(calls.el);

	// ------------------------------------------------------------ state
	function drawStateSelect() {
		clear(stateSel);
		stateSel.append(h('option', { value: 'ready' }, t('console.state.ready')));
		const grp = h('optgroup', { label: t('console.state.notReady') });
		const reasons = S.reasons.length ? S.reasons : [{ id: 0, name: t('console.state.noReason') }];
		for (const r of reasons)
			grp.append(h('option', { value: `not_ready:${r.name}` }, r.name));
		if (S.state === 'not_ready' && S.reason && !reasons.some((r) => r.name === S.reason))
			grp.append(h('option', { value: `not_ready:${S.reason}` }, S.reason));
		stateSel.append(grp);
		if (S.state === 'wrapup')
			stateSel.append(h('option', { value: 'wrapup', disabled: true }, t('console.state.wrapup')));
		stateSel.append(h('option', { value: 'offline' }, t('console.state.offline')));
		stateSel.value = S.state === 'not_ready' ? `not_ready:${S.reason || reasons[0].name}` : S.state;
		stateSel.dataset.state = S.state;
	}
	stateSel.addEventListener('change', () => {
		const [state, ...rest] = stateSel.value.split(':');
		const reason = rest.join(':') || null;
		hub.send(state === 'not_ready' ? { type: 'state', state, reason } : { type: 'state', state });
		S.state = state;
		S.reason = reason;
		S.since = new Date().toISOString();
		drawStateSelect();
		drawSince();
		if (!S.active)
			drawPane();
	});
	function drawSince() {
		stateSince.textContent = S.since ? t('console.since', { time: fmtWait(Math.max(0,
		    (Date.now() - Date.parse(S.since)) / 1000)) }) : '';
	}

	hub.on('connection', ({ up }) => {
		conn.textContent = up ? t('console.online') : t('console.reconnecting');
		conn.classList.toggle('is-down', !up);
	});
	hub.on('state', async () => {
		await refreshMine();
		stateSel.dataset.confirmed = S.state;
	});
	hub.on('error', (f) => {
		const known = `console.err.${f.code}`;
		toast(t(known) !== known ? t(known) : (f.message || t('state.error')), 'error');
	});

	// ------------------------------------------------------------ offers and invitations
	function drawOffers() {
		clear(offersBox);
		const now = Date.now();
		for (const [conv, o] of S.offers) {
			const left = Math.max(0, Math.round((Date.parse(o.expires_at) - now) / 1000));
			offersBox.append(h('article', { class: 'offer', 'aria-labelledby': `offer-${conv}-h`, dataset: { conv } },
			    h('div', { class: 'offer__ring', 'aria-hidden': 'true' }, icon('inbox')),
			    h('div', { class: 'offer__text' },
				h('h2', { class: 'offer__title', id: `offer-${conv}-h` },
				    o.transfer_from ? t('console.offerTransfer', { name: o.transfer_from }) : t('console.offerNew')),
				h('p', { class: 'offer__who' }, o.customer || t('console.customer')),
				o.preview ? h('p', { class: 'offer__preview' }, `“${o.preview}”`) : null,
				h('p', { class: 'offer__meta muted' }, [o.queue, t('console.expiresIn', { s: left })].filter(Boolean).join(' · '))),
			    h('div', { class: 'offer__actions' },
				button(t('console.accept'), { kind: 'primary', size: 'sm', attrs: { 'data-action': 'accept' },
				    onClick: () => hub.send({ type: 'accept', conversation_id: conv }) }),
				button(t('console.decline'), { kind: 'ghost', size: 'sm', attrs: { 'data-action': 'decline' },
				    onClick: () => { S.offers.delete(conv); drawOffers(); hub.send({ type: 'decline', conversation_id: conv }); } }))));
		}
		for (const [conv, inv] of S.invites) {
			offersBox.append(h('article', { class: 'offer offer--invite', dataset: { conv } },
			    h('div', { class: 'offer__ring', 'aria-hidden': 'true' }, icon('users')),
			    h('div', { class: 'offer__text' },
				h('h2', { class: 'offer__title' }, t('console.inviteFrom', { name: inv.from.name })),
				h('p', { class: 'offer__who' }, inv.customer)),
			    h('div', { class: 'offer__actions' },
				button(t('console.join'), { kind: 'primary', size: 'sm', attrs: { 'data-action': 'join' },
				    onClick: () => { S.invites.delete(conv); drawOffers(); hub.send({ type: 'join', conversation_id: conv }); } }),
				button(t('console.dismiss'), { kind: 'ghost', size: 'sm',
				    onClick: () => { S.invites.delete(conv); drawOffers(); } }))));
		}
	}
	hub.on('offer', async (f) => {
		const o = { expires_at: f.expires_at, transfer_from: f.transfer_from };
		S.offers.set(f.conversation_id, o);
		drawOffers();
		beep();
		try {
			const c = await api.get(`/api/console/conversations/${f.conversation_id}`);
			o.customer = c.customer.name;
			o.queue = c.queue?.name;
			const w = S.waiting.find((x) => x.id === f.conversation_id);
			o.preview = w?.preview;
			drawOffers();
		} catch { /* it may have gone already */ }
		announce(t('console.offerAnnounce', { name: o.customer || t('console.customer') }));
	});
	hub.on('invite', (f) => {
		S.invites.set(f.conversation_id, f);
		drawOffers();
		beep();
		announce(t('console.inviteFrom', { name: f.from.name }));
	});
	hub.on('declined', (f) => { S.offers.delete(f.conversation_id); drawOffers(); });
	hub.on('offer_gone', (f) => {
		if (S.offers.delete(f.conversation_id)) {
			drawOffers();
			announce(t('console.offerWithdrawn'));
		}
		refreshWaiting();
	});

	// ------------------------------------------------------------ chats
	function chat(conv) {
		if (!S.chats.has(conv))
			S.chats.set(conv, { id: conv, items: new Map(), notes: new Map(), unread: 0,
			    status: 'open', role: 'agent', customer: null, info: null, typing: 0, draft: '', note: false });
		return S.chats.get(conv);
	}

	function joinedChat(conv, role = 'agent') {
		S.offers.delete(conv);
		drawOffers();
		const c = chat(conv);
		c.role = role;
		c.status = 'open';
		// The backlog came before this confirmation, when the chat was not
		// ours yet: replay it (duplicates are dropped by seq).
		hub.subscribe(conv);
		loadInfo(c);
		activate(conv);
		refreshWaiting();
	}
	hub.on('accepted', (f) => joinedChat(f.conversation_id));
	hub.on('joined', (f) => joinedChat(f.conversation_id, 'guest'));
	hub.on('transferred', (f) => dropChat(f.conversation_id, t('console.transferredAway')));
	hub.on('left', (f) => dropChat(f.conversation_id));
	hub.on('finished', (f) => {
		// A follow-up has no wrap-up: its tab closes.
		if (f.followup)
			return dropChat(f.conversation_id, t('followups.closed'));
		const c = S.chats.get(f.conversation_id);
		if (c) {
			c.status = 'closed';
			drawChats();
			if (S.active === c.id)
				drawPane();
			// The customer ended it: the agent wraps up as usual.
			if (f.by === 'customer')
				toast(t('console.customerEnded', { name: c.customer || t('console.customer') }), 'info');
		}
	});
	hub.on('wrapped', (f) => dropChat(f.conversation_id, t('console.wrappedUp')));

	function dropChat(conv, msg) {
		if (!S.chats.has(conv))
			return;
		S.chats.delete(conv);
		hub.unsubscribe(conv);
		if (S.active === conv)
			S.active = S.chats.keys().next().value ?? null;
		drawChats();
		drawPane();
		drawSide();
		if (msg)
			toast(msg, 'info');
	}

	async function loadInfo(c) {
		try {
			c.info = await api.get(`/api/console/conversations/${c.id}`);
			c.customer = c.info.customer.name;
			c.status = c.info.status;
			drawChats();
			if (S.active === c.id) {
				drawPaneHeader();
				drawSide();
			}
		} catch (err) {
			if (err?.status === 404)
				dropChat(c.id);
		}
	}

	hub.on('message', (f) => {
		const c = S.chats.get(f.conversation_id);
		if (!c || c.items.has(`m${f.seq}`))
			return;
		c.items.set(`m${f.seq}`, f);
		if (f.sender?.kind === 'customer')
			c.typing = 0;
		if (S.active !== c.id && f.sender?.id !== me.id)
			c.unread += 1;
		if (S.active === c.id) {
			appendItem(c, f);
			markRead(c);
		}
		drawChats();
	});
	hub.on('note', (f) => {
		const c = S.chats.get(f.conversation_id);
		if (!c || c.items.has(`n${f.id}`))
			return;
		c.items.set(`n${f.id}`, f);
		if (S.active === c.id)
			appendItem(c, f);
		else if (f.kind === 'whisper')
			c.unread += 1;
		if (f.kind === 'whisper' && f.sender.id !== me.id)
			announce(t('console.whisperFrom', { name: f.sender.name }));
		drawChats();
	});
	hub.on('typing', (f) => {
		const c = S.chats.get(f.conversation_id);
		if (!c || f.sender?.kind !== 'customer')
			return;
		c.typing = Date.now();
		if (S.active === c.id)
			drawTyping();
	});

	function drawChats() {
		clear(chatsList);
		if (!S.chats.size) {
			chatsList.append(h('li', { class: 'chatlist__empty muted' }, t('console.noChats')));
			return;
		}
		for (const c of S.chats.values()) {
			const sel = S.active === c.id;
			chatsList.append(h('li', null, h('button', {
				type: 'button', class: ['chatlist__item', sel ? 'is-active' : ''],
				'aria-current': sel ? 'true' : null, dataset: { conv: c.id },
				onClick: () => activate(c.id),
			}, avatar(c.customer || '?', 'avatar--sm'),
			h('span', { class: 'chatlist__name' }, c.customer || t('console.customer')),
			c.status === 'closed' ? badge(t('console.closed'), 'neutral') :
			    c.role !== 'agent' ? badge(t(`console.role.${c.role}`), 'info') : null,
			c.unread ? h('span', { class: 'chatlist__unread', dataset: { unread: c.unread } },
			    h('span', { 'aria-hidden': 'true' }, String(c.unread)),
			    h('span', { class: 'sr-only' }, t('console.unread', { count: c.unread, n: c.unread }))) : null)));
		}
	}

	function activate(conv) {
		const prev = S.chats.get(S.active);
		if (prev)
			prev.draft = pane.querySelector('#composer-text')?.value ?? prev.draft;
		S.active = conv;
		const c = S.chats.get(conv);
		if (c)
			c.unread = 0;
		drawChats();
		drawPane();
		markRead(c);
		S.side = 'customer';
		drawSide();
	}

	// ------------------------------------------------------------ the chat pane
	let logEl = null, typingEl = null, headerEl = null, logRO = null;

	function drawPane() {
		clear(pane);
		const c = S.chats.get(S.active);
		if (!c) {
			pane.append(h('div', { class: 'console__empty' }, icon('inbox', 'console__empty-icon'),
			    h('h2', null, t('console.noChatTitle')),
			    h('p', { class: 'muted' }, S.state === 'ready' ? t('console.noChatReady') : t('console.noChatNotReady'))));
			return;
		}
		headerEl = h('div', { class: 'chathead' });
		logEl = h('div', { class: 'chatlog', role: 'log', 'aria-label': t('console.transcriptOf', { name: c.customer || '' }), tabIndex: 0, id: 'chat-log' });
		typingEl = h('p', { class: 'chatlog__typing muted', 'aria-live': 'polite' });
		pane.append(headerEl, logEl, typingEl);
		drawPaneHeader();
		const items = [...c.items.values()].sort(order);
		for (const f of items)
			logEl.append(itemEl(f));
		logEl.scrollTop = logEl.scrollHeight;
		// A log read at its end stays at its end when its box changes (a
		// call or the customer's page docking beside it rewraps the lines).
		// (console.css turns scroll anchoring off for it: this pins it.)
		const log = logEl;
		let pinned = true, top = log.scrollTop;
		log.addEventListener('scroll', () => {
			// A box that changed size fires "scroll" with the same
			// scrollTop: only a real move pins or unpins.
			if (log.scrollTop === top)
				return;
			top = log.scrollTop;
			pinned = log.scrollHeight - top - log.clientHeight < 80;
		});
		logRO?.disconnect();
		logRO = new ResizeObserver(() => {
			if (!pinned)
				return;
			log.scrollTop = log.scrollHeight;
			top = log.scrollTop;
		});
		logRO.observe(log);
		drawTyping();
		pane.append(c.status === 'closed' ? wrapupForm(c) : composer(c));
	}

	function order(a, b) {
		return Date.parse(a.at) - Date.parse(b.at) || (a.seq ?? 0) - (b.seq ?? 0);
	}

	function drawPaneHeader() {
		const c = S.chats.get(S.active);
		if (!c || !headerEl)
			return;
		clear(headerEl);
		const actions = h('div', { class: 'chathead__actions' });
		if (c.status === 'open') {
			if (c.role === 'agent') {
				actions.append(...calls.action(c), cobrowse.action(c));
				actions.append(button(t('console.transfer'), { size: 'sm', id: 'chat-transfer', onClick: () => transferDialog(c) }),
				    button(t('console.invite'), { size: 'sm', id: 'chat-invite', onClick: () => inviteDialog(c) }),
				    button(t('console.finish'), { size: 'sm', kind: 'danger', id: 'chat-finish', onClick: () => finishChat(c) }));
			} else {
				actions.append(button(t('console.leave'), { size: 'sm', id: 'chat-leave',
				    onClick: () => hub.send({ type: 'leave', conversation_id: c.id }) }));
			}
		}
		headerEl.append(avatar(c.customer || '?'),
		    h('div', { class: 'chathead__text' },
			h('h2', { class: 'chathead__name', id: 'chat-title' }, c.customer || t('console.customer')),
			h('p', { class: 'chathead__meta muted' }, [c.info?.queue?.name, c.info?.site?.name,
			    c.status === 'closed' ? t('console.closed') : null].filter(Boolean).join(' · '))),
		    actions);
	}

	function itemEl(f) {
		if (f.type === 'note') {
			const whisper = f.kind === 'whisper';
			return h('div', { class: ['msg', whisper ? 'msg--whisper' : 'msg--note'], dataset: { note: f.id } },
			    h('div', { class: 'msg__label' }, whisper ? t('console.whisperFrom', { name: f.sender.name }) :
				t('console.noteBy', { name: f.sender.name })),
			    h('div', { class: 'msg__body' }, renderText(f.text)),
			    h('time', { class: 'msg__time', datetime: f.at }, fmtDateTime(f.at)));
		}
		const kind = f.sender?.kind;
		if (kind === 'system')
			return h('div', { class: 'msg msg--system', dataset: { seq: f.seq } }, h('span', null, f.text),
			    replayButton(f), h('time', { class: 'msg__time', datetime: f.at }, fmtDateTime(f.at)));
		const mine = kind === 'staff' && f.sender.id === me.id;
		return h('div', { class: ['msg', kind === 'customer' ? 'msg--customer' : 'msg--staff', mine ? 'msg--mine' : ''], dataset: { seq: f.seq } },
		    h('div', { class: 'msg__label' }, kind === 'customer' ? (S.chats.get(f.conversation_id)?.customer || t('console.customer')) :
			(mine ? t('console.you') : f.sender.name)),
		    h('div', { class: 'msg__body' }, renderText(f.text)),
		    f.meta?.file ? fileCard(f.meta.file) : null,
		    h('time', { class: 'msg__time', datetime: f.at }, fmtDateTime(f.at)));
	}

	function fileCard(file) {
		return h('a', { class: 'msg__file', href: `/api/files/${encodeURIComponent(file.id)}`, download: file.name || '' },
		    icon('audit'), h('span', null, file.name || t('console.file')));
	}

	function appendItem(c, f) {
		if (!logEl)
			return;
		const near = logEl.scrollHeight - logEl.scrollTop - logEl.clientHeight < 80;
		const el = itemEl(f);
		const last = [...c.items.values()].sort(order).at(-1);
		if (last === f)
			logEl.append(el);
		else
			drawPane();
		if (near || f.sender?.id === me.id)
			logEl.scrollTop = logEl.scrollHeight;
		drawTyping();
	}

	// The agent has this chat on screen: tell the customer how far it is read.
	function markRead(c) {
		if (!c || c.role === 'supervisor' || c.status !== 'open' || document.hidden)
			return;
		let top = 0;
		for (const f of c.items.values())
			if (f.type === 'message' && f.sender?.kind === 'customer' && f.seq > top)
				top = f.seq;
		if (top > (c.readSent || 0)) {
			c.readSent = top;
			hub.send({ type: 'read', conversation_id: c.id, seq: top });
		}
	}
	document.addEventListener('visibilitychange', () => markRead(S.chats.get(S.active)));

	function drawTyping() {
		const c = S.chats.get(S.active);
		if (!typingEl || !c)
			return;
		const on = c.typing && Date.now() - c.typing < 4000;
		typingEl.textContent = on ? t('console.typing', { name: c.customer || t('console.customer') }) : '';
	}

	function composer(c) {
		const ta = h('textarea', { id: 'composer-text', class: 'composer__text', rows: 2, maxLength: 4000,
		    'aria-describedby': 'composer-hint', placeholder: t('console.composerPlaceholder') });
		ta.value = c.draft || '';
		const noteBox = h('input', { type: 'checkbox', id: 'composer-note', checked: c.note });
		const form = h('form', { class: ['composer', c.note ? 'composer--note' : ''], id: 'composer' },
		    h('label', { for: 'composer-text', class: 'sr-only' }, t('console.message')),
		    ta,
		    h('div', { class: 'composer__row' },
			h('label', { class: 'composer__toggle' }, noteBox, h('span', null, t('console.internalNote'))),
			button(t('console.canned'), { size: 'sm', kind: 'ghost', id: 'composer-canned', onClick: () => cannedDialog(c, ta) }),
			h('span', { class: 'composer__hint muted', id: 'composer-hint' }, t('console.composerHint')),
			h('span', { class: 'topbar__spacer' }),
			button(t('console.send'), { kind: 'primary', size: 'sm', type: 'submit', id: 'composer-send' })));
		noteBox.addEventListener('change', () => {
			c.note = noteBox.checked;
			form.classList.toggle('composer--note', c.note);
		});
		let lastTyping = 0;
		ta.addEventListener('input', () => {
			c.draft = ta.value;
			if (!c.note && Date.now() - lastTyping > 2500) {
				lastTyping = Date.now();
				hub.send({ type: 'typing', conversation_id: c.id });
			}
		});
		ta.addEventListener('keydown', (e) => {
			if ((e.key === 'Tab' || e.key === 'Enter') && !e.shiftKey && /^\/\S+$/.test(ta.value)) {
				const r = S.canned.find((x) => x.shortcut && `/${x.shortcut}` === ta.value);
				if (r) {
					e.preventDefault();
					ta.value = fillCanned(r.body, { customer: c.customer, agent: me.name, site: c.info?.site?.name });
					c.draft = ta.value;
					return;
				}
			}
			if (e.key === 'Enter' && !e.shiftKey) {
				e.preventDefault();
				form.requestSubmit();
			}
		});
		form.addEventListener('submit', (e) => {
			e.preventDefault();
			const text = ta.value.trim();
			if (!text)
				return;
			hub.send({ type: c.note ? 'note' : 'send', conversation_id: c.id, client_id: clientId(), text });
			ta.value = '';
			c.draft = '';
			ta.focus();
		});
		return form;
	}

	function cannedDialog(c, ta) {
		const search = field({ id: 'canned-search', label: t('console.cannedSearch'), type: 'search' });
		const list = h('ul', { class: 'canned-list', id: 'canned-list' });
		const draw = () => {
			clear(list);
			const q = search.input.value.trim().toLowerCase();
			const items = S.canned.filter((r) => !q || r.title.toLowerCase().includes(q) ||
			    (r.shortcut || '').toLowerCase().includes(q) || r.body.toLowerCase().includes(q));
			if (!items.length)
				list.append(h('li', { class: 'muted' }, S.canned.length ? t('console.cannedNone') : t('console.cannedEmpty')));
			for (const r of items)
				list.append(h('li', null, h('button', { type: 'button', class: 'canned-item', onClick: () => {
					ta.value = fillCanned(r.body, { customer: c.customer, agent: me.name, site: c.info?.site?.name });
					c.draft = ta.value;
					dlg.close();
					setTimeout(() => ta.focus(), 0);
				} }, h('span', { class: 'canned-item__title' }, r.title, r.shortcut ? h('kbd', null, `/${r.shortcut}`) : null),
				h('span', { class: 'canned-item__body muted' }, r.body))));
		};
		search.input.addEventListener('input', draw);
		draw();
		const dlg = openDialog({ title: t('console.canned'), content: h('div', { class: 'form-stack' }, search.el, list) });
	}

	function finishChat(c) {
		hub.send({ type: 'finish', conversation_id: c.id });
	}

	function wrapupForm(c) {
		if (c.role !== 'agent')
			return h('p', { class: 'composer composer--closed muted' }, t('console.ended'));
		const sel = field({ id: 'wrapup-code', kind: 'select', label: t('console.wrapupCode'), required: S.codes.length > 0,
		    options: [{ value: '', label: t('console.wrapupChoose') }, ...S.codes.map((x) => ({ value: String(x.id), label: x.name }))] });
		const note = field({ id: 'wrapup-note', kind: 'textarea', label: t('console.wrapupNote'), attrs: { maxLength: 1000, rows: 2 } });
		const form = h('form', { class: 'wrapup', id: 'wrapup-form', novalidate: true },
		    h('h3', { class: 'wrapup__title' }, t('console.wrapupTitle')),
		    h('div', { class: 'wrapup__fields' }, sel.el, note.el),
		    h('div', { class: 'wrapup__actions' }, button(t('console.wrapupSave'), { kind: 'primary', type: 'submit', id: 'wrapup-save' })));
		form.addEventListener('submit', (e) => {
			e.preventDefault();
			if (S.codes.length && !sel.input.value) {
				sel.setError(t('console.wrapupRequired'));
				sel.input.focus();
				return;
			}
			const frame = { type: 'wrapup', conversation_id: c.id };
			if (sel.input.value)
				frame.code_id = Number(sel.input.value);
			if (note.input.value.trim())
				frame.note = note.input.value.trim();
			hub.send(frame);
		});
		return form;
	}

	function pickColleague(label, id) {
		const opts = S.team.filter((m) => m.presence !== 'offline').concat(S.team.filter((m) => m.presence === 'offline'));
		return field({ id, kind: 'select', label, required: true,
		    options: [{ value: '', label: t('console.chooseColleague') },
			...opts.map((m) => ({ value: String(m.id), label: `${m.name} — ${t(`presence.${m.presence}`)}` }))] });
	}

	async function transferDialog(c) {
		await Promise.all([refreshTeam(), refreshQueues()]);
		const toUser = pickColleague(t('console.transferToAgent'), 'transfer-user');
		const toQueue = field({ id: 'transfer-queue', kind: 'select', label: t('console.transferToQueue'),
		    options: [{ value: '', label: t('console.chooseQueue') }, ...S.queues.map((q) => ({ value: String(q.id),
			label: t('console.queueWaiting', { name: q.name, n: q.waiting }) }))] });
		openDialog({
			title: t('console.transferTitle', { name: c.customer || '' }),
			description: t('console.transferHelp'),
			content: h('div', { class: 'form-stack' }, toUser.el, h('p', { class: 'divider-or' }, t('console.or')), toQueue.el),
			submitLabel: t('console.transfer'), submitId: 'transfer-submit',
			onSubmit: (dlg) => {
				const u = Number(toUser.input.value), q = Number(toQueue.input.value);
				if (!u === !q) {
					dlg.setError(t('console.transferPickOne'));
					return false;
				}
				hub.send(u ? { type: 'transfer', conversation_id: c.id, user_id: u } :
				    { type: 'transfer', conversation_id: c.id, queue_id: q });
				return true;
			},
		});
	}

	async function inviteDialog(c) {
		await refreshTeam();
		const who = pickColleague(t('console.inviteWho'), 'invite-user');
		openDialog({
			title: t('console.inviteTitle'), description: t('console.inviteHelp'),
			content: h('div', { class: 'form-stack' }, who.el),
			submitLabel: t('console.invite'), submitId: 'invite-submit',
			onSubmit: (dlg) => {
				if (!who.input.value) {
					dlg.setError(t('console.chooseColleague'));
					return false;
				}
				hub.send({ type: 'invite', conversation_id: c.id, user_id: Number(who.input.value) });
				return true;
			},
		});
	}
	hub.on('invited', () => toast(t('console.invited')));

	// ------------------------------------------------------------ waiting list
	function drawWaiting() {
		clear(waitingList);
		if (!S.waiting.length) {
			waitingList.append(h('li', { class: 'waitlist__empty muted' }, t('console.nobodyWaiting')));
			return;
		}
		S.waiting.forEach((w, i) => {
			const take = () => hub.send({ type: 'take', conversation_id: w.id });
			const li = h('li', { class: ['waitlist__item', w.offered_to_me ? 'is-mine' : ''], tabIndex: 0,
			    dataset: { conv: w.id }, 'aria-label': t('console.waitingItem', { pos: i + 1, name: w.customer,
				wait: fmtWait((Date.now() - Date.parse(w.queued_at)) / 1000) }) },
			h('span', { class: 'waitlist__pos', 'aria-hidden': 'true' }, String(i + 1)),
			h('span', { class: 'waitlist__text', 'aria-hidden': 'true' },
			    h('span', { class: 'waitlist__name' }, w.customer),
			    h('span', { class: 'waitlist__meta muted' }, [w.queue, fmtWait((Date.now() - Date.parse(w.queued_at)) / 1000)].filter(Boolean).join(' · ')),
			    w.preview ? h('span', { class: 'waitlist__preview' }, w.preview) : null),
			button(t('console.take'), { size: 'sm', kind: 'ghost', srSuffix: w.customer, attrs: { 'data-action': 'take' }, onClick: take }));
			li.addEventListener('dblclick', take);
			li.addEventListener('keydown', (e) => {
				if (e.key === 'Enter' && e.target === li)
					take();
			});
			waitingList.append(li);
		});
	}
	async function refreshWaiting() {
		try {
			S.waiting = (await api.get('/api/console/waiting')).items || [];
			drawWaiting();
			// An offer made while this page was away still rings here.
			let added = false;
			for (const w of S.waiting) {
				if (w.offered_to_me && w.offer_expires_at && !S.offers.has(w.id) &&
				    Date.parse(w.offer_expires_at) > Date.now()) {
					S.offers.set(w.id, { expires_at: w.offer_expires_at, customer: w.customer,
					    queue: w.queue, preview: w.preview });
					added = true;
				}
			}
			if (added)
				drawOffers();
		} catch { /* shown as stale; the next poll retries */ }
	}

	// ------------------------------------------------------------ side: customer and team
	function drawSide() {
		clear(sideTabs);
		for (const k of ['customer', 'team']) {
			const sel = S.side === k;
			const tab = h('button', { type: 'button', role: 'tab', id: `side-tab-${k}`, class: 'console__tab',
			    'aria-selected': String(sel), 'aria-controls': 'side-panel', tabIndex: sel ? 0 : -1,
			    onClick: () => { S.side = k; drawSide(); if (k === 'team') refreshTeam().then(drawSide); } },
			t(`console.side.${k}`), k === 'team' && S.team.some((m) => m.unread) ?
			    h('span', { class: 'chatlist__unread' }, String(S.team.reduce((n, m) => n + Number(m.unread || 0), 0))) : null);
			tab.addEventListener('keydown', (e) => {
				if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
					S.side = S.side === 'customer' ? 'team' : 'customer';
					drawSide();
					sideTabs.querySelector('[aria-selected="true"]').focus();
				}
			});
			sideTabs.append(tab);
		}
		sideBody.setAttribute('aria-labelledby', `side-tab-${S.side}`);
		clear(sideBody);
		if (S.side === 'customer')
			drawCustomer();
		else
			drawTeam();
	}

	function dl(rows) {
		return h('dl', { class: 'facts' }, rows.filter((r) => r[1] !== null && r[1] !== undefined && r[1] !== '')
		    .map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
	}

	function drawCustomer() {
		const c = S.chats.get(S.active);
		if (!c || !c.info) {
			sideBody.append(h('p', { class: 'muted' }, t('console.noCustomer')));
			return;
		}
		const cu = c.info.customer, cx = c.info.context || {};
		sideBody.append(h('section', { class: 'pop' },
		    h('h3', { class: 'pop__h' }, t('console.customer')),
		    h('div', { class: 'pop__who' }, avatar(cu.name), h('div', null, h('p', { class: 'pop__name' }, cu.name),
			cu.email ? h('p', { class: 'muted' }, cu.email) : null)),
		    dl([[t('console.externalId'), cu.external_id], [t('console.importance'), cu.importance],
			[t('console.customerSince'), cu.since ? fmtDateTime(cu.since) : null],
			[t('console.correlation'), cu.correlation_id]])));
		const ctxRows = [[t('console.ctx.page'), cx.page?.title || cx.page?.url || cx.url],
		    [t('console.ctx.device'), [cx.device, cx.os, cx.browser].filter(Boolean).join(' · ')],
		    [t('console.ctx.language'), cx.language], [t('console.ctx.timezone'), cx.timezone || cx.time_zone],
		    [t('console.ctx.screen'), cx.screen]];
		const pages = Array.isArray(cx.pages) ? cx.pages : [];
		sideBody.append(h('section', { class: 'pop' }, h('h3', { class: 'pop__h' }, t('console.context')),
		    ctxRows.some((r) => r[1]) ? dl(ctxRows) : h('p', { class: 'muted' }, t('console.noContext')),
		    pages.length ? h('details', { class: 'pop__pages' }, h('summary', null, t('console.pagesVisited', { n: pages.length })),
			h('ol', null, pages.map((p) => h('li', null, p.title || p.url, p.url ? h('span', { class: 'muted' }, ` ${p.url}`) : null)))) : null));
		const hist = c.info.history || [];
		sideBody.append(h('section', { class: 'pop' }, h('h3', { class: 'pop__h' }, t('console.history', { n: hist.length })),
		    hist.length ? h('ul', { class: 'history' }, hist.map((x) => h('li', null, h('button', { type: 'button', class: 'history__item',
			onClick: () => transcriptDialog(x) },
		    h('span', { class: 'history__when' }, fmtDateTime(x.created_at)),
		    h('span', { class: 'history__meta muted' }, [x.agent, t('console.messagesN', { count: Number(x.messages), n: x.messages })].filter(Boolean).join(' · ')),
		    x.preview ? h('span', { class: 'history__preview' }, x.preview) : null)))) :
			h('p', { class: 'muted' }, t('console.firstContact'))));
	}

	async function transcriptDialog(x) {
		const body = h('div', { class: 'chatlog chatlog--static', 'aria-label': t('console.transcript') });
		openDialog({ title: t('console.transcriptTitle', { when: fmtDateTime(x.created_at) }), content: body, size: 'lg' });
		try {
			const tr = await api.get(`/api/console/conversations/${x.id}/transcript`);
			for (const f of [...tr.messages, ...tr.notes].sort(order))
				body.append(itemEl(f));
		} catch (err) {
			body.append(h('p', { role: 'alert' }, errorMessage(err)));
		}
	}

	function drawTeam() {
		if (S.dmWith) {
			drawDm();
			return;
		}
		const q = h('input', { type: 'search', id: 'team-search', class: 'input', placeholder: t('console.teamSearch'),
		    'aria-label': t('console.teamSearch') });
		const list = h('ul', { class: 'team', id: 'team-list' });
		const draw = () => {
			clear(list);
			const s = q.value.trim().toLowerCase();
			for (const m of S.team.filter((x) => !s || x.name.toLowerCase().includes(s) || (x.units || '').toLowerCase().includes(s)))
				list.append(h('li', null, h('button', { type: 'button', class: 'team__item', dataset: { user: m.id },
				    onClick: () => openDm(m) },
				presenceDot(m.presence), h('span', { class: 'team__name' }, m.name,
				    h('span', { class: 'sr-only' }, `, ${t(`presence.${m.presence}`)}`)),
				h('span', { class: 'team__meta muted' }, [t(`presence.${m.presence}`), m.reason, m.units].filter(Boolean).join(' · ')),
				Number(m.unread) ? h('span', { class: 'chatlist__unread' }, String(m.unread),
				    h('span', { class: 'sr-only' }, ` ${t('console.unreadShort')}`)) : null)));
			if (!list.children.length)
				list.append(h('li', { class: 'muted' }, t('console.teamNone')));
		};
		q.addEventListener('input', draw);
		sideBody.append(q, list);
		draw();
	}

	async function openDm(m) {
		S.dmWith = m;
		S.dm = [];
		drawSide();
		try {
			S.dm = (await api.get(`/api/console/dm/${m.id}`)).items || [];
			m.unread = 0;
		} catch (err) {
			toast(errorMessage(err), 'error');
		}
		if (S.dmWith === m && S.side === 'team')
			drawSide();
	}

	function drawDm() {
		const m = S.dmWith;
		const log = h('div', { class: 'dmlog', role: 'log', 'aria-label': t('console.dmWith', { name: m.name }), id: 'dm-log', tabIndex: 0 },
		    S.dm.map((d) => h('div', { class: ['dm', d.from.id === me.id ? 'dm--mine' : ''] },
			h('span', { class: 'dm__text' }, renderText(d.text)),
			h('time', { class: 'msg__time', datetime: d.at }, fmtRelative(d.at)))));
		const input = h('input', { type: 'text', id: 'dm-text', class: 'input', maxLength: 4000, 'aria-label': t('console.dmMessage', { name: m.name }) });
		const form = h('form', { class: 'dm-compose' }, input, button(t('console.send'), { kind: 'primary', size: 'sm', type: 'submit', id: 'dm-send' }));
		form.addEventListener('submit', (e) => {
			e.preventDefault();
			const text = input.value.trim();
			if (!text)
				return;
			hub.send({ type: 'dm', to: m.id, client_id: clientId('d'), text });
			input.value = '';
		});
		sideBody.append(h('div', { class: 'dm-head' },
		    button(t('console.back'), { size: 'sm', kind: 'ghost', id: 'dm-back', onClick: () => { S.dmWith = null; drawSide(); } }),
		    presenceDot(m.presence), h('h3', { class: 'pop__h' }, m.name)), log, form);
		log.scrollTop = log.scrollHeight;
		setTimeout(() => input.focus(), 0);
	}

	hub.on('dm', (d) => {
		const other = d.from.id === me.id ? d.to : d.from.id;
		if (S.dmWith && S.dmWith.id === other) {
			if (!S.dm.some((x) => x.id === d.id))
				S.dm.push(d);
			if (S.side === 'team')
				drawSide();
			if (d.from.id !== me.id)
				api.get(`/api/console/dm/${other}`).catch(() => {});
			return;
		}
		if (d.from.id !== me.id) {
			const m = S.team.find((x) => x.id === d.from.id);
			if (m)
				m.unread = Number(m.unread || 0) + 1;
			toast(t('console.dmFrom', { name: d.from.name }), 'info');
			drawSide();
		}
	});

	async function refreshTeam() {
		try {
			S.team = (await api.get('/api/console/directory')).items || [];
		} catch { /* keep the last list */ }
	}
	async function refreshQueues() {
		try {
			S.queues = (await api.get('/api/console/queues')).items || [];
		} catch { S.queues = []; }
	}

	// ------------------------------------------------------------ start
	async function refreshMine() {
		const mine = await api.get('/api/console/mine');
		if (mine.state) {
			S.state = mine.state.state;
			S.reason = mine.state.reason;
			S.since = mine.state.since;
		}
		drawStateSelect();
		drawSince();
		return mine;
	}

	const lists = await Promise.allSettled([
		api.get('/api/console/notready-reasons'), api.get('/api/console/wrapup-codes'),
		api.get('/api/console/canned-replies')]);
	S.reasons = lists[0].value?.items?.filter((x) => x.active !== false) || [];
	S.codes = lists[1].value?.items?.filter((x) => x.active !== false) || [];
	S.canned = lists[2].value?.items?.filter((x) => x.active !== false) || [];
	const mine = await refreshMine();
	for (const it of mine.items || []) {
		const c = chat(it.id);
		c.role = it.role;
		c.status = it.status;
		c.customer = it.customer;
		hub.subscribe(it.id);
		loadInfo(c);
	}
	if (!S.active && S.chats.size)
		S.active = S.chats.keys().next().value;
	hub.connect();
	drawOffers();
	drawChats();
	drawPane();
	drawSide();
	await Promise.all([refreshWaiting(), refreshTeam()]);
	drawSide();
	ticker(1000, () => {
		drawSince();
		if (S.offers.size) {
			for (const [conv, o] of S.offers)
				if (Date.parse(o.expires_at) < Date.now() - 1000)
					S.offers.delete(conv);
			drawOffers();
		}
		drawTyping();
	});
	ticker(WAITING_POLL_MS, refreshWaiting);
	ticker(TEAM_POLL_MS, async () => {
		await refreshTeam();
		if (S.side === 'team' && !S.dmWith)
			drawSide();
	});
}
