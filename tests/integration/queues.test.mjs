// Queue administration (A1–A6), business hours, subjects chosen in the
// widget (W4) and the console's lists (wrap-up codes, not-ready reasons,
// canned replies): every endpoint with good and bad input, permissions,
// tenancy, audit entries, and subject routing over the WebSocket.
import test from 'node:test';
import assert from 'node:assert/strict';
import { connect as wsConnect } from '../lib/chat.mjs';
import { Client, sql, setPassword, newOrg, roleId, unique } from '../lib/vb.mjs';

const BASE = process.env.VB_TEST_URL;
const HOST_ORIGIN = 'http://127.0.0.2:9';

const audits = (t, action) => Number(sql(`SELECT count(*) FROM audit_log WHERE tenant_id = ${t} AND action = '${action}'`));

async function userWith(admin, builtin, name = 'Agent') {
	const email = unique('u') + '@x.test';
	const r = await admin.post('/api/users', { email, name, role_ids: [await roleId(admin, builtin)] });
	assert.equal(r.status, 201, r.text);
	setPassword(email, 'Some-Password-12');
	const c = new Client();
	assert.equal((await c.login(email, 'Some-Password-12')).status, 200);
	return { id: r.json.user.id, c };
}

async function widgetSession(key) {
	const r = await fetch(BASE + '/api/widget/session', { method: 'POST',
	    headers: { 'content-type': 'application/json', origin: HOST_ORIGIN },
	    body: JSON.stringify({ site_key: key }) });
	return { status: r.status, json: await r.json() };
}

const connect = ({ token, cookie } = {}) => wsConnect(BASE, { token, cookie });

const fullQueue = (extra = {}) => ({
	name: unique('Queue '), strategy: 'round_robin', priority: 5, capacity: 4, offer_timeout_s: 30,
	wrapup_s: 60, preferred_s: 45, relax_after_s: 120, skills: [],
	hours: { enabled: false, time_zone: 'Europe/Vienna', weekly: [], closed_dates: [] }, ...extra,
});

test('queues: create with every field, read, update, list; audit entries', async () => {
	const { admin, tenant } = await newOrg();
	const sk = (await admin.post('/api/skills', { name: 'Mortgages' })).json.skill;
	const target = (await admin.post('/api/queues', fullQueue())).json.queue;
	const body = fullQueue({ skills: [{ skill_id: sk.id, level: 4 }], overflow_queue_id: target.id,
	    overflow_after_s: 300, overflow_waiting: 10,
	    hours: { enabled: true, time_zone: 'Europe/Vienna',
		weekly: [{ weekday: 1, opens: '08:00', closes: '12:00' }, { weekday: 1, opens: '13:00', closes: '24:00' }],
		closed_dates: [{ date: '2030-12-25', name: 'Christmas' }] } });
	const r = await admin.post('/api/queues', body);
	assert.equal(r.status, 201, r.text);
	const q = r.json.queue;
	for (const k of ['name', 'strategy', 'priority', 'capacity', 'offer_timeout_s', 'wrapup_s', 'preferred_s',
	    'overflow_queue_id', 'overflow_after_s', 'overflow_waiting', 'relax_after_s'])
		assert.equal(q[k], body[k], k);
	assert.deepEqual(q.skills, [{ skill_id: sk.id, name: 'Mortgages', level: 4 }]);
	assert.deepEqual(q.hours.weekly, body.hours.weekly);
	assert.deepEqual(q.hours.closed_dates, body.hours.closed_dates);
	assert.equal(q.hours.time_zone, 'Europe/Vienna');
	assert.equal(sql(`SELECT min_level FROM queue_skills WHERE queue_id = ${q.id}`), '4');

	const upd = await admin.put(`/api/queues/${q.id}`, { name: 'Renamed', strategy: 'least_occupied', skills: [] });
	assert.equal(upd.status, 200, upd.text);
	assert.equal(upd.json.queue.strategy, 'least_occupied');
	assert.equal(upd.json.queue.capacity, 3, 'a full replace: omitted fields take their defaults');
	assert.equal(upd.json.queue.overflow_queue_id, null);
	assert.deepEqual(upd.json.queue.skills, []);
	assert.equal(upd.json.queue.hours.enabled, false);
	assert.equal((await admin.get(`/api/queues/${q.id}`)).json.queue.name, 'Renamed');
	const list = await admin.get('/api/queues');
	assert.deepEqual(list.json.queues.map((x) => x.id).sort(), [q.id, target.id].sort());
	assert.equal(audits(tenant, 'queue.create'), 2);
	assert.equal(audits(tenant, 'queue.update'), 1);
	const a = JSON.parse(sql(`SELECT after FROM audit_log WHERE tenant_id = ${tenant} AND action = 'queue.update'`));
	assert.equal(a.name, 'Renamed');
});

