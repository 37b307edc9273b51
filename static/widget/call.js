// Voice and video calls in the chat panel (issue 4: W11, W12, W13), loaded
// by panel.js only when a call is asked for or offered (never with the
// panel). The customer always consents before the microphone or camera is
// opened: their own request, or "Accept" in the dialog that says what is
// shared. In a call: the adviser's video (and a screen they share), a self
// view, mute, camera off, audio only, share my screen (with a clear "You are
// sharing your screen" bar while it runs), a snapshot of the adviser's video
// (PNG download), the network quality (good / fair / poor, the numbers on
// hover or focus), the hold and recording notices, and hang up.
//
// new CallUI({ frame, token, conv, onShow }) → .el goes in the panel;
// onFrame(f) takes the socket's "call" frames (and {op:'error'} for a
// refused call frame, see chat.js), request(kind).

import { h, clear, icon } from './dom.js';
import { t } from './i18n.js';
import { CallPeer } from './rtc.js';

const QUALITY_MS = 2000;
let seq = 0;
// Call frames carry a client_id "call-…": their errors come back with it.
export const callId = () => `call-${Date.now().toString(36)}-${++seq}`;

export class CallUI {
	constructor({ frame, token, conv, onShow, onLive }) {
		this.onLive = onLive || (() => {});
		this.frame = frame;
		this.token = token;
		this.conv = conv;
		this.onShow = onShow || (() => {});
		this.state = null;	// the latest "state" frame
		this.peer = null;
		this.sharing = false;
		this.timer = null;
		this.el = h('section', { class: 'call', id: 'vb-call', hidden: true, 'aria-labelledby': 'vb-call-title' });
		this.live = h('p', { class: 'vh', role: 'status', 'aria-live': 'polite', id: 'vb-call-live' });
	}

	send(f) {
		this.frame({ ...f, conversation_id: this.conv, client_id: callId() });
	}

	say(text) {
		this.live.textContent = text;
	}

	// The customer asks (this is their consent): media opens at once.
	request(kind) {
		if (this.state && this.state.state !== 'ended')
			return;
		this.pendingKind = kind;
		this.onLive(true);
		this.send({ type: 'call', op: 'request', kind });
		this.renderCalling(kind);
	}

	onFrame(f) {
		switch (f.op) {
		case 'state':
			this.onState(f);
			break;
		case 'answer':
			if (this.peer && f.call_id === this.state?.call_id)
				this.peer.answer(f.sdp).catch(() => this.say(t('call.error.media')));
			break;
		case 'restart':
			if (this.peer && f.call_id === this.state?.call_id)
				this.peer.restart().catch(() => {});
			break;
		case 'error':
			this.error(f);
			break;
		default:
			break;
		}
	}

	error(f) {
		this.peer?.failed();
		if (f.code === 'no_agent' || f.code === 'call_live') {
			this.pendingKind = null;
			if (!this.state || this.state.state === 'ended') {
				this.hide();
				this.onLive(false);
			}
		}
		this.notice(t(`call.error.${f.code}`) !== `call.error.${f.code}` ? t(`call.error.${f.code}`) : t('call.error.generic'));
	}

	notice(text) {
		this.el.hidden = false;
		let n = this.el.querySelector('.call__notice');
		if (!n) {
			n = h('p', { class: 'call__notice', role: 'alert' });
			this.el.prepend(n);
		}
		n.textContent = text;
	}

	mine() {
		return this.state?.requested_by?.kind === 'customer';
	}

	onState(s) {
		const prev = this.state;
		if (prev && s.call_id !== prev.call_id && prev.state !== 'ended')
			return;
		this.state = s;
		this.onLive(s.state !== 'ended');
		if (s.state === 'ended') {
			this.end(s);
			return;
		}
		if (s.state === 'requested') {
			if (this.mine()) {
				if (!this.peer)
					this.open(s, this.pendingKind !== 'audio' && s.kind === 'video');
				this.renderCalling(s.kind);
			} else {
				this.renderConsent(s);
			}
			return;
		}
		// Active. A page that comes back (reload, next page) rejoins: the
		// customer consented already (they are a participant).
		if (!this.view)
			this.renderCall();
		if (!this.peer && s.participants.some((p) => p.kind === 'customer'))
			this.open(s, s.kind === 'video' && !s.one_way);
		this.update();
	}

