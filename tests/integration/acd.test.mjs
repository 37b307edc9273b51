// The ACD's routing core (sql/migrations/0008_acd.sql), called as the
// application calls it: role vb_app, tenant and actor set per transaction.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { sql, newOrg, roleId, unique, DB } from '../lib/vb.mjs';

// Runs statements in one transaction as vb_app; returns the last line.
function acd(tenant, actor, stmt) {
	const out = sql(`SET ROLE vb_app; BEGIN; SELECT set_config('vb.tenant_id', '${tenant}', true),
	    set_config('vb.user_id', '${actor || ''}', true); ${stmt}; COMMIT`);
	return out.split('\n').slice(1).join('\n');
}

async function setup({ strategy = 'longest_idle', capacity = 2, agents = 3, skill = null } = {}) {
	const org = await newOrg();
	const t = org.tenant;
	const agentRole = await roleId(org.admin, 'agent');
	const ids = [];
	for (let i = 0; i < agents; i++) {
		const r = await org.admin.post('/api/users', { email: unique('ag') + '@x.test', name: `Agent ${i}`, role_ids: [agentRole] });
		ids.push(r.json.user.id);
	}
	const q = sql(`INSERT INTO queues (tenant_id, name, strategy, capacity, offer_timeout_s, preferred_s)
	    VALUES (${t}, 'Q ${unique('q')}', '${strategy}', ${capacity}, 20, 30) RETURNING id`);
	if (skill) {
		const s = sql(`INSERT INTO skills (tenant_id, name) VALUES (${t}, '${unique('sk')}') RETURNING id`);
		sql(`INSERT INTO queue_skills (tenant_id, queue_id, skill_id, min_level) VALUES (${t}, ${q}, ${s}, ${skill.min})`);
		skill.levels.forEach((lv, i) => lv && sql(`INSERT INTO user_skills (tenant_id, user_id, skill_id, level) VALUES (${t}, ${ids[i]}, ${s}, ${lv})`));
	}
	return { org, t, q, ids };
}

function contact(t, q, { importance = 0, preferred = null, ago = 0 } = {}) {
	const cust = sql(`INSERT INTO customers (tenant_id) VALUES (${t}) RETURNING id`);
	const conv = sql(`INSERT INTO conversations (tenant_id, customer_id) VALUES (${t}, ${cust}) RETURNING id`);
	acd(t, null, `SELECT vb_acd_enqueue(${conv}, ${q}, ${importance}, ${preferred ?? 'NULL'})`);
	if (ago) sql(`UPDATE conversations SET queued_at = now() - interval '${ago} seconds' WHERE id = ${conv}`);
	return Number(conv);
}

const ready = (t, u) => acd(t, u, "SELECT vb_acd_set_state('ready', NULL)");
// The running server routes too (on events and every second), so a test
// runs a pass itself and then reads the open offers: the outcome is the
// same whoever made them.
// A pass of the server's own may hold the rows this pass skips (SKIP LOCKED)
// and commit a moment later: read again after a short wait before saying
// nothing was offered.
const offers = (t) => sql(`SELECT id, offered_user_id FROM conversations WHERE tenant_id = ${t}
    AND routing = 'offered' ORDER BY id`).split('\n').filter(Boolean).map((l) => l.split('|').map(Number));
const route = (t) => {
	acd(t, null, 'SELECT count(*) FROM vb_acd_route()');
	const got = offers(t);
	if (got.length)
		return got;
	sql('SELECT pg_sleep(0.3)');
	return offers(t);
};

test('priority first, then time in queue; an offer goes to one agent at a time', async () => {
	const { t, q, ids } = await setup({ agents: 1, capacity: 5 });
	const old = contact(t, q, { ago: 60 });
	const vip = contact(t, q, { importance: 10 });
	const young = contact(t, q);
	ready(t, ids[0]);
	assert.deepEqual(route(t), [[vip, ids[0]]], 'the VIP first; one offer per agent at once');
	assert.deepEqual(route(t), [[vip, ids[0]]], 'still that one offer while it is open');
	acd(t, ids[0], `SELECT vb_acd_accept(${vip})`);
	assert.deepEqual(route(t), [[old, ids[0]]], 'then the one waiting longest');
	acd(t, ids[0], `SELECT vb_acd_accept(${old})`);
	assert.deepEqual(route(t), [[young, ids[0]]]);
	assert.equal(sql(`SELECT routing || ':' || assigned_user_id FROM conversations WHERE id = ${vip}`), `assigned:${ids[0]}`);
	assert.equal(sql(`SELECT count(*) FROM conversation_staff WHERE conversation_id = ${vip}`), '1');
});