test('queues: bad input is refused per field and changes nothing', async () => {
	const { admin, tenant } = await newOrg();
	const other = await newOrg();
	const theirs = (await other.admin.post('/api/queues', fullQueue())).json.queue;
	const theirSkill = (await other.admin.post('/api/skills', { name: 'Theirs' })).json.skill;
	const q = (await admin.post('/api/queues', fullQueue())).json.queue;
	const cases = [
		[{ name: '' }, 'name'],
		[{ name: 42 }, 'name'],
		[{ name: 'x'.repeat(101) }, 'name'],
		[{ strategy: 'random' }, 'strategy'],
		[{ priority: 101 }, 'priority'],
		[{ priority: 'high' }, 'priority'],
		[{ capacity: 0 }, 'capacity'],
		[{ capacity: 2.5 }, 'capacity'],
		[{ offer_timeout_s: 4 }, 'offer_timeout_s'],
		[{ wrapup_s: 3601 }, 'wrapup_s'],
		[{ overflow_queue_id: theirs.id }, 'overflow_queue_id'],
		[{ overflow_queue_id: 999999999 }, 'overflow_queue_id'],
		[{ overflow_after_s: 30 }, 'overflow_queue_id'],
		[{ skills: [{ skill_id: theirSkill.id, level: 3 }] }, 'skills'],
		[{ skills: [{ skill_id: 1, level: 6 }] }, 'level'],
		[{ skills: 'all' }, 'skills'],
		[{ hours: { enabled: true, time_zone: 'Mars/Olympus', weekly: [] } }, 'hours.time_zone'],
		[{ hours: { enabled: true, time_zone: 'UTC', weekly: [{ weekday: 8, opens: '08:00', closes: '09:00' }] } }, 'hours.weekly'],
		[{ hours: { enabled: true, time_zone: 'UTC', weekly: [{ weekday: 1, opens: '10:00', closes: '09:00' }] } }, 'hours.weekly'],
		[{ hours: { enabled: true, time_zone: 'UTC', weekly: [{ weekday: 1, opens: '08:00', closes: '12:00' },
		    { weekday: 1, opens: '11:00', closes: '13:00' }] } }, 'hours.weekly'],
		[{ hours: { enabled: true, time_zone: 'UTC', weekly: [], closed_dates: [{ date: '2030-02-30' }] } }, 'hours.closed_dates'],
	];
	const before = sql(`SELECT count(*) FROM audit_log WHERE tenant_id = ${tenant}`);
	for (const [patch, fieldName] of cases) {
		const r = await admin.put(`/api/queues/${q.id}`, { ...fullQueue({ name: q.name }), ...patch });
		assert.equal(r.status, 422, JSON.stringify(patch) + ' ' + r.text);
		assert.equal(r.json.error.field, fieldName, JSON.stringify(patch));
	}
	// A duplicate name is a conflict on the name field.
	const dup = await admin.post('/api/queues', fullQueue({ name: q.name.toUpperCase() }));
	assert.equal(dup.status, 409);
	assert.equal(dup.json.error.field, 'name');
	assert.equal((await admin.post('/api/queues', '[1]')).status, 400);
	assert.equal((await admin.post('/api/queues', { ...fullQueue(), pad: 'x'.repeat(70000) })).status, 413);
	// No overflow cycles.
	const b = (await admin.post('/api/queues', fullQueue({ overflow_queue_id: q.id }))).json.queue;
	const cyc = await admin.put(`/api/queues/${q.id}`, fullQueue({ name: q.name, overflow_queue_id: b.id }));
	assert.equal(cyc.status, 422);
	assert.equal(cyc.json.error.field, 'overflow_queue_id');
	assert.equal(sql(`SELECT count(*) FROM audit_log WHERE tenant_id = ${tenant}`), String(Number(before) + 1),
	    'only the one good create was audited');
	assert.equal((await admin.get(`/api/queues/${q.id}`)).json.queue.strategy, 'round_robin', 'unchanged');
	// Another organisation's queue is not there at all.
	assert.equal((await admin.get(`/api/queues/${theirs.id}`)).status, 404);
	assert.equal((await admin.put(`/api/queues/${theirs.id}`, fullQueue())).status, 404);
	assert.equal((await admin.del(`/api/queues/${theirs.id}`)).status, 404);
	assert.equal((await admin.get('/api/queues/abc')).status, 404);
});

