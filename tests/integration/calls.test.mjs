// Calls over the hub (issue 4, app side): "call" frames, the call's state in
// PostgreSQL, what reaches the relay (answers to offers, forwarding rules),
// permission and tenant checks, bad input. The stack's real relay answers
// the offers (a captured Chrome offer, tests/fixtures/chrome156_offer.sdp).
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { sql, newOrg } from '../lib/vb.mjs';
import { siteFor, staff as staff0, customer as customer0, defaultQueue, sleep } from '../lib/chat.mjs';

const OFFER = fs.readFileSync(new URL('../fixtures/chrome156_offer.sdp', import.meta.url), 'utf8');
const sockets = [];
const staff = async (...a) => { const s = await staff0(...a); sockets.push(s.ws); return s; };
const customer = async (...a) => { const c = await customer0(...a); sockets.push(c.ws); return c; };
after(() => sockets.forEach((w) => w.close()));

async function world(agents = ['Ada Agent']) {
	const { admin, tenant } = await newOrg();
	const site = await siteFor(admin);
	defaultQueue(tenant, site);
	const team = [];
	for (const name of agents)
		team.push(await staff(admin, name));
	return { admin, tenant, site, team };
}

async function answer(agent, conv) {
	agent.ws.sendJson({ type: 'state', state: 'ready' });
	await agent.ws.next((f) => f.type === 'state');
	await agent.ws.next((f) => f.type === 'offer' && f.conversation_id === conv, 8000);
	agent.ws.sendJson({ type: 'accept', conversation_id: conv });
	await agent.ws.next((f) => f.type === 'accepted' && f.conversation_id === conv);
}

const error = (ws, code) => ws.next((f) => f.type === 'error' && (!code || f.code === code));
const state = (ws, pred = () => true) => ws.next((f) => f.type === 'call' && f.op === 'state' && pred(f));
const audits = (tenant, action, id) => Number(sql(`SELECT count(*) FROM audit_log WHERE tenant_id = ${tenant}
    AND action = '${action}'${id ? ` AND object_id = '${id}'` : ''}`));
const callRow = (id) => JSON.parse(sql(`SELECT row_to_json(c) FROM calls c WHERE id = ${id}`));

// The relay's control socket, spoken by the test: stats of a room.
function relay(cmd) {
	return new Promise((resolve, reject) => {
		const s = net.createConnection(process.env.VB_MEDIA_SOCK);
		let buf = '';
		s.on('data', (d) => {
			buf += d;
			for (const line of buf.split('\n').slice(0, -1)) {
				const m = JSON.parse(line);
				if (m.id === 'test') { s.end(); resolve(m); }
			}
		});
		s.on('error', reject);
		s.write(JSON.stringify({ id: 'test', ...cmd }) + '\n');
	});
}

// Ada in a chat with a customer; Ada asks for a video call, the customer accepts.
async function inCall({ kind = 'video', oneWay = false } = {}) {
	const w = await world();
	const [ada] = w.team;
	const cust = await customer(w.site);
	await answer(ada, cust.conv);
	ada.ws.sendJson({ type: 'call', op: 'request', conversation_id: cust.conv, kind, one_way: oneWay });
	const req = await state(cust.ws, (f) => f.state === 'requested');
	await state(ada.ws, (f) => f.state === 'requested');
	cust.ws.sendJson({ type: 'call', op: 'accept', call_id: req.call_id });
	await state(cust.ws, (f) => f.state === 'active');
	await state(ada.ws, (f) => f.state === 'active');
	return { ...w, ada, cust, call: req.call_id };
}

