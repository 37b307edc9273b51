// The browser side of a call through the media relay (issue 4), shared by
// the widget (static/widget/call.js) and the console (static/admin/lib/
// call.js). Signalling goes over the hub socket as "call" frames
// (docs/websocket.md, "Calls"); this module only makes offers and applies
// answers. The relay is ICE-lite and answers with one host candidate, so no
// candidates are trickled: each offer is sent once ICE gathering is done.
//
// Transceivers, in this order (the app reads the roles from the SDP):
//   1. audio  — my microphone / the other side's voice
//   2. video  — my camera / the other side's camera (recvonly when I send none)
//   3. video  — a screen: mine when I share, the other side's when they do
//               (added when first needed, then kept)
//   4. audio  — an extra voice (a supervisor who whispers or barges)
//
// new CallPeer({ send(frame), iceServers: async () => [...], onTrack(role,
//   stream), onState(state), onScreenEnded() })
// start(callId, { audio, video }) · answer(sdp) · restart() · mute(kind, on)
// audioOnly(on) · shareScreen() · stopScreen() · needScreen() · needVoice()
// quality() → {level: good|fair|poor, loss, rtt_ms, kbps} · close()

const GATHER_MS = 1500;

export class CallPeer {
	constructor({ send, iceServers, onTrack, onState, onScreenEnded }) {
		this.send = send;
		this.iceServers = iceServers;
		this.onTrack = onTrack || (() => {});
		this.onState = onState || (() => {});
		this.onScreenEnded = onScreenEnded || (() => {});
		this.pc = null;
		this.callId = 0;
		this.local = null;		// camera + microphone stream
		this.screenTrack = null;
		this.tx = {};			// role → transceiver
		this.busy = false;		// an offer waits for its answer
		this.again = false;		// renegotiate once the answer is in
		this.restartNext = false;
		this.last = null;		// {at, bytes} for the bitrate
		this.muted = { audio: false, video: false };
	}

	async start(callId, { audio = true, video = false } = {}) {
		this.callId = callId;
		if (audio || video) {
			this.local = await navigator.mediaDevices.getUserMedia({ audio: !!audio,
			    video: video ? { width: { ideal: 1280 }, height: { ideal: 720 } } : false });
		}
		let servers = [];
		try {
			servers = await this.iceServers();
		} catch {
			servers = [];
		}
		this.pc = new RTCPeerConnection({ iceServers: servers, bundlePolicy: 'max-bundle',
		    rtcpMuxPolicy: 'require' });
		this.pc.addEventListener('connectionstatechange', () => this.onState(this.pc.connectionState));
		this.pc.addEventListener('track', (e) => this.gotTrack(e));
		const mic = this.local?.getAudioTracks()[0];
		const cam = this.local?.getVideoTracks()[0];
		this.tx.audio = this.pc.addTransceiver(mic || 'audio', { direction: mic ? 'sendrecv' : 'recvonly',
		    streams: this.local ? [this.local] : [] });
		this.tx.video = this.pc.addTransceiver(cam || 'video', { direction: cam ? 'sendrecv' : 'recvonly',
		    streams: this.local ? [this.local] : [] });
		await this.negotiate();
		return this.local;
	}

	roleOf(tr) {
		for (const [role, t] of Object.entries(this.tx))
			if (t === tr)
				return role;
		return null;
	}

	gotTrack(e) {
		const role = this.roleOf(e.transceiver);
		if (!role)
			return;
		const stream = new MediaStream([e.track]);
		this.onTrack(role, stream, e.track);
	}

	// One offer at a time: what changes meanwhile goes in the next one.
	async negotiate() {
		if (!this.pc)
			return;
		if (this.busy) {
			this.again = true;
			return;
		}
		this.busy = true;
		this.again = false;
		try {
			const offer = await this.pc.createOffer({ iceRestart: this.restartNext });
			this.restartNext = false;
			await this.pc.setLocalDescription(offer);
			await this.gathered();
			this.send({ type: 'call', op: 'offer', call_id: this.callId, sdp: this.pc.localDescription.sdp });
		} catch (err) {
			this.busy = false;
			throw err;
		}
	}

	gathered() {
		if (this.pc.iceGatheringState === 'complete')
			return Promise.resolve();
		return new Promise((resolve) => {
			const done = () => {
				this.pc?.removeEventListener('icegatheringstatechange', check);
				clearTimeout(timer);
				resolve();
			};
			const check = () => { if (this.pc?.iceGatheringState === 'complete') done(); };
			const timer = setTimeout(done, GATHER_MS);
			this.pc.addEventListener('icegatheringstatechange', check);
		});
	}

	async answer(sdp) {
		if (!this.pc || this.pc.signalingState !== 'have-local-offer')
			return;
		await this.pc.setRemoteDescription({ type: 'answer', sdp });
		this.busy = false;
		if (this.again)
			await this.negotiate();
	}

