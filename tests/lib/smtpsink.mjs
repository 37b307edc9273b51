// A local SMTP sink for tests: listens on 127.0.0.1 (random port), speaks
// enough SMTP for libcurl (EHLO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET,
// QUIT) and keeps every message with its envelope and credentials.
// No STARTTLS: tests use starttls:false. Set sink.refuse = true to have it
// refuse every recipient (550), as a server that will not take the mail.
import net from 'node:net';

export async function smtpSink() {
	const messages = [];
	const waiters = [];
	const state = { refuse: false };
	const server = net.createServer((sock) => {
		let buf = '', data = null, env = { from: null, to: [], auth: null }, login = null, plain = false;
		const plainAuth = (b64) => {
			const [, user, pass] = Buffer.from(b64, 'base64').toString().split('\0');
			env.auth = { user, pass };
			say('235 Authenticated');
		};
		const say = (s) => sock.write(s + '\r\n');
		say('220 sink.test ESMTP');
		sock.on('data', (chunk) => {
			buf += chunk.toString('utf8');
			let i;
			while ((i = buf.indexOf('\r\n')) >= 0) {
				const line = buf.slice(0, i);
				buf = buf.slice(i + 2);
				if (data !== null) {
					if (line === '.') {
						const msg = { ...env, data: data.join('\r\n') };
						messages.push(msg);
						waiters.splice(0).forEach((w) => w(msg));
						data = null;
						env = { from: null, to: [], auth: env.auth };
						say('250 OK queued');
					} else {
						data.push(line.startsWith('..') ? line.slice(1) : line);
					}
					continue;
				}
				if (plain) {
					plain = false;
					plainAuth(line);
					continue;
				}
				if (login) {
					login.push(Buffer.from(line, 'base64').toString());
					if (login.length === 1) {
						say('334 UGFzc3dvcmQ6');
					} else {
						env.auth = { user: login[0], pass: login[1] };
						login = null;
						say('235 Authenticated');
					}
					continue;
				}
				const cmd = line.slice(0, 4).toUpperCase();
				if (cmd === 'EHLO' || cmd === 'HELO')
					say('250-sink.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME');
				else if (/^AUTH PLAIN \S/i.test(line)) {
					plainAuth(line.slice(11));
				} else if (/^AUTH PLAIN$/i.test(line)) {
					plain = true;
					say('334 ');
				} else if (/^AUTH LOGIN/i.test(line)) {
					login = [];
					say('334 VXNlcm5hbWU6');
				} else if (cmd === 'MAIL') {
					env.from = /<([^>]*)>/.exec(line)?.[1];
					say('250 OK');
				} else if (cmd === 'RCPT' && state.refuse) {
					say('550 5.1.1 Mailbox unavailable');
				} else if (cmd === 'RCPT') {
					env.to.push(/<([^>]*)>/.exec(line)?.[1]);
					say('250 OK');
				} else if (cmd === 'DATA') {
					data = [];
					say('354 End data with <CR><LF>.<CR><LF>');
				} else if (cmd === 'RSET' || cmd === 'NOOP') {
					say('250 OK');
				} else if (cmd === 'QUIT') {
					say('221 Bye');
					sock.end();
				} else {
					say('502 Not implemented');
				}
			}
		});
		sock.on('error', () => {});
	});
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	return {
		port: server.address().port,
		messages,
		get refuse() { return state.refuse; },
		set refuse(v) { state.refuse = Boolean(v); },
		// The next message (or one already there that matches).
		next(pred = () => true, ms = 10000) {
			const hit = messages.find(pred);
			if (hit)
				return Promise.resolve(hit);
			return new Promise((resolve, reject) => {
				const t = setTimeout(() => reject(new Error('no mail arrived')), ms);
				const w = (m) => {
					if (pred(m)) {
						clearTimeout(t);
						resolve(m);
					} else {
						waiters.push(w);
					}
				};
				waiters.push(w);
			});
		},
		close: () => new Promise((r) => server.close(r)),
	};
}
