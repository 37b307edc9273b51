// Tenancy at the database and the platform operator's organisations.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Client, sql, setPassword, newOrg, unique } from '../lib/vb.mjs';

test('row-level security: without a tenant the application role sees nothing', async () => {
	await newOrg();
	assert.ok(Number(sql('SELECT count(*) FROM users')) > 0, 'superuser sees rows');
	for (const t of ['users', 'units', 'roles', 'sessions', 'audit_log', 'sites', 'skills', 'organisations'])
		assert.equal(sql(`SET ROLE vb_app; SELECT count(*) FROM ${t}`), '0', t);
	const t1 = sql("SELECT min(id) FROM organisations WHERE NOT is_platform");
	const n = sql(`SELECT count(*) FROM users WHERE tenant_id = ${t1}`);
	assert.equal(sql(`SET ROLE vb_app; BEGIN; SELECT set_config('vb.tenant_id', '${t1}', true); SELECT count(*) FROM users; COMMIT`).split('\n')[1], n);
	// Even with a tenant set, a row of another tenant cannot be written.
	assert.throws(() => sql(`SET ROLE vb_app; BEGIN; SELECT set_config('vb.tenant_id', '${t1}', true); INSERT INTO skills (tenant_id, name) VALUES (${t1} + 100000, 'x'); COMMIT`));
});

test('a platform operator creates an organisation with its first administrator', async () => {
	const email = unique('op') + '@platform.test';
	const platform = sql("SELECT id FROM organisations WHERE is_platform");
	const hash = sql(`SELECT password_hash FROM users WHERE tenant_id = ${platform} LIMIT 1`);
	const role = sql(`SELECT id FROM roles WHERE tenant_id = ${platform} AND builtin = 'administrator'`);
	const uid = sql(`INSERT INTO users (tenant_id, email, name, password_hash, must_change_password) VALUES (${platform}, '${email}', 'Op', '${hash}', false) RETURNING id`);
	sql(`INSERT INTO user_roles (tenant_id, user_id, role_id) VALUES (${platform}, ${uid}, ${role})`);
	setPassword(email, 'Operator-Password-1');
	const op = new Client();
	assert.equal((await op.login(email, 'Operator-Password-1')).status, 200);
	const slug = unique('org').toLowerCase().slice(0, 30);
	const r = await op.post('/api/platform/orgs', { name: 'Insurer', slug, admin_email: `boss@${slug}.test`, admin_name: 'Boss' });
	assert.equal(r.status, 201);
	assert.equal(r.json.org.slug, slug);
	assert.equal(r.json.admin.email, `boss@${slug}.test`);
	assert.ok(r.json.temporary_password);
	assert.equal((await op.post('/api/platform/orgs', { name: 'Again', slug, admin_email: `x@${slug}.test`, admin_name: 'X' })).status, 409);
	assert.equal((await op.post('/api/platform/orgs', { name: 'Bad', slug: 'Bad Slug!', admin_email: 'x@y.test', admin_name: 'X' })).status, 422);
	const list = await op.get('/api/platform/orgs');
	assert.ok(list.json.orgs.some((o) => o.slug === slug));

	const boss = new Client();
	const l = await boss.login(`boss@${slug}.test`, r.json.temporary_password);
	assert.equal(l.json.must_change_password, true);
	await boss.post('/api/me/password', { current_password: r.json.temporary_password, new_password: 'Boss-New-Password' });
	const users = await boss.get('/api/users');
	assert.deepEqual(users.json.users.map((u) => u.email), [`boss@${slug}.test`]);
	// An organisation administrator is no platform operator.
	assert.equal((await boss.get('/api/platform/orgs')).status, 403);
});
