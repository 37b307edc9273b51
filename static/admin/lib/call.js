// Calls in the agent console (issue 4: W11, W12, W13, S5).
//
// new ConsoleCall(hub, { announce, customerName }) follows the hub's "call"
// frames of the agent's chats; .action(c) gives the chat header's buttons
// (voice call, video call, or "Show call" while one runs). A customer's
// request rings (sound, a panel with Accept / Decline). In a call, a panel
// shows the customer's video (and a screen they share), the self view and:
// mute, camera off, audio only, hold / resume, share my screen (with the
// "You are sharing your screen" bar), snapshot (PNG download), recording
// start / stop when the policy is on_demand (always: it runs from the start,
// never: no button), the network quality and hang up. The WebRTC part is the
// widget's (static/widget/rtc.js): one engine for both sides.

import { t } from './i18n.js';
import { h, clear, button, toast } from './ui.js';
import { beep } from './chatui.js';
import { CallPeer } from '/static/widget/rtc.js';

const QUALITY_MS = 2000;
let seq = 0;
const cid = () => `call-${Date.now().toString(36)}-${++seq}`;

export class ConsoleCall {
	constructor(hub, { announce, customerName, onChange, me }) {
		this.hub = hub;
		this.me = me;
		this.announce = announce;
		this.customerName = customerName;
		this.onChange = onChange || (() => {});
		this.calls = new Map();		// conv → latest state frame
		this.conv = 0;			// the call in the panel
		this.peer = null;
		this.media = {};
		this.sharing = false;
		this.timer = null;
		this.ringer = null;
		this.el = h('section', { class: 'callpanel', id: 'call', hidden: true, 'aria-labelledby': 'call-title' });
		hub.on('call', (f) => this.onFrame(f));
		hub.on('error', (f) => {
			if (typeof f.client_id === 'string' && f.client_id.startsWith('call-'))
				this.peer?.failed();
		});
	}

	send(f) {
		this.hub.send({ ...f, client_id: cid() });
	}

	live(conv) {
		const s = this.calls.get(conv);
		return s && s.state !== 'ended' ? s : null;
	}

	// The chat header's buttons.
	action(c) {
		const s = this.live(c.id);
		if (s) {
			return [button(s.state === 'requested' && s.requested_by?.kind === 'customer' ? t('call.answer') : t('call.show'),
			    { size: 'sm', id: 'chat-call-show', onClick: () => this.show(c.id) })];
		}
		return [
			button(t('call.audio'), { size: 'sm', id: 'chat-call-audio', onClick: () => this.request(c.id, 'audio') }),
			button(t('call.video'), { size: 'sm', id: 'chat-call-video', onClick: () => this.request(c.id, 'video') }),
		];
	}

	request(conv, kind) {
		this.conv = conv;
		this.send({ type: 'call', op: 'request', conversation_id: conv, kind, one_way: false });
	}

	onFrame(f) {
		const conv = f.conversation_id;
		switch (f.op) {
		case 'state':
			this.onState(f);
			break;
		case 'answer':
			if (this.peer && conv === this.conv)
				this.peer.answer(f.sdp).catch(() => toast(t('call.err.media'), 'error'));
			break;
		case 'restart':
			if (this.peer && conv === this.conv)
				this.peer.restart().catch(() => {});
			break;
		case 'supervisors':
			if (this.peer && conv === this.conv && f.supervisors.some((x) => x.mode !== 'monitor'))
				this.peer.needVoice().catch(() => {});
			break;
		case 'media':
			if (conv === this.conv && this.netEl)
				this.netEl.textContent = f.state === 'connected' ? '' : t('call.peerLost');
			break;
		default:
			break;
		}
	}

	onState(s) {
		const conv = s.conversation_id;
		const prev = this.calls.get(conv);
		this.calls.set(conv, s);
		if (s.state === 'requested' && s.requested_by?.kind === 'customer' && prev?.state !== 'requested') {
			this.ring(conv);
		} else if (s.state === 'requested' && s.requested_by?.kind === 'staff' && (!this.conv || this.conv === conv)) {
			this.conv = conv;
			this.open(s);
		} else if (s.state === 'active' && !this.peer && !this.conv &&
		    s.participants.some((p) => p.kind === 'staff' && p.id === this.me)) {
			// The console came back (reload) during my call: rejoin it.
			this.conv = conv;
			this.open(s);
		} else if (s.state === 'active' && conv === this.conv) {
			this.stopRing();
			if (!this.peer)
				this.open(s);
			this.draw();
		} else if (s.state === 'ended') {
			if (conv === this.conv)
				this.end(s);
			else if (this.ringingConv === conv)
				this.stopRing();
		}
		this.onChange(conv);
	}