test('capacity is never exceeded, counting open offers', async () => {
	const { t, q, ids } = await setup({ agents: 1, capacity: 2 });
	const cs = [contact(t, q), contact(t, q), contact(t, q)];
	ready(t, ids[0]);
	for (const c of cs.slice(0, 2)) {
		assert.deepEqual(route(t), [[c, ids[0]]]);
		acd(t, ids[0], `SELECT vb_acd_accept(${c})`);
	}
	assert.deepEqual(route(t), [], 'full at two');
	acd(t, ids[0], `SELECT vb_acd_finish(${cs[0]})`);
	assert.equal(sql(`SELECT state FROM agent_states WHERE user_id = ${ids[0]}`), 'wrapup');
	sql(`UPDATE agent_states SET wrapup_until = now() - interval '1 second' WHERE user_id = ${ids[0]}`);
	assert.deepEqual(route(t), [[cs[2], ids[0]]], 'after wrap-up a slot is free again');
});

test('strategies: longest idle, least occupied, round robin', async () => {
	{
		const { t, q, ids } = await setup({ strategy: 'longest_idle', agents: 2 });
		const c = contact(t, q);
		// Both become ready in one statement, with their history already set.
		sql(`INSERT INTO agent_states (tenant_id, user_id, state, last_assigned_at) VALUES
		    (${t}, ${ids[0]}, 'ready', now()), (${t}, ${ids[1]}, 'ready', now() - interval '1 hour')`);
		assert.deepEqual(route(t), [[c, ids[1]]], 'longest idle wins');
	}
	{
		const { t, q, ids } = await setup({ strategy: 'least_occupied', agents: 2, capacity: 4 });
		ready(t, ids[0]);
		ready(t, ids[1]);
		const a = contact(t, q);
		assert.equal(route(t).length, 1);
		const holder = Number(sql(`SELECT offered_user_id FROM conversations WHERE id = ${a}`));
		acd(t, holder, `SELECT vb_acd_accept(${a})`);
		const b = contact(t, q);
		const other = ids.find((x) => x !== holder);
		assert.deepEqual(route(t), [[b, other]], 'the agent with fewer chats gets the next');
	}
	{
		const { t, q, ids } = await setup({ strategy: 'round_robin', agents: 3, capacity: 5 });
		ids.forEach((u) => ready(t, u));
		const order = [];
		for (let i = 0; i < 4; i++) {
			const c = contact(t, q);
			const [[, u]] = route(t);
			acd(t, u, `SELECT vb_acd_accept(${c})`);
			order.push(u);
		}
		const sorted = [...ids].sort((x, y) => x - y);
		assert.deepEqual(order, [sorted[0], sorted[1], sorted[2], sorted[0]], 'each in turn, then around');
	}
});

test('skills with minimum levels, relaxed after waiting too long', async () => {
	const { t, q, ids } = await setup({ agents: 3, skill: { min: 4, levels: [5, 2, 0] } });
	sql(`UPDATE queues SET relax_after_s = 60 WHERE id = ${q}`);
	ready(t, ids[1]);
	ready(t, ids[2]);
	const c = contact(t, q);
	assert.deepEqual(route(t), [], 'level 2 and no skill do not qualify');
	ready(t, ids[0]);
	assert.deepEqual(route(t), [[c, ids[0]]]);
	acd(t, ids[0], `SELECT vb_acd_decline(${c})`);
	assert.deepEqual(route(t), [], 'the decliner is not asked again, and nobody else qualifies yet');
	sql(`UPDATE conversations SET queued_at = now() - interval '2 minutes' WHERE id = ${c}`);
	assert.deepEqual(route(t), [[c, ids[1]]], 'after a minute any level of the skill will do');
});

