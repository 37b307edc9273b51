// The agent console and the supervisor over the real stack (C1–C5, C9,
// S1–S3): notes and whispers never reach the customer, monitoring is silent
// and audited, barge is seen, transfer and invite move people, picking from
// the waiting list is atomic, the screen pop shows history, staff chat.
import test from 'node:test';
import assert from 'node:assert/strict';
import { sql, newOrg, unique } from '../lib/vb.mjs';
import { siteFor, staff, customer, defaultQueue, sleep } from '../lib/chat.mjs';

async function world(agents = ['Ada Agent']) {
	const { admin, tenant } = await newOrg();
	const site = await siteFor(admin);
	const queue = defaultQueue(tenant, site);
	const team = [];
	for (const name of agents)
		team.push(await staff(admin, name));
	return { admin, tenant, site, queue, team };
}

// The agent gets the offer for conv and accepts; the backlog is replayed.
async function answer(agent, conv) {
	agent.ws.sendJson({ type: 'state', state: 'ready' });
	// Taken here, so that a later wait for a 'state' reply is not met by this one.
	await agent.ws.next((f) => f.type === 'state');
	await agent.ws.next((f) => f.type === 'offer' && f.conversation_id === conv, 8000);
	agent.ws.sendJson({ type: 'accept', conversation_id: conv });
	await agent.ws.next((f) => f.type === 'accepted' && f.conversation_id === conv);
}

const audits = (tenant, action, conv) => Number(sql(`SELECT count(*) FROM audit_log WHERE tenant_id = ${tenant}
    AND action = '${action}' AND object_id = '${conv}'`));

test('notes and whispers reach staff only; monitoring is silent and audited; barge is seen', async () => {
	const { admin, tenant, site, team: [ada] } = await world();
	const cust = await customer(site);
	await answer(ada, cust.conv);
	const sup = await staff(admin, 'Sam Supervisor', 'supervisor');

	// Silent monitor: the customer hears nothing of it, the audit log does.
	sup.ws.sendJson({ type: 'subscribe', conversation_id: cust.conv, after_seq: 0 });
	await sup.ws.next((f) => f.type === 'subscribed');
	assert.equal(audits(tenant, 'conversation.monitor', cust.conv), 1);

	ada.ws.sendJson({ type: 'note', conversation_id: cust.conv, client_id: 'n1', text: 'Card blocked since Monday' });
	const note = await sup.ws.next((f) => f.type === 'note');
	assert.equal(note.kind, 'note');
	assert.equal(note.sender.name, 'Ada Agent');
	await ada.ws.next((f) => f.type === 'note' && f.client_id === 'n1');
	// A resend with the same client id stores nothing twice.
	ada.ws.sendJson({ type: 'note', conversation_id: cust.conv, client_id: 'n1', text: 'Card blocked since Monday' });
	assert.equal((await ada.ws.next((f) => f.type === 'note' && f.client_id === 'n1')).id, note.id);

	// Whisper: supervisors only, audited, never to the customer.
	ada.ws.sendJson({ type: 'whisper', conversation_id: cust.conv, client_id: 'w0', text: 'nope' });
	assert.equal((await ada.ws.next((f) => f.type === 'error')).code, 'forbidden');
	sup.ws.sendJson({ type: 'whisper', conversation_id: cust.conv, client_id: 'w1', text: 'Offer the fee refund' });
	const w = await ada.ws.next((f) => f.type === 'note' && f.kind === 'whisper');
	assert.equal(w.text, 'Offer the fee refund');
	assert.equal(audits(tenant, 'conversation.whisper', cust.conv), 1);

	// Barge: the customer sees the supervisor join, and the supervisor can write.
	sup.ws.sendJson({ type: 'barge', conversation_id: cust.conv });
	await sup.ws.next((f) => f.type === 'barged');
	const joined = await cust.ws.next((f) => f.type === 'message' && f.sender.kind === 'system' && /supervisor/.test(f.text));
	assert.equal(joined.text, 'Sam Supervisor (supervisor) joined the chat');
	assert.equal(audits(tenant, 'conversation.barge', cust.conv), 1);
	sup.ws.sendJson({ type: 'send', conversation_id: cust.conv, client_id: 's1', text: 'Hello, I am the team lead.' });
	assert.equal((await cust.ws.next((f) => f.type === 'message' && f.sender.kind === 'staff')).sender.name, 'Sam Supervisor');

	await sleep(300);
	assert.ok(!cust.ws.all.some((f) => f.type === 'note' || /Card blocked|fee refund/.test(JSON.stringify(f))),
	    'the customer never received a note or a whisper');
	// Not on a replay either; staff replays include notes after after_note.
	cust.ws.sendJson({ type: 'subscribe', conversation_id: cust.conv, after_seq: 0 });
	await cust.ws.next((f) => f.type === 'subscribed');
	assert.ok(!cust.ws.all.some((f) => f.type === 'note'));
	ada.ws.sendJson({ type: 'subscribe', conversation_id: cust.conv, after_seq: 0, after_note: note.id });
	await ada.ws.next((f) => f.type === 'subscribed');
	const replayed = ada.ws.frames.filter((f) => f.type === 'note');
	assert.deepEqual(replayed.map((f) => f.client_id), ['w1'], 'only notes after after_note');
	// Messages keep their numbering without holes for the customer.
	const seqs = sql(`SELECT string_agg(seq::text, ',' ORDER BY seq) FROM messages WHERE conversation_id = ${cust.conv}`);
	assert.equal(seqs, '1,2,3,4');

	// A customer cannot send staff frames.
	cust.ws.sendJson({ type: 'note', conversation_id: cust.conv, client_id: 'x', text: 'hi' });
	assert.equal((await cust.ws.next((f) => f.type === 'error')).code, 'forbidden');
	for (const ws of [ada.ws, sup.ws, cust.ws]) ws.close();
});

