// ALTCHA proof of work in a Web Worker (the panel stays responsive):
// find n in 0..maxnumber with SHA-256(salt + n) = challenge, using the
// browser's SubtleCrypto. Reports progress (share of the range searched)
// every few thousand tries, then {number, took} or {number: null}.
'use strict';

function unhex(s) {
	const out = new Uint8Array(s.length / 2);
	for (let i = 0; i < out.length; i++)
		out[i] = parseInt(s.substr(i * 2, 2), 16);
	return out;
}

function same(buf, want) {
	const a = new Uint8Array(buf);
	for (let i = 0; i < want.length; i++)
		if (a[i] !== want[i])
			return false;
	return true;
}

self.onmessage = async (e) => {
	const { salt, challenge, maxnumber } = e.data || {};
	if (typeof salt !== 'string' || !/^[0-9a-f]{64}$/.test(challenge) || !(maxnumber > 0)) {
		postMessage({ number: null });
		return;
	}
	const want = unhex(challenge);
	const enc = new TextEncoder();
	const t0 = performance.now();
	for (let n = 0; n <= maxnumber; n++) {
		if (same(await crypto.subtle.digest('SHA-256', enc.encode(salt + n)), want)) {
			postMessage({ number: n, took: Math.round(performance.now() - t0) });
			return;
		}
		if (n % 5000 === 4999)
			postMessage({ progress: n / maxnumber });
	}
	postMessage({ number: null });
};