test('request, consent, offers answered to the sender only, rules from the state, hang-up', async () => {
	const { tenant, ada, cust, call } = await inCall();
	const row = callRow(call);
	assert.equal(row.state, 'active');
	assert.equal(row.kind, 'video');
	assert.equal(row.room, `call-${call}`);
	assert.ok(row.answered_at);
	assert.equal(audits(tenant, 'call.consent', String(call)), 1);

	// The agent's offer: its answer comes to the agent only.
	ada.ws.sendJson({ type: 'call', op: 'offer', call_id: call, sdp: OFFER });
	const a1 = await ada.ws.next((f) => f.type === 'call' && f.op === 'answer');
	assert.equal(a1.call_id, call);
	assert.match(a1.sdp, /^v=0\r\n/);
	assert.match(a1.sdp, /a=ice-lite/);
	await sleep(200);
	assert.ok(!cust.ws.all.some((f) => f.type === 'call' && f.op === 'answer'), 'not to the customer');
	// The customer's offer.
	cust.ws.sendJson({ type: 'call', op: 'offer', call_id: call, sdp: OFFER });
	await cust.ws.next((f) => f.type === 'call' && f.op === 'answer');
	const mids = JSON.parse(sql(`SELECT json_agg(mids ORDER BY id) FROM call_participants WHERE call_id = ${call}`));
	assert.deepEqual(mids, [{ audio: '0', video: '1' }, { audio: '0', video: '1' }]);

	// The relay has both, each fed by the other.
	const src = async () => {
		const st = await relay({ cmd: 'stats', room: `call-${call}` });
		const out = {};
		for (const p of st.rooms[0].participants)
			for (const t of p.tracks)
				out[`${p.participant}.${t.mid}`] = t.out?.source ? `${t.out.source.participant}.${t.out.source.mid}` : null;
		return out;
	};
	let s = {};
	for (let i = 0; i < 20 && s[`u${ada.id}.0`] !== `c${cust.customer_id}.0`; i++) { await sleep(100); s = await src(); }
	assert.deepEqual(s, { [`u${ada.id}.0`]: `c${cust.customer_id}.0`, [`u${ada.id}.1`]: `c${cust.customer_id}.1`,
	    [`c${cust.customer_id}.0`]: `u${ada.id}.0`, [`c${cust.customer_id}.1`]: `u${ada.id}.1` });

	// Hold: nobody hears anything; unhold: back.
	ada.ws.sendJson({ type: 'call', op: 'hold', call_id: call });
	assert.equal((await state(cust.ws, (f) => f.on_hold)).on_hold, true);
	for (let i = 0; i < 20 && s[`c${cust.customer_id}.0`] !== null; i++) { await sleep(100); s = await src(); }
	assert.equal(s[`c${cust.customer_id}.0`], null);
	assert.equal(s[`u${ada.id}.1`], null);
	cust.ws.sendJson({ type: 'call', op: 'hold', call_id: call });
	assert.equal((await error(cust.ws)).code, 'forbidden');
	ada.ws.sendJson({ type: 'call', op: 'unhold', call_id: call });
	await state(cust.ws, (f) => !f.on_hold);
	for (let i = 0; i < 20 && s[`c${cust.customer_id}.0`] === null; i++) { await sleep(100); s = await src(); }
	assert.equal(s[`c${cust.customer_id}.0`], `u${ada.id}.0`);

	// A second offer of the same participant is a renegotiation (update).
	ada.ws.sendJson({ type: 'call', op: 'offer', call_id: call, sdp: OFFER });
	await ada.ws.next((f) => f.type === 'call' && f.op === 'answer');

	// Hang-up: ended, room gone, the transcript has the lines.
	cust.ws.sendJson({ type: 'call', op: 'hangup', call_id: call });
	const end = await state(ada.ws, (f) => f.state === 'ended');
	assert.equal(end.end_reason, 'hangup');
	for (let i = 0; i < 20 && (await relay({ cmd: 'stats', room: `call-${call}` })).ok; i++) await sleep(100);
	assert.equal((await relay({ cmd: 'stats', room: `call-${call}` })).ok, false);
	const events = sql(`SELECT string_agg(meta->'call'->>'event', ',' ORDER BY seq) FROM messages
	    WHERE conversation_id = ${cust.conv} AND meta ? 'call'`);
	assert.equal(events, 'requested,started,held,resumed,ended');
	const lines = sql(`SELECT string_agg(body, '|' ORDER BY seq) FROM messages WHERE conversation_id = ${cust.conv}
	    AND meta ? 'call'`);
	assert.match(lines, /Ada Agent requested a video call/);
	assert.match(lines, /Video call ended by the customer/);
	// After the end, nothing more.
	ada.ws.sendJson({ type: 'call', op: 'offer', call_id: call, sdp: OFFER });
	assert.equal((await error(ada.ws)).code, 'call_ended');
});