test('transfer to a colleague, then to a queue; the first agent is out', async () => {
	const { tenant, site, team: [ada, ben] } = await world(['Ada Agent', 'Ben Agent']);
	const cust = await customer(site);
	await answer(ada, cust.conv);
	// Ben is not ready: a transfer to him still rings him, named.
	ada.ws.sendJson({ type: 'transfer', conversation_id: cust.conv, user_id: ben.id });
	const offer = await ben.ws.next((f) => f.type === 'offer' && f.conversation_id === cust.conv);
	assert.equal(offer.transfer_from, 'Ada Agent');
	await ada.ws.next((f) => f.type === 'transferred');
	assert.match((await cust.ws.next((f) => f.type === 'message' && f.sender.kind === 'system' && /transferred/.test(f.text))).text, /colleague/);
	ada.ws.sendJson({ type: 'send', conversation_id: cust.conv, client_id: 'late', text: 'still here?' });
	assert.equal((await ada.ws.next((f) => f.type === 'error')).code, 'forbidden');
	ben.ws.sendJson({ type: 'accept', conversation_id: cust.conv });
	await ben.ws.next((f) => f.type === 'accepted');
	assert.equal(sql(`SELECT routing || ':' || assigned_user_id FROM conversations WHERE id = ${cust.conv}`), `assigned:${ben.id}`);
	assert.equal(Number(sql(`SELECT count(*) FROM audit_log WHERE action = 'conversation.transfer' AND object_id = '${cust.conv}'`)), 1);

	// To a queue: back to waiting there; the transferring agent is not offered it again.
	const other = Number(sql(`INSERT INTO queues (tenant_id, name) VALUES (${tenant}, 'Cards ${unique('q')}') RETURNING id`));
	ada.ws.sendJson({ type: 'state', state: 'ready' });
	await ada.ws.next((f) => f.type === 'state');
	ben.ws.sendJson({ type: 'transfer', conversation_id: cust.conv, queue_id: other });
	await ben.ws.next((f) => f.type === 'transferred');
	await ada.ws.next((f) => f.type === 'offer' && f.conversation_id === cust.conv, 8000);
	assert.equal(sql(`SELECT queue_id FROM conversations WHERE id = ${cust.conv}`), String(other));
	await sleep(300);
	assert.ok(!ben.ws.frames.some((f) => f.type === 'offer'), 'not back to the agent who handed it on');
	ada.ws.sendJson({ type: 'accept', conversation_id: cust.conv });
	await ada.ws.next((f) => f.type === 'accepted');

	// Bad transfers change nothing.
	const foreign = await newOrg();
	const foreignUser = (await foreign.admin.get('/api/users')).json.users[0].id;
	for (const [frame, code] of [
		[{ user_id: ben.id, queue_id: other }, 'invalid'],
		[{}, 'invalid'],
		[{ user_id: 'x' }, 'invalid'],
		[{ user_id: foreignUser }, 'not_found'],
		[{ queue_id: 999999999 }, 'not_found'],
	]) {
		ada.ws.sendJson({ type: 'transfer', conversation_id: cust.conv, ...frame });
		assert.equal((await ada.ws.next((f) => f.type === 'error')).code, code, JSON.stringify(frame));
	}
	ben.ws.sendJson({ type: 'transfer', conversation_id: cust.conv, queue_id: other });
	assert.equal((await ben.ws.next((f) => f.type === 'error')).code, 'not_found', 'no longer his');
	assert.equal(sql(`SELECT routing || ':' || assigned_user_id FROM conversations WHERE id = ${cust.conv}`), `assigned:${ada.id}`);
	for (const ws of [ada.ws, ben.ws, cust.ws]) ws.close();
});

