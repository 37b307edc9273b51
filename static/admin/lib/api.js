// JSON fetch wrapper for the staff REST API (docs/api.md).
//
// - JSON in and out, cookies on the same origin only.
// - State-changing calls carry X-CSRF-Token: the session's token from
//   <meta name="csrf-token"> (or /api/me), and before a session exists (the
//   login page) the vb_csrf double-submit cookie.
// - Failures throw ApiError {status, code, message, field, retryAfter}.
// - 401 unauthenticated sends the browser to /login; 403
//   password_change_required to /password. Such errors come back with
//   redirecting = true so callers can stay quiet.

import { t, has } from './i18n.js';

export class ApiError extends Error {
	constructor(status, code, message, field, retryAfter) {
		super(message || code);
		this.name = 'ApiError';
		this.status = status;
		this.code = code;
		this.field = field || null;
		this.retryAfter = retryAfter;
		this.serverMessage = message || '';
		this.redirecting = false;
	}
}

let sessionToken = null;

export function setCsrfToken(token) {
	if (typeof token === 'string' && token !== '')
		sessionToken = token;
}

export function readCookie(name) {
	for (const part of document.cookie.split(';')) {
		const i = part.indexOf('=');
		if (i < 0)
			continue;
		if (part.slice(0, i).trim() === name) {
			try {
				return decodeURIComponent(part.slice(i + 1).trim());
			} catch {
				return part.slice(i + 1).trim();
			}
		}
	}
	return '';
}

function currentPage() {
	return document.body ? document.body.dataset.page || '' : '';
}

// Candidate tokens, best first. The page shell's meta tag holds the session
// token when there is a session and the vb_csrf cookie's value before one;
// /api/me may have handed us a newer session token (e.g. after the password
// step of a sign-in with a second factor).
function csrfTokens() {
	const meta = document.querySelector('meta[name="csrf-token"]');
	const fromMeta = meta ? meta.content : '';
	const fromCookie = readCookie('vb_csrf');
	const list = [sessionToken, fromMeta, fromCookie].filter((x) => typeof x === 'string' && x !== '');
	return [...new Set(list)];
}

const CODE_BY_STATUS = {
	400: 'bad_json', 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found',
	409: 'conflict', 413: 'too_large', 422: 'invalid', 429: 'too_many_attempts',
	503: 'unavailable',
};

export async function request(method, path, body, opts = {}) {
	const headers = { Accept: 'application/json' };
	const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
	if (body !== undefined) {
		headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(body);
	}
	const unsafe = method !== 'GET' && method !== 'HEAD';
	const tokens = unsafe ? csrfTokens() : [];
	if (unsafe)
		headers['X-CSRF-Token'] = tokens[0] || '';
	if (opts.signal)
		init.signal = opts.signal;

	let res;
	try {
		res = await fetch(path, init);
		// A stale token (say the session changed in another tab): try the
		// next candidate once before giving up.
		if (res.status === 403 && tokens.length > 1 && !opts.csrfRetried &&
		    (res.headers.get('Content-Type') || '').includes('json')) {
			const peek = await res.clone().json().catch(() => null);
			if (peek && peek.error && peek.error.code === 'csrf') {
				headers['X-CSRF-Token'] = tokens[1];
				res = await fetch(path, init);
			}
		}
	} catch (e) {
		if (e && e.name === 'AbortError')
			throw e;
		throw new ApiError(0, 'network', t('error.network'));
	}
	if (res.status === 204 || res.status === 205)
		return null;

	let data = null;
	const type = res.headers.get('Content-Type') || '';
	if (type.includes('json')) {
		try {
			data = await res.json();
		} catch {
			data = null;
		}
	}
	if (res.ok)
		return data === null ? {} : data;

	const e = (data && typeof data.error === 'object' && data.error) || {};
	const code = typeof e.code === 'string' ? e.code :
	    (CODE_BY_STATUS[res.status] || (res.status >= 500 ? 'server' : 'error'));
	const ra = res.headers.get('Retry-After');
	const err = new ApiError(res.status, code,
	    typeof e.message === 'string' ? e.message : '',
	    typeof e.field === 'string' ? e.field : null,
	    ra !== null && /^\d+$/.test(ra) ? Number(ra) : undefined);

	if (!opts.noRedirect) {
		const page = currentPage();
		if (res.status === 401 && code === 'unauthenticated' && page !== 'login') {
			err.redirecting = true;
			location.assign('/login');
		} else if (res.status === 403 && code === 'password_change_required' &&
		    page !== 'password') {
			err.redirecting = true;
			location.assign('/password');
		}
	}
	throw err;
}

export const api = {
	get: (path, opts) => request('GET', path, undefined, opts),
	post: (path, body, opts) => request('POST', path, body === undefined ? {} : body, opts),
	put: (path, body, opts) => request('PUT', path, body, opts),
	del: (path, opts) => request('DELETE', path, undefined, opts),
};

// Codes whose server text is specific to the call (which field, which
// conflict) are shown as the server wrote them; general ones are translated.
const SERVER_WORDED = new Set(['invalid', 'conflict', 'forbidden']);

// A sentence for the user. overrides maps a code to an i18n key.
export function errorMessage(err, overrides = {}) {
	if (!err)
		return t('error.generic');
	if (!(err instanceof ApiError))
		return t('error.generic');
	if (overrides[err.code])
		return t(overrides[err.code], { wait: err.retryAfter });
	if (SERVER_WORDED.has(err.code) && err.serverMessage)
		return err.serverMessage;
	if (has(`error.${err.code}`))
		return t(`error.${err.code}`);
	if (err.serverMessage)
		return err.serverMessage;
	return t('error.generic');
}

// Build a query string from an object, leaving out empty values.
export function qs(params) {
	const u = new URLSearchParams();
	for (const [k, v] of Object.entries(params)) {
		if (v === undefined || v === null || v === '')
			continue;
		u.set(k, String(v));
	}
	const s = u.toString();
	return s ? `?${s}` : '';
}

export function idPath(base, id, suffix = '') {
	return `${base}/${encodeURIComponent(String(id))}${suffix}`;
}