test('the customer consents before media: no offer before accept, decline ends it', async () => {
	const { tenant, site, team: [ada] } = await world();
	const cust = await customer(site);
	await answer(ada, cust.conv);
	ada.ws.sendJson({ type: 'call', op: 'request', conversation_id: cust.conv, kind: 'video', one_way: true });
	const req = await state(cust.ws, (f) => f.state === 'requested');
	assert.equal(req.one_way, true);
	assert.equal(req.requested_by.name, 'Ada Agent');
	// Not consented: the customer's offer is refused and nothing changes.
	cust.ws.sendJson({ type: 'call', op: 'offer', call_id: req.call_id, sdp: OFFER });
	assert.equal((await error(cust.ws)).code, 'not_consented');
	assert.equal(Number(sql(`SELECT count(*) FROM call_participants WHERE call_id = ${req.call_id}`)), 1);
	// The agent cannot accept their own request.
	ada.ws.sendJson({ type: 'call', op: 'accept', call_id: req.call_id });
	assert.equal((await error(ada.ws)).code, 'forbidden');
	// A second request while one is live.
	ada.ws.sendJson({ type: 'call', op: 'request', conversation_id: cust.conv, kind: 'audio' });
	assert.equal((await error(ada.ws)).code, 'call_live');
	cust.ws.sendJson({ type: 'call', op: 'decline', call_id: req.call_id });
	const end = await state(ada.ws, (f) => f.state === 'ended');
	assert.equal(end.end_reason, 'declined');
	assert.equal(sql(`SELECT body FROM messages WHERE conversation_id = ${cust.conv} AND meta->'call'->>'event' = 'declined'`),
	    'The customer declined the video call');
	assert.equal(audits(tenant, 'call.consent', String(req.call_id)), 0);
	// Customers cannot ask for one-way video.
	cust.ws.sendJson({ type: 'call', op: 'request', conversation_id: cust.conv, kind: 'video', one_way: true });
	assert.equal((await error(cust.ws)).code, 'invalid');
});

test('a customer asks for a voice call; the agent accepts; screen sharing names who shares', async () => {
	const { site, team: [ada] } = await world();
	const cust = await customer(site);
	// No agent yet: refused.
	cust.ws.sendJson({ type: 'call', op: 'request', conversation_id: cust.conv, kind: 'audio' });
	assert.equal((await error(cust.ws)).code, 'no_agent');
	await answer(ada, cust.conv);
	cust.ws.sendJson({ type: 'call', op: 'request', conversation_id: cust.conv, kind: 'audio' });
	const req = await state(ada.ws, (f) => f.state === 'requested');
	assert.equal(req.requested_by.kind, 'customer');
	// The customer's request is their consent: they may offer at once.
	cust.ws.sendJson({ type: 'call', op: 'offer', call_id: req.call_id, sdp: OFFER });
	await cust.ws.next((f) => f.type === 'call' && f.op === 'answer');
	ada.ws.sendJson({ type: 'call', op: 'accept', call_id: req.call_id });
	await state(cust.ws, (f) => f.state === 'active');
	cust.ws.sendJson({ type: 'call', op: 'screen', call_id: req.call_id, state: 'start' });
	const sh = await state(ada.ws, (f) => f.screen);
	assert.equal(sh.screen.kind, 'customer');
	assert.equal(sh.screen.participant, `c${cust.customer_id}`);
	cust.ws.sendJson({ type: 'call', op: 'screen', call_id: req.call_id, state: 'start' });
	assert.equal((await error(cust.ws)).code, 'no_change');
	ada.ws.sendJson({ type: 'call', op: 'screen', call_id: req.call_id, state: 'stop' });
	assert.equal((await error(ada.ws)).code, 'no_change');
	cust.ws.sendJson({ type: 'call', op: 'screen', call_id: req.call_id, state: 'stop' });
	assert.equal((await state(ada.ws, (f) => f.screen === null && f.state === 'active')).screen, null);
	// Recording needs the on_demand policy (the default is never).
	ada.ws.sendJson({ type: 'call', op: 'record', call_id: req.call_id, state: 'start' });
	assert.equal((await error(ada.ws)).code, 'recording_policy');
	ada.ws.sendJson({ type: 'call', op: 'hangup', call_id: req.call_id });
	await state(cust.ws, (f) => f.state === 'ended');
});