test('queues: permissions; deleting a queue in use is a clear 409', async () => {
	const { admin, tenant } = await newOrg();
	const agent = await userWith(admin, 'agent');
	assert.equal((await agent.c.get('/api/queues')).status, 403);
	assert.equal((await agent.c.post('/api/queues', fullQueue())).status, 403);
	assert.equal((await agent.c.get('/admin/queues')).status, 403);
	const sup = await userWith(admin, 'supervisor');
	assert.equal((await sup.c.post('/api/queues', fullQueue())).status, 403);
	assert.equal(sql(`SELECT count(*) FROM queues WHERE tenant_id = ${tenant}`), '0');
	assert.equal((await admin.get('/admin/queues')).status, 200);

	const q = (await admin.post('/api/queues', fullQueue())).json.queue;
	const site = (await admin.post('/api/sites', { name: 'Bank', allowed_origins: [HOST_ORIGIN] })).json.site;
	const dq = await admin.put(`/api/sites/${site.id}/default-queue`, { queue_id: q.id });
	assert.equal(dq.status, 200, dq.text);
	assert.equal(dq.json.default_queue_id, q.id);
	assert.equal(audits(tenant, 'site.default_queue'), 1);
	let del = await admin.del(`/api/queues/${q.id}`);
	assert.equal(del.status, 409);
	assert.equal(del.json.error.code, 'in_use');
	assert.match(del.json.error.message, /default queue of site Bank/);
	await admin.put(`/api/sites/${site.id}/default-queue`, { queue_id: null });
	const subj = (await admin.post(`/api/sites/${site.id}/subjects`, { name: 'Loans', queue_id: q.id })).json.subject;
	del = await admin.del(`/api/queues/${q.id}`);
	assert.equal(del.status, 409);
	assert.match(del.json.error.message, /subject Loans/);
	await admin.del(`/api/subjects/${subj.id}`);
	const o = (await admin.post('/api/queues', fullQueue({ overflow_queue_id: q.id }))).json.queue;
	assert.match((await admin.del(`/api/queues/${q.id}`)).json.error.message, /overflow of queue/);
	assert.equal((await admin.del(`/api/queues/${o.id}`)).status, 204);
	assert.equal((await admin.del(`/api/queues/${q.id}`)).status, 204);
	assert.equal(audits(tenant, 'queue.delete'), 2);
	assert.equal((await admin.get(`/api/queues/${q.id}`)).status, 404);
});