test('invite a colleague: they join, the customer sees it, they leave', async () => {
	const { site, team: [ada, ben] } = await world(['Ada Agent', 'Ben Agent']);
	const cust = await customer(site);
	await answer(ada, cust.conv);
	ben.ws.sendJson({ type: 'join', conversation_id: cust.conv });
	assert.equal((await ben.ws.next((f) => f.type === 'error')).code, 'invite_gone', 'no joining uninvited');
	ada.ws.sendJson({ type: 'invite', conversation_id: cust.conv, user_id: ben.id });
	await ada.ws.next((f) => f.type === 'invited');
	const inv = await ben.ws.next((f) => f.type === 'invite');
	assert.equal(inv.from.name, 'Ada Agent');
	assert.equal(inv.conversation_id, cust.conv);
	ben.ws.sendJson({ type: 'join', conversation_id: cust.conv });
	await ben.ws.next((f) => f.type === 'joined');
	assert.equal((await cust.ws.next((f) => f.type === 'message' && /Ben Agent joined/.test(f.text))).sender.kind, 'system');
	ben.ws.sendJson({ type: 'send', conversation_id: cust.conv, client_id: 'b1', text: 'Ben from cards here' });
	await cust.ws.next((f) => f.type === 'message' && f.text === 'Ben from cards here');
	// The assigned agent cannot just leave; the guest can.
	ada.ws.sendJson({ type: 'leave', conversation_id: cust.conv });
	assert.equal((await ada.ws.next((f) => f.type === 'error')).code, 'conflict');
	ben.ws.sendJson({ type: 'leave', conversation_id: cust.conv });
	await ben.ws.next((f) => f.type === 'left');
	await cust.ws.next((f) => f.type === 'message' && /Ben Agent left/.test(f.text));
	for (const ws of [ada.ws, ben.ws, cust.ws]) ws.close();
});