test('bad input: clear errors, nothing changes', async () => {
	const { ada, cust, call } = await inCall();
	const before = JSON.stringify(callRow(call));
	const cases = [
		[{ type: 'call', op: 'launch', call_id: call }, 'invalid'],
		[{ type: 'call', call_id: call }, 'invalid'],
		[{ type: 'call', op: 'hold' }, 'invalid'],
		[{ type: 'call', op: 'hold', call_id: 'x' }, 'invalid'],
		[{ type: 'call', op: 'hold', call_id: -3 }, 'invalid'],
		[{ type: 'call', op: 'hold', call_id: 2 ** 60 }, 'invalid'],
		[{ type: 'call', op: 'screen', call_id: call, state: 'maybe' }, 'invalid'],
		[{ type: 'call', op: 'request', conversation_id: cust.conv, kind: 'hologram' }, 'invalid'],
		[{ type: 'call', op: 'request', conversation_id: cust.conv, kind: 'video', one_way: 'yes' }, 'invalid'],
		[{ type: 'call', op: 'offer', call_id: call }, 'invalid'],
		[{ type: 'call', op: 'offer', call_id: call, sdp: 42 }, 'invalid'],
		[{ type: 'call', op: 'offer', call_id: call, sdp: 'hello' }, 'invalid'],
		[{ type: 'call', op: 'offer', call_id: call, sdp: 'v=0\r\ns=-\r\n' }, 'invalid'],
		[{ type: 'call', op: 'offer', call_id: call, sdp: 'v=0\r\n' + 'x'.repeat(65537) }, 'invalid'],
		[{ type: 'call', op: 'offer', call_id: call, sdp: OFFER.replace('a=mid:0', 'a=mid:"0') }, 'invalid'],
		[{ type: 'call', op: 'offer', call_id: call, sdp: OFFER + 'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:2\r\n'.repeat(8) }, 'invalid'],
		[{ type: 'call', op: 'hold', call_id: 987654321 }, 'not_found'],
		[{ type: 'call', op: 'offer', call_id: 987654321, sdp: OFFER }, 'not_found'],
		[{ type: 'call', op: 'monitor', call_id: call, mode: 'monitor' }, 'forbidden'],
	];
	for (const [frame, code] of cases) {
		ada.ws.sendJson(frame);
		const e = await error(ada.ws);
		assert.equal(e.code, code, JSON.stringify(frame).slice(0, 120) + ' → ' + e.message);
	}
	// An SDP the relay refuses: bad_offer.
	ada.ws.sendJson({ type: 'call', op: 'offer', call_id: call, sdp: OFFER.replace(/a=fingerprint:[^\r\n]*\r\n/g, '') });
	assert.equal((await error(ada.ws)).code, 'bad_offer');
	assert.equal(JSON.stringify(callRow(call)), before);
});

test('other conversations and other tenants: not found, nothing changes', async () => {
	const { ada, cust, call, site } = await inCall();
	// Another customer of the same site.
	const other = await customer(site);
	other.ws.sendJson({ type: 'call', op: 'hangup', call_id: call });
	assert.equal((await error(other.ws)).code, 'not_found');
	other.ws.sendJson({ type: 'call', op: 'offer', call_id: call, sdp: OFFER });
	assert.equal((await error(other.ws)).code, 'not_found');
	other.ws.sendJson({ type: 'call', op: 'request', conversation_id: cust.conv, kind: 'audio' });
	assert.equal((await error(other.ws)).code, 'not_found');
	// Another organisation's agent.
	const w2 = await world(['Eve Elsewhere']);
	const [eve] = w2.team;
	for (const f of [{ type: 'call', op: 'hangup', call_id: call }, { type: 'call', op: 'offer', call_id: call, sdp: OFFER },
	    { type: 'call', op: 'request', conversation_id: cust.conv, kind: 'video' }]) {
		eve.ws.sendJson(f);
		assert.equal((await error(eve.ws)).code, 'not_found', JSON.stringify(f).slice(0, 80));
	}
	// A colleague not in the chat.
	const bob = await staff(w2.admin, 'Bob');
	void bob;
	assert.equal(callRow(call).state, 'active');
	ada.ws.sendJson({ type: 'call', op: 'hangup', call_id: call });
	await state(cust.ws, (f) => f.state === 'ended');
});