	// Consent: what will be shared, and the recording, before anything opens.
	renderConsent(s) {
		clear(this.el);
		this.el.hidden = false;
		this.el.setAttribute('role', 'dialog');
		const who = s.requested_by?.name || t('call.adviser');
		const what = s.kind === 'audio' ? t('call.shareMic') : s.one_way ? t('call.shareOneWay') : t('call.shareCamMic');
		const title = h('h2', { class: 'call__title', id: 'vb-call-title', tabindex: '-1' },
		    t(s.kind === 'audio' ? 'call.incomingAudio' : 'call.incomingVideo', { name: who }));
		const rec = s.recording_policy === 'always' ?
		    h('p', { class: 'call__rec', id: 'vb-call-rec' }, s.recording_notice || t('call.recordingNotice')) : null;
		this.el.append(...[title,
		    h('p', { class: 'call__what', id: 'vb-call-what' }, what),
		    rec,
		    h('div', { class: 'call__buttons' },
			h('button', { type: 'button', class: 'btn', id: 'vb-call-accept', onClick: () => {
				this.send({ type: 'call', op: 'accept', call_id: s.call_id });
				this.open(s, s.kind === 'video' && !s.one_way);
			} }, icon(s.kind === 'audio' ? 'phone' : 'video'), t('call.accept')),
			h('button', { type: 'button', class: 'btn btn--quiet', id: 'vb-call-decline', onClick: () => {
				this.send({ type: 'call', op: 'decline', call_id: s.call_id });
			} }, t('call.decline'))),
		    this.live].filter(Boolean));
		this.el.setAttribute('aria-describedby', 'vb-call-what');
		this.onShow(this.el);
		title.focus();
	}

	renderCalling(kind) {
		clear(this.el);
		this.el.hidden = false;
		this.el.removeAttribute('role');
		const title = h('h2', { class: 'call__title', id: 'vb-call-title', tabindex: '-1' },
		    t(kind === 'audio' ? 'call.callingAudio' : 'call.callingVideo'));
		this.el.append(title, h('p', { class: 'call__what' }, t('call.waitingAnswer')),
		    h('div', { class: 'call__buttons' },
			h('button', { type: 'button', class: 'btn btn--danger', id: 'vb-call-cancel', onClick: () => {
				if (this.state?.call_id)
					this.send({ type: 'call', op: 'hangup', call_id: this.state.call_id });
			} }, t('call.cancel'))), this.live);
	}

	async iceServers() {
		const r = await fetch('/api/widget/turn', { headers: { authorization: `Bearer ${this.token}` } });
		return r.ok ? (await r.json()).iceServers || [] : [];
	}

	// Opens the microphone (and camera) and makes the first offer.
	async open(s, video) {
		if (this.peer)
			return;
		this.peer = new CallPeer({
			send: (f) => this.send(f),
			iceServers: () => this.iceServers(),
			onTrack: (role, stream) => this.remote(role, stream),
			onState: (st) => { this.netState = st; this.update(); },
			onScreenEnded: () => this.stopScreen(),
		});
		this.videoCall = video || s.kind === 'video';
		try {
			this.localStream = await this.peer.start(s.call_id, { audio: true, video });
		} catch (err) {
			this.notice(t('call.error.devices'));
			this.send({ type: 'call', op: 'hangup', call_id: s.call_id });
			this.peer.close();
			this.peer = null;
			return;
		}
		if (this.self)
			this.self.srcObject = this.localStream;
	}

	remote(role, stream) {
		if (!this.media)
			this.media = {};
		this.media[role] = stream;
		if (this.view)
			this.attach();
	}

	attach() {
		const m = this.media || {};
		if (m.audio && this.audioEl.srcObject !== m.audio)
			this.audioEl.srcObject = m.audio;
		if (m.voice && this.voiceEl.srcObject !== m.voice)
			this.voiceEl.srcObject = m.voice;
		if (m.video && this.remoteVideo.srcObject !== m.video)
			this.remoteVideo.srcObject = m.video;
		if (m.screen && this.screenVideo.srcObject !== m.screen)
			this.screenVideo.srcObject = m.screen;
		if (this.localStream && this.self.srcObject !== this.localStream)
			this.self.srcObject = this.localStream;
	}

