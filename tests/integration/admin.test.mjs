// Administration APIs: validation, permissions, tenancy and the audit trail.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Client, sql, setPassword, newOrg, roleId, unique } from '../lib/vb.mjs';

test('administrator creates an agent with role, unit and skills; audit has before/after', async () => {
	const { admin, tenant } = await newOrg();
	const unit = (await admin.post('/api/units', { name: 'Retail', parent_id: null })).json.unit;
	const skill = (await admin.post('/api/skills', { name: 'Mortgages' })).json.skill;
	const email = unique('agent') + '@x.test';
	const r = await admin.post('/api/users', { email, name: 'Alice Agent',
	    role_ids: [await roleId(admin, 'agent')], unit_ids: [unit.id], skills: [{ skill_id: skill.id, level: 4 }] });
	assert.equal(r.status, 201);
	assert.deepEqual(r.json.user.units.map((u) => u.name), ['Retail']);
	assert.deepEqual(r.json.user.skills, [{ id: skill.id, name: 'Mortgages', level: 4 }]);
	assert.deepEqual(r.json.user.roles.map((x) => x.name), ['Agent']);

	const upd = await admin.put(`/api/users/${r.json.user.id}`, { name: 'Alice A. Agent', role_ids: [await roleId(admin, 'supervisor')],
	    unit_ids: [], skills: [{ skill_id: skill.id, level: 5 }] });
	assert.equal(upd.status, 200);
	assert.equal(upd.json.user.skills[0].level, 5);

	const audit = await admin.get('/api/audit?object_type=user&limit=10');
	const entry = audit.json.entries.find((e) => e.action === 'user.update');
	assert.equal(entry.before.name, 'Alice Agent');
	assert.equal(entry.after.name, 'Alice A. Agent');
	assert.equal(entry.address, '127.0.0.1');
	assert.ok(entry.request_id);
	assert.ok(audit.json.entries.find((e) => e.action === 'user.create'));
	// The audit log never carries secrets.
	assert.equal(sql(`SELECT count(*) FROM audit_log WHERE tenant_id = ${tenant} AND (after::text LIKE '%argon2%' OR before::text LIKE '%argon2%')`), '0');
	// And the application cannot rewrite it.
	assert.throws(() => sql(`SET ROLE vb_app; UPDATE audit_log SET action = 'x'`));
});

test('bad input gets a clear error and changes nothing', async () => {
	const { admin, tenant } = await newOrg();
	const count = () => sql(`SELECT count(*) FROM users WHERE tenant_id = ${tenant}`);
	const n = count();
	const cases = [
		['{"email": "nope", "name": "X"}', 422, 'email'],
		['{"email": "a@b.test", "name": ""}', 422, 'name'],
		['{"email": "a@b.test", "name": 42}', 422, 'name'],
		['{"email": "a@b.test", "name": "X", "role_ids": "1"}', 422, 'role_ids'],
		['{"email": "a@b.test", "name": "X", "skills": [{"skill_id": 1, "level": 9}]}', 422, 'skills'],
		['{"email": "a@b.test", "name": "X", "role_ids": [999999]}', 422, null],
		['{"email": "a@b.test"', 400, null],
		['[1, 2]', 400, null],
	];
	for (const [body, status, field] of cases) {
		const r = await admin.post('/api/users', body);
		assert.equal(r.status, status, body);
		assert.ok(r.json.error.code && r.json.error.message, body);
		if (field) assert.equal(r.json.error.field, field);
	}
	assert.equal(count(), n);
	const big = await admin.post('/api/skills', JSON.stringify({ name: 'x'.repeat(1100 * 1024) }));
	assert.equal(big.status, 413);
	assert.equal(big.json.error.code, 'too_large');
	const unknown = await admin.get('/api/no-such-thing');
	assert.equal(unknown.status, 404);
	assert.equal(unknown.json.error.code, 'not_found');
	assert.equal((await admin.get('/api/users/424242424')).status, 404);
	assert.equal((await admin.req('PATCH', '/api/users', {})).status, 405);
	const dup = await admin.post('/api/skills', { name: 'Dup' });
	assert.equal(dup.status, 201);
	assert.equal((await admin.post('/api/skills', { name: 'dup' })).status, 409);
});

test("organisation A cannot see or touch organisation B's objects by id", async () => {
	const a = await newOrg('A');
	const b = await newOrg('B');
	const unitB = (await b.admin.post('/api/units', { name: 'B only' })).json.unit;
	const skillB = (await b.admin.post('/api/skills', { name: 'B skill' })).json.skill;
	const meB = (await b.admin.get('/api/me')).json;
	assert.equal((await a.admin.get(`/api/users/${meB.id}`)).status, 404);
	const put = await a.admin.put(`/api/units/${unitB.id}`, { name: 'Hijacked' });
	assert.equal(put.status, 404);
	assert.equal((await a.admin.del(`/api/skills/${skillB.id}`)).status, 404);
	assert.equal((await a.admin.post(`/api/users/${meB.id}/disable`)).status, 404);
	assert.equal(sql(`SELECT name FROM units WHERE id = ${unitB.id}`), 'B only');
	// Linking another tenant's unit or skill to one's own user fails too.
	const r = await a.admin.post('/api/users', { email: unique('x') + '@x.test', name: 'X', unit_ids: [unitB.id] });
	assert.equal(r.status, 422);
	const s = await a.admin.post('/api/users', { email: unique('y') + '@x.test', name: 'Y', skills: [{ skill_id: skillB.id, level: 2 }] });
	assert.equal(s.status, 422);
	const list = await a.admin.get('/api/users');
	assert.ok(list.json.users.every((u) => u.email !== b.email));
});