test('business hours: vb_queue_open by weekday, time zone and closed dates; widget sees open:false', async () => {
	const { admin } = await newOrg();
	// Open Monday 09:00–17:00 in New York; closed on 2030-01-07 (a Monday).
	const q = (await admin.post('/api/queues', fullQueue({ hours: { enabled: true, time_zone: 'America/New_York',
	    weekly: [{ weekday: 1, opens: '09:00', closes: '17:00' }], closed_dates: [{ date: '2030-01-07', name: 'Closed' }] } }))).json.queue;
	const open = (at) => sql(`SELECT vb_queue_open(${q.id}, '${at}'::timestamptz)`);
	assert.equal(open('2030-01-14 14:30:00+00'), 't', 'Monday 09:30 in New York');
	assert.equal(open('2030-01-14 13:59:00+00'), 'f', 'Monday 08:59 in New York');
	assert.equal(open('2030-01-14 16:59:00+00'), 't', '17:00 UTC is not yet 17:00 there');
	assert.equal(open('2030-01-14 21:59:59+00'), 't');
	assert.equal(open('2030-01-14 22:00:00+00'), 'f', 'closes at 17:00 local');
	assert.equal(open('2030-01-15 15:00:00+00'), 'f', 'Tuesday');
	assert.equal(open('2030-01-07 15:00:00+00'), 'f', 'a closed date');
	const always = (await admin.post('/api/queues', fullQueue())).json.queue;
	assert.equal(sql(`SELECT vb_queue_open(${always.id}, now())`), 't', 'no hours: always open');

	// A queue closed right now (open only on a closed date) is reported closed to the widget.
	const closed = (await admin.post('/api/queues', fullQueue({ hours: { enabled: true, time_zone: 'UTC', weekly: [] } }))).json.queue;
	assert.equal(closed.open_now, false);
	const site = (await admin.post('/api/sites', { name: 'Bank', allowed_origins: [HOST_ORIGIN] })).json.site;
	await admin.put(`/api/sites/${site.id}/default-queue`, { queue_id: closed.id });
	const a = (await admin.post(`/api/sites/${site.id}/subjects`, { name: 'Accounts', queue_id: always.id })).json.subject;
	const b = (await admin.post(`/api/sites/${site.id}/subjects`, { name: 'After hours', queue_id: closed.id })).json.subject;
	await admin.post(`/api/sites/${site.id}/subjects`, { name: 'Hidden', queue_id: always.id, active: false });
	const s = await widgetSession(site.site_key);
	assert.equal(s.status, 201);
	assert.ok(s.json.token && s.json.conversation_id);
	assert.equal(s.json.open, false);
	assert.deepEqual(s.json.subjects, [{ id: a.id, name: 'Accounts', open: true }, { id: b.id, name: 'After hours', open: false }]);
});