	toggle(id, label, pressed, onClick, iconName) {
		return h('button', { type: 'button', class: 'call__ctl', id, 'aria-pressed': String(pressed),
		    onClick }, iconName ? icon(iconName) : null, h('span', null, label));
	}

	renderCall() {
		clear(this.el);
		this.el.hidden = false;
		this.el.removeAttribute('role');
		this.el.removeAttribute('aria-describedby');
		this.audioEl = h('audio', { autoplay: true, class: 'vh' });
		this.voiceEl = h('audio', { autoplay: true, class: 'vh' });
		this.remoteVideo = h('video', { autoplay: true, playsinline: true, muted: true, class: 'call__remote',
		    id: 'vb-call-remote', 'aria-label': t('call.remoteVideo') });
		this.remoteVideo.muted = true;
		this.screenVideo = h('video', { autoplay: true, playsinline: true, muted: true, class: 'call__screen',
		    id: 'vb-call-screen', 'aria-labelledby': 'vb-call-screen-label', hidden: true });
		this.screenVideo.muted = true;
		this.self = h('video', { autoplay: true, playsinline: true, muted: true, class: 'call__self',
		    id: 'vb-call-self', 'aria-label': t('call.selfView') });
		this.self.muted = true;
		this.title = h('h2', { class: 'call__title', id: 'vb-call-title' });
		this.holdEl = h('p', { class: 'call__hold', id: 'vb-call-hold', hidden: true }, t('call.onHold'));
		this.recEl = h('p', { class: 'call__rec', id: 'vb-call-rec', hidden: true });
		this.screenLabel = h('p', { class: 'call__screen-label', id: 'vb-call-screen-label', hidden: true });
		this.sharingBar = h('div', { class: 'call__sharing', id: 'vb-call-sharing', hidden: true, role: 'status' },
		    h('span', null, t('call.youShare')),
		    h('button', { type: 'button', class: 'btn btn--small', id: 'vb-call-share-stop',
			onClick: () => this.stopScreen() }, t('call.stopShare')));
		this.qualityNumbers = h('span', { class: 'call__quality-tip', id: 'vb-call-quality-tip', role: 'tooltip' });
		this.quality = h('span', { class: 'call__quality', id: 'vb-call-quality', tabindex: '0',
		    'aria-describedby': 'vb-call-quality-tip' }, h('span', { class: 'call__quality-text' }, t('call.quality.unknown')),
		    this.qualityNumbers);
		this.ctl = {
			mic: this.toggle('vb-call-mute', t('call.mute'), false, () => this.flip('mic')),
			cam: this.toggle('vb-call-camera', t('call.cameraOff'), false, () => this.flip('cam')),
			audioOnly: this.toggle('vb-call-audio-only', t('call.audioOnly'), false, () => this.flip('audioOnly')),
			screen: h('button', { type: 'button', class: 'call__ctl', id: 'vb-call-share', onClick: () => this.startScreen() },
			    h('span', null, t('call.share'))),
			snap: h('button', { type: 'button', class: 'call__ctl', id: 'vb-call-snapshot', onClick: () => this.snapshot() },
			    h('span', null, t('call.snapshot'))),
			hang: h('button', { type: 'button', class: 'call__ctl call__ctl--end', id: 'vb-call-hangup',
			    onClick: () => this.send({ type: 'call', op: 'hangup', call_id: this.state.call_id }) },
			    icon('phone'), h('span', null, t('call.hangup'))),
		};
		this.view = h('div', { class: 'call__stage' },
		    this.remoteVideo, this.self, this.screenLabel, this.screenVideo);
		this.el.append(
		    h('div', { class: 'call__head' }, this.title, this.quality),
		    this.sharingBar, this.holdEl, this.recEl, this.view,
		    h('div', { class: 'call__controls', role: 'group', 'aria-label': t('call.controls') },
			this.ctl.mic, this.ctl.cam, this.ctl.audioOnly, this.ctl.screen, this.ctl.snap, this.ctl.hang),
		    this.audioEl, this.voiceEl, this.live);
		this.attach();
		this.timer = setInterval(() => this.measure(), QUALITY_MS);
		this.onShow(this.el);
	}