test('an agent sees no administration and is refused by the API', async () => {
	const { admin } = await newOrg();
	const email = unique('agent') + '@x.test';
	await admin.post('/api/users', { email, name: 'Agent', role_ids: [await roleId(admin, 'agent')] });
	setPassword(email, 'Agent-Password-123');
	const agent = new Client();
	await agent.login(email, 'Agent-Password-123');
	for (const [m, p] of [['GET', '/api/users'], ['POST', '/api/users'], ['GET', '/api/audit'],
	    ['GET', '/api/roles'], ['POST', '/api/units'], ['GET', '/api/sites'], ['GET', '/api/platform/orgs']]) {
		const r = await agent.req(m, p, m === 'POST' ? { name: 'x', email: 'a@b.test' } : undefined);
		assert.equal(r.status, 403, `${m} ${p}`);
		assert.equal(r.json.error.code, 'forbidden');
	}
	assert.equal((await agent.get('/admin/users')).status, 403);
	const root = await agent.get('/');
	assert.equal(root.headers.get('location'), '/console', 'agents start in the console');
});

test('nobody grants permissions they do not hold', async () => {
	const { admin } = await newOrg();
	const lead = (await admin.post('/api/roles', { name: 'User manager', permissions: ['users.read', 'users.write', 'roles.read'] })).json.role;
	const email = unique('lead') + '@x.test';
	await admin.post('/api/users', { email, name: 'Lead', role_ids: [lead.id] });
	setPassword(email, 'Lead-Password-123');
	const c = new Client();
	await c.login(email, 'Lead-Password-123');
	const me = (await c.get('/api/me')).json;
	const up = await c.put(`/api/users/${me.id}`, { name: 'Lead', role_ids: [await roleId(admin, 'administrator')] });
	assert.equal(up.status, 403);
	assert.match(up.json.error.message, /cannot grant/);
	assert.deepEqual((await c.get('/api/me')).json.roles.map((r) => r.name), ['User manager']);
});

test('units form a tree without cycles; roles and sites validate', async () => {
	const { admin } = await newOrg();
	const top = (await admin.post('/api/units', { name: 'Top' })).json.unit;
	const mid = (await admin.post('/api/units', { name: 'Mid', parent_id: top.id })).json.unit;
	const low = (await admin.post('/api/units', { name: 'Low', parent_id: mid.id })).json.unit;
	const cyc = await admin.put(`/api/units/${top.id}`, { name: 'Top', parent_id: low.id });
	assert.equal(cyc.status, 422);
	assert.equal((await admin.del(`/api/units/${mid.id}`)).status, 409);
	assert.equal((await admin.del(`/api/units/${low.id}`)).status, 204);

	const roles = (await admin.get('/api/roles')).json;
	assert.deepEqual(roles.roles.filter((r) => r.builtin).map((r) => r.builtin).sort(), ['administrator', 'agent', 'supervisor']);
	assert.ok(!roles.permissions.some((p) => p.code === 'platform.orgs'));
	const adminRole = roles.roles.find((r) => r.builtin === 'administrator');
	assert.equal((await admin.put(`/api/roles/${adminRole.id}`, { name: 'X', permissions: [] })).status, 409);
	assert.equal((await admin.del(`/api/roles/${adminRole.id}`)).status, 409);
	assert.equal((await admin.post('/api/roles', { name: 'Sneaky', permissions: ['platform.orgs'] })).status, 422);
	const custom = await admin.post('/api/roles', { name: 'Auditor', permissions: ['audit.read'] });
	assert.equal(custom.status, 201);
	assert.equal((await admin.del(`/api/roles/${custom.json.role.id}`)).status, 204);

	assert.equal((await admin.post('/api/sites', { name: 'S', allowed_origins: ['javascript:alert(1)'] })).status, 422);
	assert.equal((await admin.post('/api/sites', { name: 'S', allowed_origins: ['https://a.test/path'] })).status, 422);
	const site = (await admin.post('/api/sites', { name: 'Bank', allowed_origins: ['https://bank.test'] })).json.site;
	assert.match(site.site_key, /^pk_[\w-]{24}$/);
	const rot = (await admin.post(`/api/sites/${site.id}/rotate-key`)).json.site;
	assert.notEqual(rot.site_key, site.site_key);
});
