// The Socket.IO peer of the chat benchmark: the usual Node.js chat relay.
// One room per conversation; a message gets the conversation's next number,
// goes to the room and is acknowledged to its sender. No persistence, no
// authentication, no rate limit: what Virtual Branch is compared with.
// Listens on loopback; prints its port on the first line of standard output.
import http from 'node:http';
import { Server } from 'socket.io';

const server = http.createServer();
const io = new Server(server, { transports: ['websocket'], serveClient: false,
    perMessageDeflate: false, maxHttpBufferSize: 65536 });
const lastSeq = new Map();

io.on('connection', (socket) => {
	const kind = socket.handshake.auth?.kind === 'staff' ? 'staff' : 'customer';
	socket.on('subscribe', (m, ack) => {
		if (!Number.isSafeInteger(m?.conversation_id)) return ack?.({ error: 'invalid' });
		socket.join('c' + m.conversation_id);
		ack?.({ conversation_id: m.conversation_id, last_seq: lastSeq.get(m.conversation_id) || 0 });
	});
	socket.on('send', (m, ack) => {
		if (!Number.isSafeInteger(m?.conversation_id) || typeof m.client_id !== 'string' ||
		    typeof m.text !== 'string' || !socket.rooms.has('c' + m.conversation_id))
			return ack?.({ error: 'invalid' });
		const seq = (lastSeq.get(m.conversation_id) || 0) + 1;
		lastSeq.set(m.conversation_id, seq);
		io.to('c' + m.conversation_id).emit('message', { conversation_id: m.conversation_id, seq,
		    client_id: m.client_id, sender: { kind, id: null }, text: m.text, at: new Date().toISOString() });
		ack?.({ conversation_id: m.conversation_id, client_id: m.client_id, seq });
	});
});

server.listen(Number(process.env.SIO_PORT || 0), '127.0.0.1', () => {
	process.stdout.write(server.address().port + '\n');
});
process.on('SIGTERM', () => process.exit(0));