test('subjects: CRUD, order, validation, tenancy, audit', async () => {
	const { admin, tenant } = await newOrg();
	const other = await newOrg();
	const q = (await admin.post('/api/queues', fullQueue())).json.queue;
	const theirQ = (await other.admin.post('/api/queues', fullQueue())).json.queue;
	const site = (await admin.post('/api/sites', { name: 'Bank', allowed_origins: [HOST_ORIGIN] })).json.site;
	const theirSite = (await other.admin.post('/api/sites', { name: 'B', allowed_origins: [HOST_ORIGIN] })).json.site;
	const x = (await admin.post(`/api/sites/${site.id}/subjects`, { name: 'Cards', queue_id: q.id })).json.subject;
	const y = (await admin.post(`/api/sites/${site.id}/subjects`, { name: 'Loans', queue_id: q.id })).json.subject;
	assert.equal(x.active, true);
	assert.ok(y.sort > x.sort);
	const bad = [
		[{ name: '', queue_id: q.id }, 422, 'name'],
		[{ name: 'x'.repeat(101), queue_id: q.id }, 422, 'name'],
		[{ name: 'A', queue_id: 'one' }, 422, 'queue_id'],
		[{ name: 'A', queue_id: theirQ.id }, 422, 'queue_id'],
		[{ name: 'A', queue_id: q.id, active: 'yes' }, 422, 'active'],
		[{ name: 'cards', queue_id: q.id }, 409, 'name'],
	];
	for (const [body, status, f] of bad) {
		const r = await admin.post(`/api/sites/${site.id}/subjects`, body);
		assert.equal(r.status, status, JSON.stringify(body) + r.text);
		assert.equal(r.json.error.field, f);
	}
	assert.equal((await admin.post(`/api/sites/${theirSite.id}/subjects`, { name: 'A', queue_id: q.id })).status, 404);
	const upd = await admin.put(`/api/subjects/${x.id}`, { name: 'Credit cards', queue_id: q.id, active: false });
	assert.equal(upd.status, 200);
	assert.equal(upd.json.subject.active, false);
	const ord = await admin.put(`/api/sites/${site.id}/subjects/order`, { ids: [y.id, x.id] });
	assert.equal(ord.status, 200, ord.text);
	assert.deepEqual(ord.json.subjects.map((s) => s.id), [y.id, x.id]);
	assert.equal((await admin.put(`/api/sites/${site.id}/subjects/order`, { ids: [y.id] })).status, 422);
	assert.equal((await admin.put(`/api/sites/${site.id}/subjects/order`, { ids: [y.id, y.id] })).status, 422);
	const routing = await admin.get(`/api/sites/${site.id}/routing`);
	assert.deepEqual(routing.json.subjects.map((s) => s.name), ['Loans', 'Credit cards']);
	assert.equal((await other.admin.get(`/api/sites/${site.id}/routing`)).status, 404);
	assert.equal((await other.admin.put(`/api/subjects/${x.id}`, { name: 'Z', queue_id: theirQ.id })).status, 404);
	assert.equal((await other.admin.del(`/api/subjects/${x.id}`)).status, 404);
	const agent = await userWith(admin, 'agent');
	assert.equal((await agent.c.post(`/api/sites/${site.id}/subjects`, { name: 'Q', queue_id: q.id })).status, 403);
	assert.equal(audits(tenant, 'subject.create'), 2);
	assert.equal(audits(tenant, 'subject.update'), 1);
	assert.equal(audits(tenant, 'subject.order'), 1);
	assert.equal((await admin.del(`/api/subjects/${x.id}`)).status, 204);
	assert.equal(audits(tenant, 'subject.delete'), 1);
});

