// A Kore worker killed with SIGKILL in the middle of a chat: Kore respawns
// it, both sides reconnect, resume with after_seq and resend what was not
// acknowledged with the same client_id. The transcript in PostgreSQL must be
// exactly what both sides saw: nothing lost, nothing twice, seq without gaps.
//
// Only this test stack's Kore is touched: its parent's pid comes from
// $VB_VAR/run/kore.pid and the worker is the child of that parent holding the
// server side of the customer's TCP connection. The killed pid is written to
// $VB_VAR/killed-workers so that tests/run forgives exactly that death.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sql, newOrg, unique } from '../lib/vb.mjs';
import { BASE, siteFor, staff, customer, defaultQueue, connect, sleep } from '../lib/chat.mjs';

const VAR = process.env.VB_VAR;
const PER_SIDE = 24;		// messages each side sends
const GAP_MS = 260;		// under the hub's 5 per second

function korePids() {
	const parent = Number(fs.readFileSync(path.join(VAR, 'run/kore.pid'), 'utf8').trim());
	assert.ok(parent > 1, 'kore.pid names this stack\'s Kore');
	const kids = [];
	for (const d of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(d))
			continue;
		try {
			const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
			if (Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === parent)
				kids.push(Number(d));
		} catch { /* gone */ }
	}
	return { parent, kids };
}

// The socket inode of the server side of a client's TCP connection.
function serverInode(clientPort) {
	const hex = (p) => p.toString(16).toUpperCase().padStart(4, '0');
	for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
		for (const line of fs.readFileSync(f, 'utf8').split('\n').slice(1)) {
			const c = line.trim().split(/\s+/);
			if (c.length > 9 && c[1].endsWith(':' + hex(Number(process.env.VB_PORT))) &&
			    c[2].endsWith(':' + hex(clientPort)))
				return c[9];
		}
	}
	return null;
}

