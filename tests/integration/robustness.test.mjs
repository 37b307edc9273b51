// Mutated and hostile bodies against every write API: each answer is a JSON
// client error (never 5xx), and the server keeps serving.
import test from 'node:test';
import assert from 'node:assert/strict';
import { newOrg, sql } from '../lib/vb.mjs';

const seeds = [
	{ email: 'a@b.test', name: 'N', role_ids: [1], unit_ids: [1], skills: [{ skill_id: 1, level: 3 }] },
	{ name: 'Unit', parent_id: 1, manager_id: 1 },
	{ name: 'Role', permissions: ['users.read'] },
	{ name: 'Site', allowed_origins: ['https://a.test'] },
	{ current_password: 'x', new_password: 'y'.repeat(12) },
	{ code: '123456' },
];
const weird = [null, true, -1, 0, 1e308, 2 ** 63, '', ' ', '\u0000', 'x'.repeat(5000), '\ud800', [], {},
	[null], [[1]], [{}], { a: 1 }, '../../etc', '<script>', "'; DROP TABLE users; --", [-5], ['1'], 1.5];
const paths = [['POST', '/api/users'], ['PUT', '/api/users/1'], ['POST', '/api/units'], ['PUT', '/api/units/1'],
	['POST', '/api/roles'], ['POST', '/api/sites'], ['PUT', '/api/sites/1'], ['POST', '/api/skills'],
	['POST', '/api/me/password'], ['POST', '/api/me/totp/enable'], ['POST', '/api/platform/orgs']];

// A deterministic generator so a failure can be replayed.
let state = 12345;
const rnd = (n) => { state = (state * 1103515245 + 12345) & 0x7fffffff; return state % n; };

function mutate(seed) {
	const o = structuredClone(seed);
	const keys = Object.keys(o);
	const k = keys[rnd(keys.length)];
	o[k] = weird[rnd(weird.length)];
	if (rnd(3) === 0) delete o[keys[rnd(keys.length)]];
	let text = JSON.stringify(o);
	if (rnd(5) === 0) text = text.slice(0, rnd(text.length + 1));		// truncated
	if (rnd(7) === 0) text = text.replace(/"/, '\\');			// broken escape
	return text;
}

test('400 mutated bodies: only JSON 4xx answers, nothing half-written', async () => {
	const { admin, tenant } = await newOrg();
	const before = sql(`SELECT (SELECT count(*) FROM users WHERE tenant_id = ${tenant}) || ':' || (SELECT count(*) FROM units WHERE tenant_id = ${tenant})`);
	let count = 0;
	for (let i = 0; i < 400; i++) {
		const [method, path] = paths[rnd(paths.length)];
		const body = mutate(seeds[rnd(seeds.length)]);
		const r = await admin.req(method, path, body);
		// A valid mutation may legitimately succeed; the rule is no server error.
		assert.ok(r.status < 500, `${method} ${path} ${body.slice(0, 200)} -> ${r.status} ${r.text}`);
		if (r.status >= 400) {
			assert.ok(r.json && r.json.error && r.json.error.code, `${method} ${path}: JSON error body`);
			count++;
		}
	}
	assert.ok(count > 300, 'most mutations are refused');
	assert.equal((await fetch(process.env.VB_TEST_URL + '/healthz')).status, 200);
	// Refused requests left no partial rows: any user or unit that exists was answered 201.
	const [users] = sql(`SELECT count(*) FROM users WHERE tenant_id = ${tenant}`).split('\n');
	const created = sql(`SELECT count(*) FROM audit_log WHERE tenant_id = ${tenant} AND action = 'user.create'`);
	assert.equal(Number(users), Number(before.split(':')[0]) + Number(created));
});

test('binary garbage and huge headers are refused cleanly', async () => {
	const { admin } = await newOrg();
	const garbage = Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7919) % 256)).toString('latin1');
	const r = await admin.req('POST', '/api/units', garbage);
	assert.equal(r.status, 400);
	assert.equal(r.json.error.code, 'bad_json');
	const long = await fetch(process.env.VB_TEST_URL + '/api/users/' + '9'.repeat(3000));
	assert.ok(long.status === 404 || long.status === 414 || long.status === 431, String(long.status));
	assert.equal((await fetch(process.env.VB_TEST_URL + '/healthz')).status, 200);
});