test('recording on demand: audited lines, and the relay commands follow the state', async () => {
	const w = await world();
	const [ada] = w.team;
	const q = sql(`SELECT default_queue_id FROM sites WHERE id = ${w.site.id}`);
	sql(`UPDATE queues SET recording_policy = 'on_demand' WHERE id = ${q}`);
	const cust = await customer(w.site);
	await answer(ada, cust.conv);
	ada.ws.sendJson({ type: 'call', op: 'request', conversation_id: cust.conv, kind: 'audio' });
	const req = await state(cust.ws, (f) => f.state === 'requested');
	assert.equal(req.recording_policy, 'on_demand');
	cust.ws.sendJson({ type: 'call', op: 'accept', call_id: req.call_id });
	await state(ada.ws, (f) => f.state === 'active');
	// Only the agent starts it.
	cust.ws.sendJson({ type: 'call', op: 'record', call_id: req.call_id, state: 'start' });
	assert.equal((await error(cust.ws)).code, 'forbidden');
	ada.ws.sendJson({ type: 'call', op: 'record', call_id: req.call_id, state: 'start' });
	assert.equal((await state(cust.ws, (f) => f.recording)).recording, true);
	assert.equal(audits(w.tenant, 'call.recording_start', String(req.call_id)), 1);
	// The command vb_call_op gives the relay once both sides are in it.
	const epoch = 'test:1';
	const fx = sql(`SELECT set_config('vb.tenant_id', '${w.tenant}', false);
	    UPDATE call_participants SET mids = '{"audio":"0"}', epoch = '${epoch}' WHERE call_id = ${req.call_id};
	    SELECT json_agg(frame::json) FROM vb_call_fx(${req.call_id}, '${epoch}') WHERE target = 'media'`).split('\n').pop();
	const cmds = JSON.parse(fx);
	assert.deepEqual(cmds[0], { cmd: 'record.start', room: `call-${req.call_id}`, recording: `${req.call_id}-1`,
	    dir: `recordings/${w.tenant}/${req.call_id}`, mix: { left: `u${ada.id}`, right: `c${cust.customer_id}` } });
	assert.equal(cmds[1].cmd, 'forward.set');
	// The relay's file event becomes a recordings row (path relative to var/recordings).
	const rec = JSON.parse(sql(`SELECT set_config('vb.tenant_id', '${w.tenant}', false);
	    SELECT vb_call_recording_file(${req.call_id}, 'c${cust.customer_id}', 'audio',
	    '${w.tenant}/${req.call_id}/${req.call_id}-1-c${cust.customer_id}.ogg', 'audio/ogg', 1795309317000, 5000, 1234,
	    '${'ab'.repeat(32)}')`).split('\n').pop());
	assert.equal(rec.participant.type, 'customer');
	assert.equal(rec.conversation_id, cust.conv);
	ada.ws.sendJson({ type: 'call', op: 'record', call_id: req.call_id, state: 'stop' });
	await state(cust.ws, (f) => f.recording === false && f.state === 'active');
	assert.equal(audits(w.tenant, 'call.recording_stop', String(req.call_id)), 1);
	const ev = sql(`SELECT string_agg(meta->'call'->>'event', ',' ORDER BY seq) FROM messages
	    WHERE conversation_id = ${cust.conv} AND meta ? 'call'`);
	assert.equal(ev, 'requested,started,recording_started,recording_stopped');
	ada.ws.sendJson({ type: 'call', op: 'hangup', call_id: req.call_id });
	await state(cust.ws, (f) => f.state === 'ended');
});

