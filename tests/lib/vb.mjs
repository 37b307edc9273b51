// Test helpers: an HTTP client with a cookie jar and CSRF handling, plus
// direct database access (as the cluster's superuser) for set-up and checks.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';

export const BASE = process.env.VB_TEST_URL;
export const DB = process.env.VB_DATABASE_URL;
const VBCTL = process.env.VBCTL;

export class Client {
	constructor() { this.cookies = new Map(); this.csrf = null; }

	cookieHeader() {
		return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
	}

	async req(method, path, body, opts = {}) {
		const headers = { ...(opts.headers || {}) };
		if (this.cookies.size) headers.cookie = this.cookieHeader();
		if (method !== 'GET' && method !== 'HEAD' && opts.csrf !== false) {
			const token = this.csrf || this.cookies.get('vb_csrf');
			if (token) headers['x-csrf-token'] = token;
		}
		let payload;
		if (body !== undefined) {
			headers['content-type'] = 'application/json';
			payload = typeof body === 'string' ? body : JSON.stringify(body);
		}
		const res = await fetch(BASE + path, { method, headers, body: payload, redirect: 'manual' });
		for (const c of res.headers.getSetCookie()) {
			const [kv] = c.split(';');
			const i = kv.indexOf('=');
			const k = kv.slice(0, i), v = kv.slice(i + 1);
			if (/Max-Age=0/.test(c) || v === '') this.cookies.delete(k); else this.cookies.set(k, v);
		}
		const text = await res.text();
		let json = null;
		try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
		return { status: res.status, headers: res.headers, text, json };
	}

	get(p, o) { return this.req('GET', p, undefined, o); }
	post(p, b, o) { return this.req('POST', p, b ?? {}, o); }
	put(p, b, o) { return this.req('PUT', p, b, o); }
	del(p, o) { return this.req('DELETE', p, undefined, o); }

	async login(email, password) {
		await this.get('/login');
		const r = await this.post('/api/auth/login', { email, password });
		if (r.status === 200) {
			const me = await this.get('/api/me');
			if (me.status === 200) this.csrf = me.json.csrf_token;
		}
		return r;
	}
}

export function sql(query) {
	return execFileSync('psql', [DB, '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-c', query],
	    { encoding: 'utf8' }).trim();
}

export function setPassword(email, password) {
	execFileSync(VBCTL, ['set-password', email], { input: password + '\n' });
}

let seq = 0;
export function unique(prefix) {
	return `${prefix}${process.pid}${Date.now().toString(36)}${seq++}`;
}

// A fresh organisation with a signed-in administrator.
export async function newOrg(name = 'Org') {
	const slug = unique('t').toLowerCase().slice(0, 30);
	const email = `admin@${slug}.test`;
	execFileSync(VBCTL, ['create-org', `${name} ${slug}`, slug, email, 'Test Admin']);
	const password = 'Admin-Password-' + slug;
	setPassword(email, password);
	const admin = new Client();
	const r = await admin.login(email, password);
	if (r.status !== 200) throw new Error('login failed: ' + r.text);
	return { slug, email, password, admin,
	    tenant: Number(sql(`SELECT id FROM organisations WHERE slug = '${slug}'`)) };
}

export async function roleId(client, builtin) {
	const r = await client.get('/api/roles');
	return r.json.roles.find((x) => x.builtin === builtin).id;
}

// RFC 6238 code from a base32 secret.
export function totp(b32, at = Date.now()) {
	const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
	let bits = '';
	for (const ch of b32.replace(/=+$/, '')) bits += abc.indexOf(ch).toString(2).padStart(5, '0');
	const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
	const counter = Buffer.alloc(8);
	counter.writeBigUInt64BE(BigInt(Math.floor(at / 30000)));
	const h = crypto.createHmac('sha1', key).update(counter).digest();
	const o = h[h.length - 1] & 15;
	const n = (h.readUInt32BE(o) & 0x7fffffff) % 1000000;
	return String(n).padStart(6, '0');
}