	// The offer was refused (error frame): the next change tries again.
	failed() {
		this.busy = false;
		if (this.pc?.signalingState === 'have-local-offer')
			this.pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
	}

	// The relay restarted: a new ICE session (and DTLS with its new certificate).
	async restart() {
		if (!this.pc)
			return;
		if (this.pc.signalingState === 'have-local-offer') {
			await this.pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
			this.busy = false;
		}
		this.restartNext = true;
		this.pc.restartIce();
		await this.negotiate();
	}

	mute(kind, on) {
		this.muted[kind] = on;
		for (const tr of this.local ? (kind === 'audio' ? this.local.getAudioTracks() : this.local.getVideoTracks()) : [])
			tr.enabled = !on;
	}

	// Audio only: the camera is closed (its light goes off), and opened again.
	async audioOnly(on) {
		const sender = this.tx.video?.sender;
		if (!sender)
			return;
		if (on) {
			for (const tr of this.local?.getVideoTracks() || []) {
				tr.stop();
				this.local.removeTrack(tr);
			}
			await sender.replaceTrack(null);
			return;
		}
		const s = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } } });
		const cam = s.getVideoTracks()[0];
		cam.enabled = !this.muted.video;
		if (!this.local)
			this.local = new MediaStream();
		this.local.addTrack(cam);
		if (this.tx.video.direction !== 'sendrecv') {
			this.tx.video.direction = 'sendrecv';
			await sender.replaceTrack(cam);
			await this.negotiate();
		} else {
			await sender.replaceTrack(cam);
		}
	}

	async shareScreen() {
		const s = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
		const track = s.getVideoTracks()[0];
		this.screenTrack = track;
		track.addEventListener('ended', () => this.onScreenEnded());
		if (this.tx.screen) {
			await this.tx.screen.sender.replaceTrack(track);
			if (this.tx.screen.direction !== 'sendrecv') {
				this.tx.screen.direction = 'sendrecv';
				await this.negotiate();
			}
		} else {
			await this.needScreen(track);
		}
		return s;
	}

	async stopScreen() {
		if (this.screenTrack) {
			this.screenTrack.stop();
			this.screenTrack = null;
		}
		if (this.tx.screen)
			await this.tx.screen.sender.replaceTrack(null);
	}

	// The screen m-line, third, before any extra voice (see the top).
	async needScreen(track = null) {
		if (this.tx.screen || !this.pc)
			return;
		this.tx.screen = this.pc.addTransceiver(track || 'video', { direction: track ? 'sendrecv' : 'recvonly' });
		await this.negotiate();
	}

	async needVoice() {
		if (this.tx.voice || !this.pc)
			return;
		this.tx.voice = this.pc.addTransceiver('audio', { direction: 'recvonly' });
		await this.negotiate();
	}

	// Network quality from getStats: packet loss of what we receive, the
	// round trip of the selected candidate pair, the received bit rate.
	async quality() {
		if (!this.pc)
			return null;
		const stats = await this.pc.getStats();
		let lost = 0, got = 0, bytes = 0, rtt = null;
		stats.forEach((s) => {
			if (s.type === 'inbound-rtp') {
				lost += s.packetsLost || 0;
				got += s.packetsReceived || 0;
				bytes += s.bytesReceived || 0;
			} else if (s.type === 'candidate-pair' && s.nominated && s.currentRoundTripTime !== undefined) {
				rtt = s.currentRoundTripTime * 1000;
			} else if (s.type === 'remote-inbound-rtp' && rtt === null && s.roundTripTime !== undefined) {
				rtt = s.roundTripTime * 1000;
			}
		});
		const now = performance.now();
		let kbps = 0, loss = 0;
		if (this.last) {
			const dt = (now - this.last.at) / 1000;
			kbps = dt > 0 ? Math.max(0, (bytes - this.last.bytes) * 8 / dt / 1000) : 0;
			const dl = lost - this.last.lost, dg = got - this.last.got;
			loss = dl + dg > 0 ? Math.max(0, dl) / (dl + dg) : 0;
		}
		this.last = { at: now, bytes, lost, got };
		const level = loss > 0.08 || (rtt ?? 0) > 400 ? 'poor' : loss > 0.02 || (rtt ?? 0) > 200 ? 'fair' : 'good';
		return { level, loss, rtt_ms: rtt === null ? null : Math.round(rtt), kbps: Math.round(kbps) };
	}

	close() {
		for (const tr of this.local?.getTracks() || [])
			tr.stop();
		this.screenTrack?.stop();
		this.pc?.close();
		this.pc = null;
		this.local = null;
		this.screenTrack = null;
		this.tx = {};
	}
}