test('supervisors: monitor and whisper are audited and unseen by the customer; barge is announced', async () => {
	const w = await world();
	const [ada] = w.team;
	const sue = await staff(w.admin, 'Sue Supervisor', 'supervisor');
	const cust = await customer(w.site);
	await answer(ada, cust.conv);
	ada.ws.sendJson({ type: 'call', op: 'request', conversation_id: cust.conv, kind: 'audio' });
	const req = await state(cust.ws, (f) => f.state === 'requested');
	cust.ws.sendJson({ type: 'call', op: 'accept', call_id: req.call_id });
	await state(ada.ws, (f) => f.state === 'active');
	sue.ws.sendJson({ type: 'subscribe', conversation_id: cust.conv, after_seq: 0 });
	await sue.ws.next((f) => f.type === 'subscribed');
	sue.ws.sendJson({ type: 'call', op: 'monitor', call_id: req.call_id, mode: 'monitor' });
	const sv = await ada.ws.next((f) => f.type === 'call' && f.op === 'supervisors');
	assert.equal(sv.supervisors[0].mode, 'monitor');
	const st = await state(cust.ws, (f) => f.state === 'active' && f.call_id === req.call_id);
	assert.ok(!st.participants.some((p) => p.role === 'supervisor'));
	sue.ws.sendJson({ type: 'call', op: 'monitor', call_id: req.call_id, mode: 'whisper' });
	await ada.ws.next((f) => f.type === 'call' && f.op === 'supervisors' && f.supervisors[0].mode === 'whisper');
	await sleep(200);
	assert.ok(!cust.ws.all.some((f) => f.op === 'supervisors'), 'the customer never hears of silent supervisors');
	// The rules: the customer's m-lines never name Sue outside barge.
	const rules = (mode) => {
		sql(`UPDATE call_participants SET mids = CASE WHEN role = 'supervisor' THEN '{"audio":"0","voice":"1"}'::jsonb
		    ELSE '{"audio":"0","voice":"1"}'::jsonb END, epoch = 'e' WHERE call_id = ${req.call_id}`);
		sql(`UPDATE call_participants SET mode = '${mode}' WHERE call_id = ${req.call_id} AND role = 'supervisor'`);
		return JSON.parse(sql(`SELECT vb_call_rules(c, 'e') FROM calls c WHERE id = ${req.call_id}`)).rules;
	};
	const from = (rs, to, mid) => rs.find((r) => r.to === to && r.mid === mid).from;
	const C = `c${cust.customer_id}`, A = `u${ada.id}`, S = `u${sue.id}`;
	for (const mode of ['monitor', 'whisper']) {
		const rs = rules(mode);
		assert.ok(!rs.some((r) => r.to === C && r.from === S), mode);
		assert.equal(from(rs, S, '0'), C);
		assert.equal(from(rs, S, '1'), A);
		assert.equal(from(rs, A, '1'), mode === 'whisper' ? S : null);
	}
	const rb = rules('barge');
	assert.equal(from(rb, C, '1'), S);
	assert.equal(from(rb, A, '1'), S);
	sql(`UPDATE call_participants SET mode = 'whisper' WHERE call_id = ${req.call_id} AND role = 'supervisor'`);
	sue.ws.sendJson({ type: 'call', op: 'monitor', call_id: req.call_id, mode: 'barge' });
	const b = await state(cust.ws, (f) => f.participants.some((p) => p.role === 'supervisor'));
	assert.equal(b.participants.find((p) => p.role === 'supervisor').name, 'Sue Supervisor');
	assert.equal(sql(`SELECT body FROM messages WHERE conversation_id = ${cust.conv} AND meta->'call'->>'event' = 'supervisor_joined'`),
	    'Sue Supervisor joined the call');
	for (const a of ['call.supervisor_monitor', 'call.supervisor_whisper', 'call.supervisor_barge'])
		assert.equal(audits(w.tenant, a, String(req.call_id)), 1, a);
	// Agents cannot monitor; supervisors cannot hang up for the parties.
	ada.ws.sendJson({ type: 'call', op: 'monitor', call_id: req.call_id, mode: 'monitor' });
	assert.equal((await error(ada.ws)).code, 'forbidden');
	sue.ws.sendJson({ type: 'call', op: 'hangup', call_id: req.call_id });
	assert.equal((await error(sue.ws)).code, 'forbidden');
	ada.ws.sendJson({ type: 'call', op: 'hangup', call_id: req.call_id });
	await state(cust.ws, (f) => f.state === 'ended');
});