test('waiting list, picking a contact, the screen pop with history, and wrap-up', async () => {
	const { site, team: [ada], admin } = await world();
	const first = await customer(site, 'My first visit');
	// The first contact is answered and finished; the same customer comes back.
	await answer(ada, first.conv);
	ada.ws.sendJson({ type: 'finish', conversation_id: first.conv });
	await ada.ws.next((f) => f.type === 'finished');
	// The customer is told, live, by a stored system line (W6).
	const end = await first.ws.next((f) => f.type === 'message' && f.meta?.event === 'ended');
	assert.equal(end.text, 'Ada Agent ended the chat');
	assert.equal(end.sender.kind, 'system');
	assert.equal(sql(`SELECT count(*) FROM messages WHERE conversation_id = ${first.conv}
	    AND meta->>'event' = 'ended' AND seq = ${end.seq}`), '1');
	// Finishing again changes nothing and adds no second line.
	ada.ws.sendJson({ type: 'finish', conversation_id: first.conv });
	assert.equal((await ada.ws.next((f) => f.type === 'error')).code, 'not_found');
	assert.equal(sql(`SELECT count(*) FROM messages WHERE conversation_id = ${first.conv}
	    AND meta->>'event' = 'ended'`), '1');
	ada.ws.sendJson({ type: 'state', state: 'not_ready', reason: 'Break' });
	await ada.ws.next((f) => f.type === 'state');

	const again = await customer(site, 'Back about my card');
	sql(`UPDATE conversations SET customer_id = ${first.customer_id} WHERE id = ${again.conv}`);
	const waiting = (await ada.client.get('/api/console/waiting')).json.items;
	const row = waiting.find((w) => w.id === again.conv);
	assert.ok(row, 'the waiting contact is listed');
	assert.equal(row.preview, 'Back about my card');
	assert.equal(row.routing, 'queued');

	// Not ready: picking is refused. Ready: picking takes it at once.
	ada.ws.sendJson({ type: 'take', conversation_id: again.conv });
	assert.equal((await ada.ws.next((f) => f.type === 'error')).code, 'not_ready');
	ada.ws.sendJson({ type: 'state', state: 'ready' });
	await ada.ws.next((f) => f.type === 'state');
	// The router may offer it first; picking works either way.
	ada.ws.sendJson({ type: 'take', conversation_id: again.conv });
	await ada.ws.next((f) => f.type === 'accepted' && f.conversation_id === again.conv);
	assert.equal(sql(`SELECT routing || ':' || assigned_user_id FROM conversations WHERE id = ${again.conv}`), `assigned:${ada.id}`);

	const pop = (await ada.client.get(`/api/console/conversations/${again.conv}`)).json;
	assert.equal(pop.customer.id, first.customer_id);
	assert.equal(pop.me_in, true);
	assert.deepEqual(pop.history.map((x) => x.id), [first.conv], 'the earlier contact is listed');
	assert.equal(pop.history[0].agent, 'Ada Agent');
	assert.equal(pop.history[0].preview, 'My first visit');
	const tr = (await ada.client.get(`/api/console/conversations/${first.conv}/transcript`)).json;
	assert.ok(tr.messages.some((m) => m.text === 'My first visit'));
	const mine = (await ada.client.get('/api/console/mine')).json.items;
	assert.ok(mine.some((m) => m.id === again.conv && m.status === 'open'));
	assert.ok(mine.some((m) => m.id === first.conv && m.status === 'closed'), 'finished, awaiting a wrap-up code');

	// Another organisation sees none of it.
	const other = await newOrg();
	const outsider = await staff(other.admin, 'Olga Outsider');
	for (const p of [`/api/console/conversations/${again.conv}`, `/api/console/conversations/${first.conv}/transcript`])
		assert.equal((await outsider.client.get(p)).status, 404, p);
	assert.ok(!(await outsider.client.get('/api/console/waiting')).json.items.some((w) => w.id === again.conv));
	outsider.ws.sendJson({ type: 'state', state: 'ready' });
	await outsider.ws.next((f) => f.type === 'state');
	outsider.ws.sendJson({ type: 'take', conversation_id: again.conv });
	assert.equal((await outsider.ws.next((f) => f.type === 'error')).code, 'offer_gone');
	assert.equal((await admin.get('/api/console/conversations/abc')).status, 404);
	for (const ws of [ada.ws, outsider.ws, first.ws, again.ws]) ws.close();
});

test('staff directory with presence, staff chat, and the live board', async () => {
	const { admin, site, team: [ada, ben] } = await world(['Ada Agent', 'Ben Agent']);
	const sup = await staff(admin, 'Sam Supervisor', 'supervisor');
	ben.ws.sendJson({ type: 'state', state: 'not_ready', reason: 'Lunch' });
	await ben.ws.next((f) => f.type === 'state');
	const dir = (await ada.client.get('/api/console/directory')).json.items;
	const b = dir.find((x) => x.id === ben.id);
	assert.equal(b.presence, 'away');
	assert.equal(b.reason, 'Lunch');
	assert.ok(!dir.some((x) => x.id === ada.id), 'not oneself');
	assert.equal((await ada.client.get('/api/console/directory?q=Sam')).json.items.length, 1);

	ada.ws.sendJson({ type: 'dm', to: ben.id, client_id: 'd1', text: 'Can you cover cards at 2?' });
	const got = await ben.ws.next((f) => f.type === 'dm');
	assert.equal(got.from.name, 'Ada Agent');
	await ada.ws.next((f) => f.type === 'dm' && f.client_id === 'd1');
	assert.equal((await ben.client.get('/api/console/directory')).json.items.find((x) => x.id === ada.id).unread, 1);
	const thread = (await ben.client.get(`/api/console/dm/${ada.id}`)).json.items;
	assert.deepEqual(thread.map((x) => x.text), ['Can you cover cards at 2?']);
	assert.equal((await ben.client.get('/api/console/directory')).json.items.find((x) => x.id === ada.id).unread, 0, 'read now');
	ada.ws.sendJson({ type: 'dm', to: 999999999, client_id: 'd2', text: 'x' });
	assert.equal((await ada.ws.next((f) => f.type === 'error')).code, 'not_found');

	// The board: agents only may not watch; supervisors get a nudge on changes.
	ada.ws.sendJson({ type: 'watch' });
	assert.equal((await ada.ws.next((f) => f.type === 'error')).code, 'forbidden');
	assert.equal((await ada.client.get('/api/supervisor/board')).status, 403);
	sup.ws.sendJson({ type: 'watch' });
	await sup.ws.next((f) => f.type === 'watching');
	ada.ws.sendJson({ type: 'state', state: 'ready' });
	await sup.ws.next((f) => f.type === 'board');
	const cust = await customer(site);
	await ada.ws.next((f) => f.type === 'offer');
	const board = (await sup.client.get('/api/supervisor/board')).json;
	const me = board.agents.find((x) => x.id === ada.id);
	assert.equal(me.state, 'ready');
	assert.equal(me.presence, 'ringing');
	assert.equal(board.queues.length, 1);
	assert.equal(board.queues[0].waiting, 1);
	assert.ok(board.conversations.some((c) => c.id === cust.conv));
	for (const ws of [ada.ws, ben.ws, sup.ws, cust.ws]) ws.close();
});