	// A customer asks for a call: a sound and a panel until answered.
	ring(conv) {
		this.ringingConv = conv;
		this.conv = this.conv || conv;
		beep();
		clearInterval(this.ringer);
		this.ringer = setInterval(() => beep(), 2500);
		const s = this.calls.get(conv);
		this.announce(t('call.ringing', { name: this.customerName(conv) || t('console.customer'),
		    kind: t(s.kind === 'audio' ? 'call.kindAudio' : 'call.kindVideo') }));
		this.drawRing(conv);
	}

	stopRing() {
		clearInterval(this.ringer);
		this.ringer = null;
		this.ringingConv = 0;
	}

	drawRing(conv) {
		const s = this.calls.get(conv);
		clear(this.el);
		this.el.hidden = false;
		this.el.className = 'callpanel callpanel--ring';
		const title = h('h2', { class: 'callpanel__title', id: 'call-title', tabindex: '-1' },
		    t(s.kind === 'audio' ? 'call.incomingAudio' : 'call.incomingVideo', { name: this.customerName(conv) || t('console.customer') }));
		this.el.append(title, h('div', { class: 'callpanel__buttons' },
		    button(t('call.accept'), { kind: 'primary', id: 'call-accept', onClick: () => {
			this.stopRing();
			this.conv = conv;
			this.send({ type: 'call', op: 'accept', call_id: s.call_id });
		    } }),
		    button(t('call.decline'), { id: 'call-decline', onClick: () => {
			this.stopRing();
			this.send({ type: 'call', op: 'decline', call_id: s.call_id });
		    } })));
		title.focus();
	}

	show(conv) {
		const s = this.live(conv);
		if (!s)
			return;
		if (s.state === 'requested' && s.requested_by?.kind === 'customer')
			return this.drawRing(conv);
		this.el.hidden = false;
		this.el.querySelector('h2')?.focus();
	}

	async iceServers() {
		const r = await fetch('/api/turn', { credentials: 'same-origin' });
		return r.ok ? (await r.json()).iceServers || [] : [];
	}

	async open(s) {
		if (this.peer)
			return;
		this.conv = s.conversation_id;
		this.callId = s.call_id;
		this.peer = new CallPeer({
			send: (f) => this.send({ ...f, conversation_id: this.conv }),
			iceServers: () => this.iceServers(),
			onTrack: (role, stream) => { this.media[role] = stream; this.attach(); },
			onState: (st) => { this.netState = st; if (this.netEl) this.netEl.textContent = st === 'failed' ? t('call.peerLost') : ''; },
			onScreenEnded: () => this.stopScreen(),
		});
		this.draw();
		try {
			this.localStream = await this.peer.start(s.call_id, { audio: true, video: s.kind === 'video' });
		} catch {
			toast(t('call.err.devices'), 'error');
			this.send({ type: 'call', op: 'hangup', call_id: s.call_id });
			return;
		}
		this.attach();
	}

	attach() {
		if (!this.remoteVideo)
			return;
		const m = this.media;
		const set = (el, st) => { if (st && el.srcObject !== st) el.srcObject = st; };
		set(this.audioEl, m.audio);
		set(this.voiceEl, m.voice);
		set(this.remoteVideo, m.video);
		set(this.screenVideo, m.screen);
		set(this.self, this.localStream);
	}

	toggle(id, label, what) {
		return button(label, { size: 'sm', id, attrs: { 'aria-pressed': 'false' }, onClick: () => this.flip(what) });
	}