// The Kore worker (a child of this stack's Kore parent) serving a socket.
function workerOf(ws) {
	const inode = serverInode(ws._socket.localPort);
	assert.ok(inode, 'the server side of the connection is found');
	const { kids } = korePids();
	for (const pid of kids) {
		let fds = [];
		try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { continue; }
		for (const fd of fds) {
			try {
				if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`)
					return pid;
			} catch { /* closed meanwhile */ }
		}
	}
	return null;
}

// One side of the chat: sends its lines, follows acks and message frames,
// and on a lost connection reconnects, resumes and resends the unacked.
function side(name, conv, open) {
	const s = { name, conv, open, ws: null, seen: new Map(), acked: new Set(), sent: [],
	    reconnects: 0, dupes: 0, closed: false };
	s.attach = (ws) => {
		s.ws = ws;
		ws.on('message', (d) => {
			const f = JSON.parse(d.toString());
			if (f.type === 'message' && f.conversation_id === conv) {
				const had = s.seen.get(f.seq);
				if (had) {
					assert.deepEqual(had, f, `${name}: a repeated seq ${f.seq} is the same message`);
					s.dupes++;
				}
				s.seen.set(f.seq, f);
			} else if (f.type === 'ack' && f.conversation_id === conv) {
				s.acked.add(f.client_id);
			}
		});
		ws.on('close', () => { if (!s.closed) s.reconnect(); });
	};
	s.lastSeq = () => { let m = 0; for (let i = 1; s.seen.has(i); i++) m = i; return m; };
	s.reconnect = async () => {
		s.ws = null;
		s.reconnects++;
		for (let i = 0; i < 100 && !s.closed; i++) {
			try {
				const ws = await open();
				s.attach(ws);
				ws.sendJson({ type: 'subscribe', conversation_id: conv, after_seq: s.lastSeq() });
				await ws.next((f) => f.type === 'subscribed' && f.conversation_id === conv, 8000);
				for (const m of s.sent)
					if (!s.acked.has(m.client_id))
						ws.sendJson({ type: 'send', conversation_id: conv, ...m });
				return;
			} catch { await sleep(100); }
		}
	};
	s.send = (text) => {
		const m = { client_id: unique(name), text };
		s.sent.push(m);
		if (s.ws && s.ws.readyState === 1)
			s.ws.sendJson({ type: 'send', conversation_id: conv, ...m });
	};
	return s;
}

test('a worker killed mid-conversation loses and doubles nothing; both sides resume', { timeout: 90000 }, async () => {
	const { admin, tenant } = await newOrg();
	const site = await siteFor(admin);
	defaultQueue(tenant, site);
	const ada = await staff(admin, 'Ada Agent');
	const cust = await customer(site, 'Hello, my card is blocked');
	ada.ws.sendJson({ type: 'state', state: 'ready' });
	await ada.ws.next((f) => f.type === 'offer' && f.conversation_id === cust.conv, 8000);
	ada.ws.sendJson({ type: 'accept', conversation_id: cust.conv });
	await ada.ws.next((f) => f.type === 'accepted' && f.conversation_id === cust.conv);

	// Fresh sockets owned by the two sides, each resuming from seq 0.
	const c = side('cust', cust.conv, () => connect(BASE, { token: cust.token }));
	const a = side('ada', cust.conv, async () => {
		const ws = await connect(BASE, { cookie: ada.client.cookieHeader() });
		await ws.next((f) => f.type === 'hello');
		return ws;
	});
	// However it ends, the sides stop reconnecting (else node never exits).
	try {
		for (const s of [c, a]) {
			const ws = await s.open();
			s.attach(ws);
			ws.sendJson({ type: 'subscribe', conversation_id: cust.conv, after_seq: 0 });
			await ws.next((f) => f.type === 'subscribed');
		}
		cust.ws.close();
		ada.ws.close();

		const before = korePids();
		assert.ok(before.kids.length >= 2, `Kore has its workers (${before.kids})`);
		const victim = workerOf(c.ws);
		assert.ok(victim && before.kids.includes(victim), 'the customer\'s worker is a child of this stack\'s Kore');
		const agentWorker = workerOf(a.ws);

		// Both sides talk; a third of the way in, the customer's worker dies.
		let killed = false;
		for (let i = 0; i < PER_SIDE; i++) {
			c.send(`customer line ${i}`);
			a.send(`agent line ${i}`);
			if (i === Math.floor(PER_SIDE / 3)) {
				fs.appendFileSync(path.join(VAR, 'killed-workers'), `${victim}\n`);
				process.kill(victim, 'SIGKILL');
				killed = true;
			}
			await sleep(GAP_MS);
		}
		assert.ok(killed);

		// Everything sent is acknowledged in the end, reconnecting as needed.
		const all = [...c.sent, ...a.sent].map((m) => m.client_id);
		for (let t = 0; t < 150; t++) {
			if (all.every((id) => c.acked.has(id) || a.acked.has(id)))
				break;
			await sleep(100);
		}
		for (const s of [c, a])
			for (const m of s.sent)
				assert.ok(s.acked.has(m.client_id), `${s.name}: ${m.client_id} acknowledged`);
		assert.ok(c.reconnects >= 1, 'the customer lost its connection and came back');
		if (agentWorker === victim)
			assert.ok(a.reconnects >= 1, 'the agent shared the worker and came back too');

		// Kore respawned the worker: as many children as before, the victim gone.
		let after;
		for (let t = 0; t < 50; t++) {
			after = korePids();
			if (after.parent === before.parent && after.kids.length === before.kids.length &&
			    !after.kids.includes(victim))
				break;
			await sleep(100);
		}
		assert.equal(after.parent, before.parent, 'the same Kore parent');
		assert.ok(!after.kids.includes(victim), 'the killed worker is gone');
		assert.equal(after.kids.length, before.kids.length, 'Kore respawned the worker');

		// The truth in PostgreSQL.
		const rows = sql(`SELECT seq || '|' || client_id || '|' || sender_kind || '|' || body FROM messages
		    WHERE conversation_id = ${cust.conv} ORDER BY seq`).split('\n').filter(Boolean)
		    .map((l) => { const [seq, client_id, kind, ...t] = l.split('|'); return { seq: Number(seq), client_id, kind, text: t.join('|') }; });
		rows.forEach((r, i) => assert.equal(r.seq, i + 1, 'seq has no gaps'));
		const ids = rows.map((r) => r.client_id);
		assert.equal(new Set(ids).size, ids.length, 'no client_id stored twice');
		for (const m of [...c.sent, ...a.sent])
			assert.equal(ids.filter((id) => id === m.client_id).length, 1, `${m.client_id} stored once`);
		assert.equal(rows.filter((r) => r.kind === 'customer' && r.client_id.startsWith('cust')).length, PER_SIDE);
		assert.equal(rows.filter((r) => r.kind === 'staff').length, PER_SIDE);

		// Both sides saw every stored message once the dust settled, as stored.
		for (let t = 0; t < 150 && ![c, a].every((s) => s.seen.size === rows.length); t++)
			await sleep(100);
		for (const s of [c, a]) {
			const seen = [...s.seen.values()].sort((x, y) => x.seq - y.seq)
			    .map((f) => ({ seq: f.seq, client_id: f.client_id, kind: f.sender.kind, text: f.text }));
			assert.deepEqual(seen, rows, `${s.name} saw the transcript as stored`);
		}
	} finally {
		c.closed = a.closed = true;
		c.ws?.close();
		a.ws?.close();
	}
});