test('a console that went quiet (no presence for 90 s) is not offered contacts', async () => {
	const { site, team: [ada] } = await world();
	ada.ws.sendJson({ type: 'state', state: 'ready' });
	await ada.ws.next((f) => f.type === 'state');
	sql(`UPDATE agent_states SET seen_at = now() - interval '2 minutes' WHERE user_id = ${ada.id}`);
	const cust = await customer(site);
	await sleep(1500);
	assert.equal(sql(`SELECT routing FROM conversations WHERE id = ${cust.conv}`), 'queued', 'not offered to a silent console');
	sql(`UPDATE agent_states SET seen_at = now() WHERE user_id = ${ada.id}`);
	await ada.ws.next((f) => f.type === 'offer' && f.conversation_id === cust.conv, 5000);
	for (const ws of [ada.ws, cust.ws]) ws.close();
});

test('read marks: the agent reads, the customer hears it (live and on resume); silent monitors mark nothing', async () => {
	const { admin, site, team: [ada] } = await world();
	const cust = await customer(site, 'First question');
	await answer(ada, cust.conv);
	cust.ws.sendJson({ type: 'send', conversation_id: cust.conv, client_id: 'q2', text: 'Second question' });
	const q2 = await cust.ws.next((f) => f.type === 'ack' && f.client_id === 'q2');
	ada.ws.sendJson({ type: 'read', conversation_id: cust.conv, seq: q2.seq });
	const read = await cust.ws.next((f) => f.type === 'read');
	assert.deepEqual([read.seq, read.by], [q2.seq, 'staff']);
	// Beyond the last message is clamped; going back changes nothing.
	ada.ws.sendJson({ type: 'read', conversation_id: cust.conv, seq: 1 });
	ada.ws.sendJson({ type: 'read', conversation_id: cust.conv, seq: 'x' });
	assert.equal((await ada.ws.next((f) => f.type === 'error')).code, 'invalid');
	assert.equal(sql(`SELECT staff_read_seq FROM conversations WHERE id = ${cust.conv}`), String(q2.seq));
	const sup = await staff(admin, 'Sam Supervisor', 'supervisor');
	sup.ws.sendJson({ type: 'read', conversation_id: cust.conv, seq: 99 });
	assert.equal((await sup.ws.next((f) => f.type === 'error')).code, 'not_found');
	cust.ws.sendJson({ type: 'subscribe', conversation_id: cust.conv, after_seq: 0 });
	await cust.ws.next((f) => f.type === 'subscribed');
	assert.equal(cust.ws.frames.filter((f) => f.type === 'read').at(-1).seq, q2.seq, 'the mark comes with the replay');
	cust.ws.sendJson({ type: 'read', conversation_id: cust.conv, seq: 1 });
	assert.equal((await cust.ws.next((f) => f.type === 'error')).code, 'forbidden');
	for (const ws of [ada.ws, sup.ws, cust.ws]) ws.close();
});