test('subject routing: the customer\'s subject queues the chat in its queue and an agent with its skills is offered it', async () => {
	const { admin, tenant } = await newOrg();
	const other = await newOrg();
	const sk = (await admin.post('/api/skills', { name: 'Mortgages' })).json.skill;
	const general = (await admin.post('/api/queues', fullQueue())).json.queue;
	const mortgages = (await admin.post('/api/queues', fullQueue({ skills: [{ skill_id: sk.id, level: 3 }] }))).json.queue;
	const site = (await admin.post('/api/sites', { name: 'Bank', allowed_origins: [HOST_ORIGIN] })).json.site;
	const site2 = (await admin.post('/api/sites', { name: 'Other site', allowed_origins: [HOST_ORIGIN] })).json.site;
	await admin.put(`/api/sites/${site.id}/default-queue`, { queue_id: general.id });
	const subj = (await admin.post(`/api/sites/${site.id}/subjects`, { name: 'Mortgages', queue_id: mortgages.id })).json.subject;
	const foreign = (await admin.post(`/api/sites/${site2.id}/subjects`, { name: 'Elsewhere', queue_id: general.id })).json.subject;
	const oq = (await other.admin.post('/api/queues', fullQueue())).json.queue;
	const osite = (await other.admin.post('/api/sites', { name: 'O', allowed_origins: [HOST_ORIGIN] })).json.site;
	const theirs = (await other.admin.post(`/api/sites/${osite.id}/subjects`, { name: 'Theirs', queue_id: oq.id })).json.subject;

	// An agent with the skill at level 4, and one without it.
	const expert = await userWith(admin, 'agent', 'Expert');
	await admin.put(`/api/users/${expert.id}`, { name: 'Expert', role_ids: [await roleId(admin, 'agent')], skills: [{ skill_id: sk.id, level: 4 }] });
	const novice = await userWith(admin, 'agent', 'Novice');
	const wsN = await connect({ cookie: novice.c.cookieHeader() });
	wsN.sendJson({ type: 'state', state: 'ready' });
	await wsN.next((f) => f.type === 'state');

	const s = (await widgetSession(site.site_key)).json;
	const cust = await connect({ token: s.token });
	await cust.next((f) => f.type === 'hello');
	// Bad subjects: of another site, of another organisation, not a number. Nothing is stored.
	for (const [sid, code] of [[foreign.id, 'invalid_subject'], [theirs.id, 'invalid_subject'], ['x', 'invalid_subject'], [-1, 'invalid_subject']]) {
		const cid = unique('c');
		cust.sendJson({ type: 'send', conversation_id: s.conversation_id, client_id: cid, text: 'Hello', subject_id: sid });
		const e = await cust.next((f) => f.type === 'error' && f.client_id === cid);
		assert.equal(e.code, code);
	}
	assert.equal(sql(`SELECT count(*) FROM messages WHERE conversation_id = ${s.conversation_id}`), '0');
	assert.equal(sql(`SELECT routing FROM conversations WHERE id = ${s.conversation_id}`), 'none');

	cust.sendJson({ type: 'send', conversation_id: s.conversation_id, client_id: 'first', text: 'About my mortgage', subject_id: subj.id });
	await cust.next((f) => f.type === 'ack' && f.client_id === 'first');
	assert.equal(sql(`SELECT subject_id || ':' || queue_id FROM conversations WHERE id = ${s.conversation_id}`), `${subj.id}:${mortgages.id}`);
	// The novice lacks the skill: no offer. The expert gets ready and is offered it.
	const wsE = await connect({ cookie: expert.c.cookieHeader() });
	wsE.sendJson({ type: 'state', state: 'ready' });
	const offer = await wsE.next((f) => f.type === 'offer');
	assert.equal(offer.conversation_id, s.conversation_id);
	assert.ok(!wsN.frames.some((f) => f.type === 'offer'), 'never offered to the agent without the skill');
	// Resending the first message is idempotent.
	cust.sendJson({ type: 'send', conversation_id: s.conversation_id, client_id: 'first', text: 'About my mortgage', subject_id: subj.id });
	await cust.next((f) => f.type === 'ack' && f.client_id === 'first');
	assert.equal(sql(`SELECT count(*) FROM messages WHERE conversation_id = ${s.conversation_id}`), '1');

	// Without a subject the site's default queue takes it.
	const s2 = (await widgetSession(site.site_key)).json;
	const c2 = await connect({ token: s2.token });
	c2.sendJson({ type: 'send', conversation_id: s2.conversation_id, client_id: 'a', text: 'Hi' });
	await c2.next((f) => f.type === 'ack');
	assert.equal(sql(`SELECT coalesce(subject_id::text, '-') || ':' || queue_id FROM conversations WHERE id = ${s2.conversation_id}`), `-:${general.id}`);
	assert.equal(sql(`SELECT count(*) FROM conversations WHERE tenant_id = ${tenant} AND queue_id = ${oq.id}`), '0');
	for (const w of [wsN, wsE, cust, c2]) w.close();
});