test('closing the chat ends its call', async () => {
	const { ada, cust, call } = await inCall({ kind: 'audio' });
	ada.ws.sendJson({ type: 'finish', conversation_id: cust.conv });
	await ada.ws.next((f) => f.type === 'finished');
	assert.equal(callRow(call).state, 'ended');
	assert.equal(callRow(call).end_reason, 'closed');
});

test('a relay restart mid-call: browsers are asked for an ICE restart, their offers recreate the room', async () => {
	const { ada, cust, call } = await inCall({ kind: 'audio' });
	ada.ws.sendJson({ type: 'call', op: 'offer', call_id: call, sdp: OFFER });
	await ada.ws.next((f) => f.type === 'call' && f.op === 'answer');
	cust.ws.sendJson({ type: 'call', op: 'offer', call_id: call, sdp: OFFER });
	await cust.ws.next((f) => f.type === 'call' && f.op === 'answer');
	const hello = await relay({ cmd: 'hello' });
	process.kill(hello.pid, 'SIGKILL');
	// vb-run starts it again; each worker notices and asks its browsers.
	const r1 = await ada.ws.next((f) => f.type === 'call' && f.op === 'restart', 15000);
	const r2 = await cust.ws.next((f) => f.type === 'call' && f.op === 'restart', 15000);
	assert.equal(r1.call_id, call);
	assert.equal(r2.call_id, call);
	const again = await relay({ cmd: 'hello' });
	assert.notEqual(again.pid, hello.pid);
	assert.equal((await relay({ cmd: 'stats', room: `call-${call}` })).ok, false, 'the new relay has no rooms');
	ada.ws.sendJson({ type: 'call', op: 'offer', call_id: call, sdp: OFFER });
	const a = await ada.ws.next((f) => f.type === 'call' && f.op === 'answer');
	assert.ok(a.sdp.includes(again.fingerprint), 'the new relay answered');
	cust.ws.sendJson({ type: 'call', op: 'offer', call_id: call, sdp: OFFER });
	await cust.ws.next((f) => f.type === 'call' && f.op === 'answer');
	let st;
	for (let i = 0; i < 20; i++) {
		st = await relay({ cmd: 'stats', room: `call-${call}` });
		const ps = st.rooms?.[0]?.participants ?? [];
		if (ps.some((p) => p.tracks.some((t) => t.out?.source))) break;
		await sleep(100);
	}
	assert.equal(st.rooms[0].participants.length, 2);
	assert.ok(st.rooms[0].participants.every((p) => p.tracks.some((t) => t.out?.source)), 'rules again');
	ada.ws.sendJson({ type: 'call', op: 'hangup', call_id: call });
	await state(cust.ws, (f) => f.state === 'ended');
});

test('the rooms of calls that ended without the app destroying them are swept', async () => {
	const { ada, cust, call } = await inCall({ kind: 'audio' });
	ada.ws.sendJson({ type: 'call', op: 'offer', call_id: call, sdp: OFFER });
	await ada.ws.next((f) => f.type === 'call' && f.op === 'answer');
	assert.equal((await relay({ cmd: 'stats', room: `call-${call}` })).ok, true);
	// The chat closes under the call (the trigger ends it, no relay command).
	ada.ws.sendJson({ type: 'finish', conversation_id: cust.conv });
	await ada.ws.next((f) => f.type === 'finished');
	let gone = false;
	for (let i = 0; i < 40 && !gone; i++) {
		gone = !(await relay({ cmd: 'stats', room: `call-${call}` })).ok;
		if (!gone) await sleep(1000);
	}
	assert.ok(gone, 'swept within 40 s');
});