test('preferred agent first for a while, then the group; declines and time-outs move on', async () => {
	const { t, q, ids } = await setup({ agents: 2 });
	ready(t, ids[0]);
	const c = contact(t, q, { preferred: ids[1] });
	assert.deepEqual(route(t), [], 'waits for the relationship manager');
	ready(t, ids[1]);
	assert.deepEqual(route(t), [[c, ids[1]]]);
	// Hold the preferred window open while the offer runs out, so the
	// server's own routing cannot hand the contact on in between.
	sql(`UPDATE conversations SET offer_expires_at = now() - interval '1 second' WHERE id = ${c}`);
	acd(t, null, 'SELECT vb_acd_expire()');	// or the server's tick did it
	assert.equal(sql(`SELECT routing || ':' || array_to_string(declined, ',') FROM conversations WHERE id = ${c}`), `queued:${ids[1]}`);
	assert.equal(sql(`SELECT state || ':' || reason FROM agent_states WHERE user_id = ${ids[1]}`), 'not_ready:Missed offer');
	assert.throws(() => acd(t, ids[1], `SELECT vb_acd_accept(${c})`), /no longer yours/);
	sql(`UPDATE conversations SET queued_at = now() - interval '1 minute' WHERE id = ${c}`);
	assert.deepEqual(route(t), [[c, ids[0]]], 'after the preferred time, the group');
	assert.throws(() => acd(t, ids[1], `SELECT vb_acd_accept(${c})`), /no longer yours/, 'only the offered agent accepts');
});

test('overflow to another queue keeps the place; abandoned contacts are kept; position and wait', async () => {
	const { t, q, ids } = await setup({ agents: 1 });
	const q2 = sql(`INSERT INTO queues (tenant_id, name) VALUES (${t}, '${unique('over')}') RETURNING id`);
	sql(`UPDATE queues SET overflow_queue_id = ${q2}, overflow_after_s = 30 WHERE id = ${q}`);
	const a = contact(t, q, { ago: 10 });
	const b = contact(t, q, { ago: 5 });
	const c = contact(t, q);
	assert.equal(acd(t, null, `SELECT vb_acd_position(${c})->>'position'`), '3');
	assert.equal(acd(t, null, `SELECT vb_acd_position(${a})->>'position'`), '1');
	assert.ok(Number(acd(t, null, `SELECT vb_acd_position(${c})->>'estimated_wait_s'`)) > 0);
	acd(t, null, `SELECT vb_acd_abandon(${a})`);
	assert.equal(acd(t, null, `SELECT vb_acd_position(${b})->>'position'`), '1', 'moves up when one leaves');
	assert.equal(sql(`SELECT routing FROM conversations WHERE id = ${a}`), 'abandoned');
	sql(`UPDATE conversations SET queued_at = now() - interval '40 seconds' WHERE id = ${b}`);
	const queuedAt = sql(`SELECT queued_at FROM conversations WHERE id = ${b}`);
	ready(t, ids[0]);
	route(t);
	assert.equal(sql(`SELECT queue_id FROM conversations WHERE id = ${b}`), q2, 'moved on after 30 s');
	assert.equal(sql(`SELECT queued_at FROM conversations WHERE id = ${b}`), queuedAt, 'kept its place');
});

test('two routers at once never offer one agent past capacity', async () => {
	const { t, q, ids } = await setup({ agents: 1, capacity: 1 });
	for (let i = 0; i < 6; i++) contact(t, q);
	ready(t, ids[0]);
	const run = () => new Promise((resolve) => {
		const p = spawn('psql', [DB, '-X', '-q', '-At', '-c', `SET ROLE vb_app; BEGIN;
		    SELECT set_config('vb.tenant_id', '${t}', true); SELECT pg_sleep(0.2);
		    SELECT count(*) FROM vb_acd_route(); COMMIT`]);
		let out = '';
		p.stdout.on('data', (d) => { out += d; });
		p.on('close', () => resolve(Number(out.trim().split('\n').pop())));
	});
	const counts = await Promise.all([run(), run(), run(), run()]);
	// The server's own router may have been first: at most one of ours did.
	assert.ok(counts.reduce((x, y) => x + y, 0) <= 1, `offers made: ${counts}`);
	assert.equal(sql(`SELECT count(*) FROM conversations WHERE queue_id = ${q} AND routing = 'offered'`), '1');
});

test('routing never crosses organisations', async () => {
	const a = await setup({ agents: 1 });
	const b = await setup({ agents: 1 });
	ready(b.t, b.ids[0]);
	contact(a.t, a.q);
	assert.deepEqual(route(a.t), [], "B's ready agent is invisible to A's routing");
	assert.throws(() => acd(a.t, null, `SELECT vb_acd_enqueue(${contact(b.t, b.q)}, ${a.q}, 0, NULL)`));
});