	draw() {
		const s = this.calls.get(this.conv);
		if (!s)
			return;
		if (!this.stage) {
			clear(this.el);
			this.el.hidden = false;
			this.el.className = 'callpanel';
			const v = (attrs) => { const e = h('video', { autoplay: true, playsinline: true, ...attrs }); e.muted = true; return e; };
			this.audioEl = h('audio', { autoplay: true, class: 'sr-only' });
			this.voiceEl = h('audio', { autoplay: true, class: 'sr-only' });
			this.remoteVideo = v({ class: 'callpanel__remote', id: 'call-remote', 'aria-label': t('call.remoteVideo') });
			this.screenVideo = v({ class: 'callpanel__screen', id: 'call-screen', hidden: true, 'aria-labelledby': 'call-screen-label' });
			this.self = v({ class: 'callpanel__self', id: 'call-self', 'aria-label': t('call.selfView') });
			this.titleEl = h('h2', { class: 'callpanel__title', id: 'call-title', tabindex: '-1' });
			this.qualityTip = h('span', { class: 'callpanel__tip', id: 'call-quality-tip', role: 'tooltip' });
			this.qualityEl = h('span', { class: 'callpanel__quality', id: 'call-quality', tabindex: '0',
			    'aria-describedby': 'call-quality-tip' }, h('span', { class: 'callpanel__qtext' }, t('call.quality.unknown')), this.qualityTip);
			this.statusEl = h('p', { class: 'callpanel__status', id: 'call-status', role: 'status' });
			this.netEl = h('p', { class: 'callpanel__net', role: 'status' });
			this.recEl = h('p', { class: 'callpanel__rec', id: 'call-rec', hidden: true }, t('call.recordingOn'));
			this.screenLabel = h('p', { class: 'callpanel__label', id: 'call-screen-label', hidden: true });
			this.sharingBar = h('div', { class: 'callpanel__sharing', id: 'call-sharing', hidden: true, role: 'status' },
			    h('span', null, t('call.youShare')),
			    button(t('call.stopShare'), { size: 'sm', id: 'call-share-stop', onClick: () => this.stopScreen() }));
			this.ctl = {
				mic: this.toggle('call-mute', t('call.mute'), 'mic'),
				cam: this.toggle('call-camera', t('call.cameraOff'), 'cam'),
				audioOnly: this.toggle('call-audio-only', t('call.audioOnly'), 'audioOnly'),
				hold: button(t('call.hold'), { size: 'sm', id: 'call-hold', attrs: { 'aria-pressed': 'false' },
				    onClick: () => this.send({ type: 'call', op: this.calls.get(this.conv).on_hold ? 'unhold' : 'hold',
					call_id: this.callId }) }),
				screen: button(t('call.share'), { size: 'sm', id: 'call-share', onClick: () => this.startScreen() }),
				snap: button(t('call.snapshot'), { size: 'sm', id: 'call-snapshot', onClick: () => this.snapshot() }),
				rec: button(t('call.recordStart'), { size: 'sm', id: 'call-record', onClick: () => this.send({ type: 'call',
				    op: 'record', call_id: this.callId, state: this.calls.get(this.conv).recording ? 'stop' : 'start' }) }),
				hang: button(t('call.hangup'), { size: 'sm', kind: 'danger', id: 'call-hangup',
				    onClick: () => this.send({ type: 'call', op: 'hangup', call_id: this.callId }) }),
			};
			this.stage = h('div', { class: 'callpanel__stage' }, this.remoteVideo, this.self);
			this.el.append(h('div', { class: 'callpanel__head' }, this.titleEl, this.qualityEl),
			    this.sharingBar, this.statusEl, this.recEl, this.netEl, this.stage, this.screenLabel, this.screenVideo,
			    h('div', { class: 'callpanel__controls', role: 'group', 'aria-label': t('call.controls') },
				...Object.values(this.ctl)), this.audioEl, this.voiceEl);
			this.timer = setInterval(() => this.measure(), QUALITY_MS);
		}
		this.callId = s.call_id;
		const name = this.customerName(this.conv) || t('console.customer');
		this.titleEl.textContent = s.state === 'requested' ? t('call.calling', { name }) :
		    t(s.kind === 'audio' ? 'call.inAudio' : 'call.inVideo', { name });
		this.statusEl.textContent = s.state === 'requested' ? t('call.waitingCustomer') : s.on_hold ? t('call.onHold') : '';
		this.recEl.hidden = !s.recording;
		const theirs = s.screen && s.screen.kind === 'customer';
		if (theirs && this.peer && !this.peer.tx.screen)
			this.peer.needScreen().catch(() => {});
		this.screenVideo.hidden = !theirs;
		this.screenLabel.hidden = !theirs;
		this.screenLabel.textContent = theirs ? t('call.theyShare', { name: s.screen.name }) : '';
		this.sharingBar.hidden = !this.sharing;
		const active = s.state === 'active';
		const video = s.kind === 'video';
		this.remoteVideo.hidden = !video || s.one_way;
		this.self.hidden = !video || this.ctl.audioOnly.getAttribute('aria-pressed') === 'true';
		for (const k of ['mic', 'cam', 'audioOnly', 'hold', 'screen', 'snap', 'rec'])
			this.ctl[k].disabled = !active;
		this.ctl.cam.hidden = !video;
		this.ctl.audioOnly.hidden = !video;
		this.ctl.snap.hidden = !video && !theirs;
		this.ctl.screen.disabled = !active || this.sharing || !!theirs;
		this.ctl.hold.setAttribute('aria-pressed', String(!!s.on_hold));
		this.ctl.hold.querySelector('span').textContent = s.on_hold ? t('call.resume') : t('call.hold');
		// Recording: a button only when the policy is on demand.
		this.ctl.rec.hidden = s.recording_policy !== 'on_demand';
		this.ctl.rec.querySelector('span').textContent = s.recording ? t('call.recordStop') : t('call.recordStart');
		this.attach();
	}