test('a waiting customer leaves the queue: abandoned and kept, the ringing offer is withdrawn (W5, A7)', async () => {
	const { site, team: [ada] } = await world();
	ada.ws.sendJson({ type: 'state', state: 'ready' });
	await ada.ws.next((f) => f.type === 'state');
	const cust = await customer(site, 'Anyone there?');
	await ada.ws.next((f) => f.type === 'offer' && f.conversation_id === cust.conv);
	ada.ws.sendJson({ type: 'leave_queue', conversation_id: cust.conv });
	assert.equal((await ada.ws.next((f) => f.type === 'error')).code, 'forbidden');
	cust.ws.sendJson({ type: 'leave_queue', conversation_id: cust.conv });
	await cust.ws.next((f) => f.type === 'left_queue');
	assert.equal((await cust.ws.next((f) => f.type === 'message' && f.sender.kind === 'system')).text, 'The customer left the queue');
	await ada.ws.next((f) => f.type === 'offer_gone' && f.conversation_id === cust.conv);
	assert.equal(sql(`SELECT status || ':' || routing || ':' || (abandoned_at IS NOT NULL) FROM conversations WHERE id = ${cust.conv}`), 'closed:abandoned:true');
	cust.ws.sendJson({ type: 'leave_queue', conversation_id: cust.conv });
	assert.equal((await cust.ws.next((f) => f.type === 'error')).code, 'not_waiting');
	cust.ws.sendJson({ type: 'leave_queue', conversation_id: 999999999 });
	assert.equal((await cust.ws.next((f) => f.type === 'error')).code, 'not_found');
	for (const ws of [ada.ws, cust.ws]) ws.close();
});

test('the customer ends the chat: the agent is told and wraps up; waiting, it leaves the queue', async () => {
	const { site, tenant, team: [ada] } = await world();
	const cust = await customer(site, 'Thanks, that was all');
	await answer(ada, cust.conv);
	// Not their conversation: nothing happens.
	const other = await customer(site, 'Someone else');
	other.ws.sendJson({ type: 'finish', conversation_id: cust.conv });
	assert.equal((await other.ws.next((f) => f.type === 'error')).code, 'not_found');
	assert.equal(sql(`SELECT status FROM conversations WHERE id = ${cust.conv}`), 'open');

	cust.ws.sendJson({ type: 'finish', conversation_id: cust.conv });
	await cust.ws.next((f) => f.type === 'ended' && f.conversation_id === cust.conv);
	const line = await cust.ws.next((f) => f.type === 'message' && f.meta?.event === 'ended');
	assert.equal(line.text, 'The customer ended the chat');
	assert.equal(line.meta.by, 'customer');
	assert.deepEqual(await ada.ws.next((f) => f.type === 'finished' && f.conversation_id === cust.conv),
	    { type: 'finished', conversation_id: cust.conv, by: 'customer' });
	await ada.ws.next((f) => f.type === 'message' && f.seq === line.seq);
	assert.equal(sql(`SELECT status FROM conversations WHERE id = ${cust.conv}`), 'closed');
	assert.equal(sql(`SELECT state FROM agent_states WHERE user_id = ${ada.id}`), 'wrapup');
	// The agent's wrap-up works as after their own finish; finishing again is refused.
	ada.ws.sendJson({ type: 'wrapup', conversation_id: cust.conv, note: 'Customer ended' });
	await ada.ws.next((f) => f.type === 'wrapped' && f.conversation_id === cust.conv);
	cust.ws.sendJson({ type: 'finish', conversation_id: cust.conv });
	assert.equal((await cust.ws.next((f) => f.type === 'error')).code, 'closed');
	assert.equal(sql(`SELECT count(*) FROM messages WHERE conversation_id = ${cust.conv} AND meta->>'event' = 'ended'`), '1');

	// Still waiting (Ada is busy with nobody now but not ready): ending is leaving the queue.
	ada.ws.sendJson({ type: 'state', state: 'not_ready', reason: 'Break' });
	await ada.ws.next((f) => f.type === 'state' && f !== undefined);
	const waiting = await customer(site, 'Anyone there?');
	waiting.ws.sendJson({ type: 'finish', conversation_id: waiting.conv });
	await waiting.ws.next((f) => f.type === 'left_queue' && f.conversation_id === waiting.conv);
	assert.equal(sql(`SELECT status || '|' || routing FROM conversations WHERE id = ${waiting.conv}`), 'closed|abandoned');
	assert.equal(Number(sql(`SELECT count(*) FROM conversations WHERE tenant_id = ${tenant} AND id = ${other.conv} AND status = 'open'`)), 1);
	for (const ws of [ada.ws, cust.ws, other.ws, waiting.ws]) ws.close();
});