	async flip(what) {
		if (!this.peer)
			return;
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
			this.notice(t('call.error.devices'));
			return;
		}
		b.setAttribute('aria-pressed', String(on));
		this.say(t(`call.said.${what}.${on ? 'on' : 'off'}`));
		if (what === 'audioOnly') {
			this.ctl.cam.disabled = on;
			this.self.hidden = on;
			this.attach();
		}
	}

	async startScreen() {
		if (!this.peer || this.sharing)
			return;
		try {
			await this.peer.shareScreen();
		} catch {
			this.say(t('call.shareCancelled'));
			return;
		}
		this.sharing = true;
		this.send({ type: 'call', op: 'screen', call_id: this.state.call_id, state: 'start' });
		this.update();
	}

	async stopScreen() {
		if (!this.sharing)
			return;
		this.sharing = false;
		await this.peer?.stopScreen();
		if (this.state?.state === 'active')
			this.send({ type: 'call', op: 'screen', call_id: this.state.call_id, state: 'stop' });
		this.update();
	}

	snapshot() {
		const v = this.screenVideo.hidden ? this.remoteVideo : this.screenVideo;
		if (!v.videoWidth) {
			this.say(t('call.noVideo'));
			return;
		}
		const c = document.createElement('canvas');
		c.width = v.videoWidth;
		c.height = v.videoHeight;
		c.getContext('2d').drawImage(v, 0, 0);
		c.toBlob((blob) => {
			if (!blob)
				return;
			const a = h('a', { href: URL.createObjectURL(blob), download: `snapshot-${new Date().toISOString().replace(/[:.]/g, '-')}.png`, class: 'vh' });
			document.body.append(a);
			a.click();
			setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
			this.say(t('call.snapshotSaved'));
		}, 'image/png');
	}

	async measure() {
		const q = await this.peer?.quality().catch(() => null);
		if (!q || !this.quality)
			return;
		this.quality.dataset.level = q.level;
		this.quality.querySelector('.call__quality-text').textContent = t(`call.quality.${q.level}`);
		this.qualityNumbers.textContent = t('call.quality.numbers', { loss: (q.loss * 100).toFixed(1),
		    rtt: q.rtt_ms === null ? '–' : q.rtt_ms, kbps: q.kbps });
	}

	update() {
		const s = this.state;
		if (!this.view || !s)
			return;
		const agent = s.participants.find((p) => p.role === 'agent');
		this.title.textContent = t(s.kind === 'audio' ? 'call.inAudio' : 'call.inVideo', { name: agent?.name || t('call.adviser') });
		this.holdEl.hidden = !s.on_hold;
		this.recEl.hidden = !s.recording;
		this.recEl.textContent = s.recording_notice || t('call.recordingNotice');
		const theirs = s.screen && s.screen.kind !== 'customer';
		if (theirs && this.peer && !this.peer.tx.screen)
			this.peer.needScreen().catch(() => {});
		if (s.participants.some((p) => p.role === 'supervisor') && this.peer && !this.peer.tx.voice)
			this.peer.needVoice().catch(() => {});
		this.screenVideo.hidden = !theirs;
		this.screenLabel.hidden = !theirs;
		this.screenLabel.textContent = theirs ? t('call.theyShare', { name: s.screen.name }) : '';
		this.sharingBar.hidden = !this.sharing;
		this.ctl.screen.disabled = this.sharing || !!theirs;
		const showVideo = s.kind === 'video';
		this.remoteVideo.hidden = !showVideo;
		this.self.hidden = !showVideo || s.one_way || this.ctl.audioOnly.getAttribute('aria-pressed') === 'true';
		this.ctl.cam.hidden = !showVideo || s.one_way;
		this.ctl.audioOnly.hidden = !showVideo || s.one_way;
		this.ctl.snap.hidden = !showVideo && !theirs;
		this.el.dataset.net = this.netState || 'new';
	}

	end(s) {
		this.stopScreen().catch(() => {});
		clearInterval(this.timer);
		this.timer = null;
		this.peer?.close();
		this.peer = null;
		this.view = null;
		this.media = null;
		this.sharing = false;
		this.pendingKind = null;
		clear(this.el);
		this.el.removeAttribute('role');
		this.el.append(h('p', { class: 'call__ended', role: 'status' },
		    t(s.end_reason === 'declined' ? 'call.declined' : 'call.ended')), this.live);
		setTimeout(() => { if (this.state === s) this.hide(); }, 4000);
	}

	hide() {
		clear(this.el);
		this.el.hidden = true;
	}
}