	async flip(what) {
		const b = this.ctl[what];
		const on = b.getAttribute('aria-pressed') !== 'true';
		try {
			if (what === 'mic')
				this.peer.mute('audio', on);
			else if (what === 'cam')
				this.peer.mute('video', on);
			else
				await this.peer.audioOnly(on);
		} catch {
			toast(t('call.err.devices'), 'error');
			return;
		}
		b.setAttribute('aria-pressed', String(on));
		this.announce(t(`call.said.${what}.${on ? 'on' : 'off'}`));
		if (what === 'audioOnly') {
			this.ctl.cam.disabled = on;
			this.draw();
		}
	}

	async startScreen() {
		if (!this.peer || this.sharing)
			return;
		try {
			await this.peer.shareScreen();
		} catch {
			return;
		}
		this.sharing = true;
		this.send({ type: 'call', op: 'screen', call_id: this.callId, state: 'start' });
		this.draw();
	}

	async stopScreen() {
		if (!this.sharing)
			return;
		this.sharing = false;
		await this.peer?.stopScreen();
		if (this.live(this.conv))
			this.send({ type: 'call', op: 'screen', call_id: this.callId, state: 'stop' });
		this.draw();
	}

	snapshot() {
		const v = this.screenVideo.hidden ? this.remoteVideo : this.screenVideo;
		if (!v.videoWidth)
			return toast(t('call.noVideo'), 'error');
		const c = document.createElement('canvas');
		c.width = v.videoWidth;
		c.height = v.videoHeight;
		c.getContext('2d').drawImage(v, 0, 0);
		c.toBlob((blob) => {
			const a = h('a', { href: URL.createObjectURL(blob), download: `snapshot-${this.conv}-${Date.now()}.png`, class: 'sr-only' });
			document.body.append(a);
			a.click();
			setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
			this.announce(t('call.snapshotSaved'));
		}, 'image/png');
	}

	async measure() {
		const q = await this.peer?.quality().catch(() => null);
		if (!q || !this.qualityEl)
			return;
		this.qualityEl.dataset.level = q.level;
		this.qualityEl.querySelector('.callpanel__qtext').textContent = t(`call.quality.${q.level}`);
		this.qualityTip.textContent = t('call.quality.numbers', { loss: (q.loss * 100).toFixed(1),
		    rtt: q.rtt_ms === null ? '–' : q.rtt_ms, kbps: q.kbps });
	}

	end(s) {
		this.stopRing();
		clearInterval(this.timer);
		this.timer = null;
		this.sharing = false;
		this.peer?.close();
		this.peer = null;
		this.media = {};
		this.stage = null;
		this.remoteVideo = null;
		this.conv = 0;
		clear(this.el);
		this.el.hidden = true;
		this.announce(t(s.end_reason === 'declined' ? 'call.declined' : 'call.ended'));
	}
}