test('console lists: wrap-up codes, not-ready reasons, canned replies', async () => {
	const { admin, tenant } = await newOrg();
	const other = await newOrg();
	const agent = await userWith(admin, 'agent');
	for (const [path, kind] of [['wrapup-codes', 'wrapup_code'], ['notready-reasons', 'notready_reason']]) {
		const b = (await admin.post(`/api/${path}`, { name: 'Zeta', sort: 2 })).json.item;
		const a = (await admin.post(`/api/${path}`, { name: 'Alpha', sort: 2 })).json.item;
		const first = (await admin.post(`/api/${path}`, { name: 'First', sort: 1, active: false })).json.item;
		assert.deepEqual(first, { id: first.id, name: 'First', active: false, sort: 1 });
		const list = await admin.get(`/api/${path}`);
		assert.deepEqual(list.json.items.map((x) => x.name), ['First', 'Alpha', 'Zeta'], 'sort, then name');
		const cons = await agent.c.get(`/api/console/${path}`);
		assert.equal(cons.status, 200);
		assert.deepEqual(cons.json, list.json);
		assert.equal((await agent.c.get(`/api/${path}`)).status, 403);
		assert.equal((await agent.c.post(`/api/${path}`, { name: 'X' })).status, 403);
		for (const body of [{ name: '' }, { name: 'x'.repeat(101) }, { name: 5 }, { name: 'Q', sort: 'a' },
		    { name: 'Q', sort: 1e6 }, { name: 'Q', active: 1 }]) {
			const r = await admin.post(`/api/${path}`, body);
			assert.equal(r.status, 422, JSON.stringify(body));
		}
		assert.equal((await admin.post(`/api/${path}`, { name: 'alpha' })).status, 409);
		const u = await admin.put(`/api/${path}/${b.id}`, { name: 'Beta', sort: 0 });
		assert.equal(u.status, 200);
		assert.equal(u.json.item.name, 'Beta');
		assert.equal((await other.admin.put(`/api/${path}/${a.id}`, { name: 'Mine' })).status, 404);
		assert.equal((await other.admin.del(`/api/${path}/${a.id}`)).status, 404);
		assert.deepEqual((await other.admin.get(`/api/${path}`)).json.items, []);
		assert.equal((await admin.del(`/api/${path}/${a.id}`)).status, 204);
		assert.equal(audits(tenant, `${kind}.create`), 3);
		assert.equal(audits(tenant, `${kind}.update`), 1);
		assert.equal(audits(tenant, `${kind}.delete`), 1);
	}
	const c = await admin.post('/api/canned-replies', { title: 'Greeting', shortcut: 'hi', body: 'Hello {{customer.name}}, I am {{agent.name}} from {{site.name}}.' });
	assert.equal(c.status, 201, c.text);
	assert.deepEqual(Object.keys(c.json.item).sort(), ['active', 'body', 'id', 'shortcut', 'title']);
	assert.equal((await admin.post('/api/canned-replies', { title: 'Other', shortcut: 'hi', body: 'x' })).json.error.field, 'shortcut');
	assert.equal((await admin.post('/api/canned-replies', { title: 'Bad', shortcut: 'no spaces', body: 'x' })).status, 422);
	assert.equal((await admin.post('/api/canned-replies', { title: 'Long', body: 'x'.repeat(4001) })).status, 422);
	assert.equal((await admin.post('/api/canned-replies', { title: 'No body' })).status, 422);
	const n = await admin.post('/api/canned-replies', { title: 'No shortcut', body: 'Text' });
	assert.equal(n.json.item.shortcut, null);
	assert.equal((await admin.post('/api/canned-replies', { title: 'Also none', body: 'Text', shortcut: '' })).status, 201, 'several without a shortcut');
	const cl = await agent.c.get('/api/console/canned-replies');
	assert.deepEqual(cl.json.items.map((x) => x.title), ['Also none', 'Greeting', 'No shortcut']);
	assert.equal((await other.admin.get('/api/canned-replies')).json.items.length, 0);
	assert.equal((await admin.put(`/api/canned-replies/${c.json.item.id}`, { title: 'Greeting', body: 'Hi', active: false })).json.item.active, false);
	assert.equal((await admin.del(`/api/canned-replies/${c.json.item.id}`)).status, 204);
	assert.equal(audits(tenant, 'canned_reply.create'), 3);
});