// Supervisors on calls (S2), in the supervisor page's monitor: listen
// silently (hear the customer and the agent; nobody hears you), whisper
// (the agent hears you), barge (both do; announced in the chat), leave.
// Every mode is audited by the server. The relay forwards one voice per
// m-line: the page receives the customer on its first audio m-line and the
// agent on its second (docs/media.md, the supervisor table).
export class SupervisorCall {
	constructor(hub, { me, announce, onChange }) {
		this.hub = hub;
		this.me = me;
		this.announce = announce;
		this.onChange = onChange || (() => {});
		this.calls = new Map();		// conv → state frame
		this.modes = new Map();		// conv → my mode
		this.peer = null;
		this.conv = 0;
		this.wanted = null;
		this.audio = { audio: h('audio', { autoplay: true, class: 'sr-only' }), voice: h('audio', { autoplay: true, class: 'sr-only' }) };
		hub.on('call', (f) => this.onFrame(f));
	}

	onFrame(f) {
		const conv = f.conversation_id;
		if (f.op === 'state') {
			this.calls.set(conv, f);
			if (f.state === 'ended' && conv === this.conv)
				this.close();
			this.onChange(conv);
		} else if (f.op === 'supervisors') {
			const mine = f.supervisors.find((s) => s.id === this.me);
			const before = this.modes.get(conv);
			if (mine)
				this.modes.set(conv, mine.mode);
			else
				this.modes.delete(conv);
			if (mine && !this.peer && this.wanted === conv)
				this.open(f.call_id, conv);
			if (this.peer && conv === this.conv)
				this.peer.mute('audio', mine?.mode === 'monitor');
			if (before !== mine?.mode)
				this.onChange(conv);
		} else if (f.op === 'answer' && this.peer && conv === this.conv) {
			this.peer.answer(f.sdp).catch(() => {});
		} else if (f.op === 'restart' && this.peer && conv === this.conv) {
			this.peer.restart().catch(() => {});
		}
	}

	live(conv) {
		const s = this.calls.get(conv);
		return s && s.state === 'active' ? s : null;
	}

	async open(callId, conv) {
		this.conv = conv;
		this.peer = new CallPeer({
			send: (f) => this.hub.send({ ...f, conversation_id: conv, client_id: cid() }),
			iceServers: async () => {
				const r = await fetch('/api/turn', { credentials: 'same-origin' });
				return r.ok ? (await r.json()).iceServers || [] : [];
			},
			onTrack: (role, stream) => { if (this.audio[role]) this.audio[role].srcObject = stream; },
		});
		try {
			await this.peer.start(callId, { audio: true, video: false });
			this.peer.mute('audio', this.modes.get(conv) === 'monitor');
			await this.peer.needVoice();
		} catch {
			toast(t('call.err.devices'), 'error');
		}
	}

	close() {
		this.peer?.close();
		this.peer = null;
		this.conv = 0;
		this.wanted = null;
	}

	set(conv, mode) {
		const s = this.live(conv);
		if (!s)
			return;
		this.wanted = mode === 'leave' ? null : conv;
		this.hub.send({ type: 'call', op: 'monitor', call_id: s.call_id, mode, client_id: cid() });
		if (mode === 'leave') {
			this.close();
			this.modes.delete(conv);
		}
		this.announce?.(t(`call.sup.said.${mode}`));
	}

	// The monitor's call controls for conv (null when no call runs).
	controls(conv) {
		const s = this.live(conv);
		if (!s)
			return null;
		const mode = this.modes.get(conv);
		const b = (m, label, kind) => button(label, { size: 'sm', kind, id: `call-sup-${m}`,
		    attrs: { 'aria-pressed': String(mode === m) }, onClick: () => this.set(conv, m) });
		return h('section', { class: 'callsup', id: 'call-sup', 'aria-labelledby': 'call-sup-h' },
		    h('h3', { class: 'callsup__h', id: 'call-sup-h' }, t(s.kind === 'audio' ? 'call.sup.audio' : 'call.sup.video')),
		    h('p', { class: 'callsup__mode', role: 'status', id: 'call-sup-mode' },
			mode ? t(`call.sup.mode.${mode}`) : t('call.sup.mode.none')),
		    h('div', { class: 'callpanel__controls' },
			b('monitor', t('call.sup.monitor')), b('whisper', t('call.sup.whisper')),
			b('barge', t('call.sup.barge'), 'danger'),
			mode ? button(t('call.sup.leave'), { size: 'sm', id: 'call-sup-leave', onClick: () => this.set(conv, 'leave') }) : null),
		    this.audio.audio, this.audio.voice);
	}
}
