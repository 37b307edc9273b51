-- The agent console and the supervisor (C1–C5, C9, S1–S3).
--
-- Staff actions on the WebSocket go through one entry point, vb_staff_op(op,
-- frame), which answers a list of effects for the hub to carry out in order:
--   reply  → a frame for the connection that asked
--   conv   → a frame for everyone following conversation id
--   staff  → the same, staff only (notes, whispers: never to a customer)
--   user   → a frame for one staff member, wherever connected
--   sub / unsub → the asking connection follows / stops following conv id
--   watch  → the asking connection follows the organisation's live board
--   route  → run a routing pass; board → the live board changed
-- So the rules live in one transaction with the data, and the hub stays a
-- dispatcher.

-- Internal notes (any participant) and whispers (a supervisor to the agents):
-- a space of their own, so the customer's message numbering has no holes.
CREATE TABLE staff_notes (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	conversation_id	bigint NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('note', 'whisper')),
	sender_id	bigint NOT NULL,
	client_id	text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 64),
	body		text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (conversation_id, client_id),
	FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations(tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, sender_id) REFERENCES users(tenant_id, id)
);
CREATE INDEX staff_notes_conv ON staff_notes (conversation_id, id);

-- Who is in a conversation, and as what; invitations to join one (C4).
-- A row is a current participant: leaving or handing on deletes it.
ALTER TABLE conversation_staff ADD COLUMN role text NOT NULL DEFAULT 'agent'
	CHECK (role IN ('agent', 'guest', 'supervisor'));
CREATE TABLE conversation_invites (
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	conversation_id	bigint NOT NULL,
	user_id		bigint NOT NULL,
	invited_by	bigint NOT NULL,
	expires_at	timestamptz NOT NULL,
	PRIMARY KEY (conversation_id, user_id),
	FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations(tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
);

-- Staff-to-staff messages (C5, S3).
CREATE TABLE staff_messages (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	from_id		bigint NOT NULL,
	to_id		bigint NOT NULL,
	client_id	text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 64),
	body		text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
	created_at	timestamptz NOT NULL DEFAULT now(),
	read_at		timestamptz,
	UNIQUE (from_id, client_id),
	FOREIGN KEY (tenant_id, from_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, to_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX staff_messages_pair ON staff_messages (least(from_id, to_id), greatest(from_id, to_id), id);
CREATE INDEX staff_messages_unread ON staff_messages (to_id) WHERE read_at IS NULL;

-- Presence: a console connection touches seen_at; older than 90 s is offline,
-- and the router (vb_acd_pick, 0018) offers nothing to such a quiet console.
ALTER TABLE agent_states ADD COLUMN seen_at timestamptz;

-- Wrap-up of a finished contact (C9).
ALTER TABLE conversations ADD COLUMN wrapup_code_id bigint,
	ADD COLUMN wrapup_note text CHECK (length(wrapup_note) <= 1000);

DO $$
DECLARE t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['staff_notes', 'conversation_invites', 'staff_messages']
	LOOP
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = vb_tenant()) '
		    'WITH CHECK (tenant_id = vb_tenant())', t);
		EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO vb_app', t);
	END LOOP;
END $$;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO vb_app;

-- Helpers ------------------------------------------------------------------

CREATE FUNCTION vb_is_supervisor(p_user bigint) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN 'console.supervisor' = ANY (vb_perms_of(p_user));
END $$;

CREATE FUNCTION vb_user_name(p_user bigint) RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT name FROM users WHERE id = p_user);
END $$;

CREATE FUNCTION vb_in_conversation(p_conv bigint, p_user bigint) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN EXISTS (SELECT 1 FROM conversation_staff WHERE conversation_id = p_conv
	    AND user_id = p_user);
END $$;

CREATE FUNCTION vb_customer_name(p_customer bigint) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE n text;
BEGIN
	SELECT coalesce(display_name, email) INTO n FROM customers WHERE id = p_customer;
	RETURN coalesce(n, 'Visitor ' || p_customer);
END $$;

CREATE FUNCTION vb_note_json(n staff_notes) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('type', 'note', 'conversation_id', n.conversation_id, 'id', n.id,
	    'client_id', n.client_id, 'kind', n.kind, 'sender', jsonb_build_object('kind', 'staff',
	    'id', n.sender_id, 'name', vb_user_name(n.sender_id)), 'text', n.body, 'at', n.created_at);
END $$;

CREATE FUNCTION vb_dm_json(d staff_messages) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('type', 'dm', 'id', d.id, 'client_id', d.client_id,
	    'from', jsonb_build_object('id', d.from_id, 'name', vb_user_name(d.from_id)),
	    'to', d.to_id, 'text', d.body, 'at', d.created_at, 'read', d.read_at IS NOT NULL);
END $$;

-- A system line everyone in the conversation sees ("Ann joined the chat").
CREATE FUNCTION vb_system_line(p_conv bigint, p_tag text, p_text text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE m messages;
BEGIN
	m := vb_message_add(p_conv, 'system', vb_actor(), p_tag || '-' || vb_actor() || '-' ||
	    (extract(epoch FROM clock_timestamp()) * 1000)::bigint, p_text);
	RETURN vb_message_json(m)::text;
END $$;

-- Fields of a staff frame, typed; a wrong type is a clear 422.
CREATE FUNCTION vb_frame_id(f jsonb, k text, required boolean DEFAULT true) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF f->k IS NULL OR f->k = 'null'::jsonb THEN
		IF required THEN PERFORM vb_fail(422, 'invalid', k || ' is required'); END IF;
		RETURN NULL;
	END IF;
	IF jsonb_typeof(f->k) <> 'number' OR (f->>k)::numeric <> trunc((f->>k)::numeric)
	    OR (f->>k)::numeric <= 0 OR (f->>k)::numeric > 9007199254740991 THEN
		PERFORM vb_fail(422, 'invalid', k || ' must be a positive integer');
	END IF;
	RETURN (f->>k)::bigint;
END $$;

CREATE FUNCTION vb_frame_text(f jsonb, k text, maxlen int, required boolean DEFAULT true) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF f->k IS NULL OR f->k = 'null'::jsonb THEN
		IF required THEN PERFORM vb_fail(422, 'invalid', k || ' is required'); END IF;
		RETURN NULL;
	END IF;
	IF jsonb_typeof(f->k) <> 'string' OR length(f->>k) < 1 OR length(f->>k) > maxlen THEN
		PERFORM vb_fail(422, 'invalid', k || ' must be text of 1 to ' || maxlen || ' characters');
	END IF;
	RETURN f->>k;
END $$;

CREATE FUNCTION vb_frame_client(f jsonb) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE v text := vb_frame_text(f, 'client_id', 64);
BEGIN
	IF v !~ '^[A-Za-z0-9_-]+$' THEN
		PERFORM vb_fail(422, 'invalid', 'client_id must be 1-64 URL-safe characters');
	END IF;
	RETURN v;
END $$;

-- An active console user of this organisation, or a clear 404.
CREATE FUNCTION vb_staff_target(p_user bigint) RETURNS void LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM users WHERE id = p_user AND status = 'active')
	    OR NOT ('console.agent' = ANY (vb_perms_of(p_user))) THEN
		PERFORM vb_fail(404, 'not_found', 'No such colleague');
	END IF;
END $$;

-- Reading and following a conversation ---------------------------------------

-- Participants follow their conversations; supervisors may follow any of
-- their organisation's, silently (the customer sees nothing), and each time
-- that is written to the audit log (S2).
CREATE OR REPLACE FUNCTION vb_conversation_access(p_conv bigint, p_kind text, p_who bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE c conversations;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_conv;
	IF NOT FOUND OR (p_kind = 'customer' AND c.customer_id <> p_who) THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation');
	END IF;
	IF p_kind = 'staff' AND NOT EXISTS (SELECT 1 FROM conversation_staff
	    WHERE conversation_id = p_conv AND user_id = p_who) THEN
		IF NOT vb_is_supervisor(p_who) THEN
			PERFORM vb_fail(403, 'forbidden', 'You are not in this conversation');
		END IF;
		PERFORM vb_audit('conversation.monitor', 'conversation', p_conv::text, NULL, NULL);
	END IF;
	RETURN c.last_seq;
END $$;

-- May this agent see the details of a conversation? Participants (now or
-- before), supervisors, the agent it rings for, anyone while it waits in a
-- queue (to pick it from the list), and agents serving the same customer now
-- (screen pop history).
CREATE FUNCTION vb_console_can_see(c conversations) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN vb_is_supervisor(vb_actor())
	    OR EXISTS (SELECT 1 FROM conversation_staff WHERE conversation_id = c.id AND user_id = vb_actor())
	    OR (c.routing = 'offered' AND c.offered_user_id = vb_actor())
	    OR (c.routing = 'queued' AND c.status = 'open')
	    OR EXISTS (SELECT 1 FROM conversations o JOIN conversation_staff s ON s.conversation_id = o.id
		WHERE o.customer_id = c.customer_id AND o.status = 'open' AND s.user_id = vb_actor())
	    OR EXISTS (SELECT 1 FROM conversations o WHERE o.customer_id = c.customer_id
		AND o.routing = 'offered' AND o.offered_user_id = vb_actor());
END $$;

-- The staff operations ------------------------------------------------------

CREATE FUNCTION vb_op_note(f jsonb, p_kind text) RETURNS TABLE (target text, id bigint, frame text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE conv bigint := vb_frame_id(f, 'conversation_id'); cl text := vb_frame_client(f);
	body text := vb_frame_text(f, 'text', 4000); n staff_notes; c conversations;
BEGIN
	SELECT * INTO c FROM conversations WHERE conversations.id = conv;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such conversation'); END IF;
	IF p_kind = 'whisper' AND NOT vb_is_supervisor(vb_actor()) THEN
		PERFORM vb_fail(403, 'forbidden', 'Only supervisors whisper');
	END IF;
	IF p_kind = 'note' AND NOT vb_in_conversation(conv, vb_actor())
	    AND NOT vb_is_supervisor(vb_actor()) THEN
		PERFORM vb_fail(403, 'forbidden', 'You are not in this conversation');
	END IF;
	SELECT * INTO n FROM staff_notes s WHERE s.conversation_id = conv AND s.client_id = cl;
	IF NOT FOUND THEN
		IF c.status = 'closed' AND p_kind = 'whisper' THEN
			PERFORM vb_fail(409, 'closed', 'This conversation has ended');
		END IF;
		INSERT INTO staff_notes (conversation_id, kind, sender_id, client_id, body)
		VALUES (conv, p_kind, vb_actor(), cl, body) RETURNING * INTO n;
		IF p_kind = 'whisper' THEN
			PERFORM vb_audit('conversation.whisper', 'conversation', conv::text, NULL,
			    jsonb_build_object('note_id', n.id));
		END IF;
	END IF;
	RETURN QUERY VALUES ('staff', conv, vb_note_json(n)::text);
END $$;

-- A supervisor joins the conversation openly: the customer sees it (S2).
CREATE FUNCTION vb_op_barge(f jsonb) RETURNS TABLE (target text, id bigint, frame text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE conv bigint := vb_frame_id(f, 'conversation_id'); c conversations;
BEGIN
	IF NOT vb_is_supervisor(vb_actor()) THEN
		PERFORM vb_fail(403, 'forbidden', 'Only supervisors barge in');
	END IF;
	SELECT * INTO c FROM conversations WHERE conversations.id = conv FOR UPDATE;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such conversation'); END IF;
	IF c.status <> 'open' THEN PERFORM vb_fail(409, 'closed', 'This conversation has ended'); END IF;
	IF vb_in_conversation(conv, vb_actor()) THEN
		RETURN QUERY VALUES ('reply', conv, jsonb_build_object('type', 'barged',
		    'conversation_id', conv)::text);
		RETURN;
	END IF;
	INSERT INTO conversation_staff (conversation_id, user_id, role) VALUES (conv, vb_actor(), 'supervisor')
	ON CONFLICT (conversation_id, user_id) DO UPDATE SET role = 'supervisor';
	PERFORM vb_audit('conversation.barge', 'conversation', conv::text, NULL, NULL);
	RETURN QUERY VALUES ('sub', conv, NULL::text),
	    ('conv', conv, vb_system_line(conv, 'barge', vb_user_name(vb_actor()) || ' (supervisor) joined the chat')),
	    ('reply', conv, jsonb_build_object('type', 'barged', 'conversation_id', conv)::text),
	    ('board', NULL, NULL);
END $$;

-- A guest or supervisor leaves; the assigned agent finishes or transfers.
CREATE FUNCTION vb_op_leave(f jsonb) RETURNS TABLE (target text, id bigint, frame text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE conv bigint := vb_frame_id(f, 'conversation_id'); c conversations;
BEGIN
	SELECT * INTO c FROM conversations WHERE conversations.id = conv FOR UPDATE;
	IF NOT FOUND OR NOT vb_in_conversation(conv, vb_actor()) THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation of yours');
	END IF;
	IF c.assigned_user_id = vb_actor() AND c.status = 'open' THEN
		PERFORM vb_fail(409, 'conflict', 'Finish or transfer the chat instead of leaving it');
	END IF;
	DELETE FROM conversation_staff WHERE conversation_id = conv AND user_id = vb_actor();
	RETURN QUERY VALUES ('unsub', conv, NULL::text),
	    ('reply', conv, jsonb_build_object('type', 'left', 'conversation_id', conv)::text);
	IF c.status = 'open' THEN
		RETURN QUERY VALUES ('conv', conv, vb_system_line(conv, 'left',
		    vb_user_name(vb_actor()) || ' left the chat'));
	END IF;
	RETURN QUERY VALUES ('board', NULL::bigint, NULL::text);
END $$;

-- Transfer to a colleague (offered to them first) or to a queue (C4).
CREATE FUNCTION vb_op_transfer(f jsonb) RETURNS TABLE (target text, id bigint, frame text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE conv bigint := vb_frame_id(f, 'conversation_id'); to_user bigint := vb_frame_id(f, 'user_id', false);
	to_queue bigint := vb_frame_id(f, 'queue_id', false); c conversations; q queues; exp timestamptz;
BEGIN
	IF (to_user IS NULL) = (to_queue IS NULL) THEN
		PERFORM vb_fail(422, 'invalid', 'Give either user_id or queue_id');
	END IF;
	SELECT * INTO c FROM conversations WHERE conversations.id = conv FOR UPDATE;
	IF NOT FOUND OR c.status <> 'open' OR (c.assigned_user_id IS DISTINCT FROM vb_actor()
	    AND NOT vb_is_supervisor(vb_actor())) OR c.routing <> 'assigned' THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation of yours');
	END IF;
	IF to_queue IS NOT NULL THEN
		SELECT * INTO q FROM queues WHERE queues.id = to_queue;
		IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such queue'); END IF;
	ELSE
		IF to_user = c.assigned_user_id THEN
			PERFORM vb_fail(422, 'invalid', 'The chat is already with this colleague');
		END IF;
		PERFORM vb_staff_target(to_user);
		SELECT * INTO q FROM queues WHERE queues.id = c.queue_id;
	END IF;
	exp := now() + make_interval(secs => coalesce(q.offer_timeout_s, 30));
	-- The agent who hands it on steps out; the customer keeps their place.
	DELETE FROM conversation_staff WHERE conversation_id = conv AND user_id = c.assigned_user_id;
	UPDATE conversations SET queue_id = coalesce(q.id, conversations.queue_id),
	    routing = CASE WHEN to_user IS NULL THEN 'queued' ELSE 'offered' END,
	    offered_user_id = to_user, offer_expires_at = CASE WHEN to_user IS NULL THEN NULL ELSE exp END,
	    assigned_user_id = NULL, assigned_at = NULL, declined = ARRAY[c.assigned_user_id],
	    preferred_user_id = NULL, last_position = NULL
	WHERE conversations.id = conv;
	PERFORM vb_audit('conversation.transfer', 'conversation', conv::text,
	    jsonb_build_object('agent', c.assigned_user_id, 'queue', c.queue_id),
	    jsonb_build_object('user', to_user, 'queue', q.id));
	RETURN QUERY VALUES ('user', c.assigned_user_id, jsonb_build_object('type', 'transferred',
	    'conversation_id', conv)::text),
	    ('conv', conv, vb_system_line(conv, 'transfer', 'You are being transferred to a colleague. Please wait a moment.'));
	IF to_user IS NOT NULL THEN
		RETURN QUERY VALUES ('user', to_user, jsonb_build_object('type', 'offer',
		    'conversation_id', conv, 'expires_at', exp, 'transfer_from',
		    vb_user_name(vb_actor()))::text);
	END IF;
	RETURN QUERY VALUES ('route', NULL::bigint, NULL::text), ('board', NULL, NULL);
END $$;

-- Invite a colleague in (conference, C4); they answer with join.
CREATE FUNCTION vb_op_invite(f jsonb) RETURNS TABLE (target text, id bigint, frame text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE conv bigint := vb_frame_id(f, 'conversation_id'); to_user bigint := vb_frame_id(f, 'user_id');
	c conversations;
BEGIN
	SELECT * INTO c FROM conversations WHERE conversations.id = conv;
	IF NOT FOUND OR c.status <> 'open' OR NOT vb_in_conversation(conv, vb_actor()) THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation of yours');
	END IF;
	PERFORM vb_staff_target(to_user);
	IF vb_in_conversation(conv, to_user) THEN
		PERFORM vb_fail(409, 'conflict', 'This colleague is already in the chat');
	END IF;
	INSERT INTO conversation_invites (conversation_id, user_id, invited_by, expires_at)
	VALUES (conv, to_user, vb_actor(), now() + interval '2 minutes')
	ON CONFLICT (conversation_id, user_id) DO UPDATE SET invited_by = vb_actor(),
	    expires_at = EXCLUDED.expires_at;
	RETURN QUERY VALUES ('user', to_user, jsonb_build_object('type', 'invite', 'conversation_id', conv,
	    'from', jsonb_build_object('id', vb_actor(), 'name', vb_user_name(vb_actor())),
	    'customer', vb_customer_name(c.customer_id),
	    'expires_at', now() + interval '2 minutes')::text),
	    ('reply', conv, jsonb_build_object('type', 'invited', 'conversation_id', conv,
	    'user_id', to_user)::text);
END $$;

CREATE FUNCTION vb_op_join(f jsonb) RETURNS TABLE (target text, id bigint, frame text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE conv bigint := vb_frame_id(f, 'conversation_id'); c conversations;
BEGIN
	SELECT * INTO c FROM conversations WHERE conversations.id = conv FOR UPDATE;
	IF NOT FOUND OR c.status <> 'open' THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation');
	END IF;
	DELETE FROM conversation_invites WHERE conversation_id = conv AND user_id = vb_actor()
	    AND expires_at > now();
	IF NOT FOUND THEN PERFORM vb_fail(409, 'invite_gone', 'The invitation has expired'); END IF;
	INSERT INTO conversation_staff (conversation_id, user_id, role) VALUES (conv, vb_actor(), 'guest')
	ON CONFLICT (conversation_id, user_id) DO NOTHING;
	RETURN QUERY VALUES ('sub', conv, NULL::text),
	    ('conv', conv, vb_system_line(conv, 'join', vb_user_name(vb_actor()) || ' joined the chat')),
	    ('reply', conv, jsonb_build_object('type', 'joined', 'conversation_id', conv)::text),
	    ('board', NULL, NULL);
END $$;

-- An agent picks a waiting contact from the list (double-click, C2).
CREATE FUNCTION vb_op_take(f jsonb) RETURNS TABLE (target text, id bigint, frame text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE conv bigint := vb_frame_id(f, 'conversation_id'); c conversations; a agent_states; cap int;
BEGIN
	SELECT * INTO a FROM agent_states WHERE user_id = vb_actor() FOR UPDATE;
	IF NOT FOUND OR a.state NOT IN ('ready', 'wrapup') THEN
		PERFORM vb_fail(409, 'not_ready', 'Set yourself ready to take a contact');
	END IF;
	SELECT * INTO c FROM conversations WHERE conversations.id = conv FOR UPDATE;
	IF NOT FOUND OR c.status <> 'open' OR NOT (c.routing = 'queued'
	    OR (c.routing = 'offered' AND c.offered_user_id = vb_actor())) THEN
		PERFORM vb_fail(409, 'offer_gone', 'Someone else has this contact');
	END IF;
	SELECT coalesce(a.capacity, q.capacity, 3) INTO cap FROM queues q WHERE q.id = c.queue_id;
	IF c.routing = 'queued' AND vb_acd_load(vb_actor()) >= coalesce(cap, 3) THEN
		PERFORM vb_fail(409, 'at_capacity', 'You are at your limit of concurrent chats');
	END IF;
	UPDATE conversations SET routing = 'offered', offered_user_id = vb_actor(),
	    offer_expires_at = now() + interval '1 minute' WHERE conversations.id = conv;
	RETURN QUERY SELECT 'sub', conv, NULL::text;
	RETURN QUERY SELECT 'conv', conv, vb_acd_accept_msg(conv)::text;
	RETURN QUERY SELECT 'reply', conv, vb_message_json(m)::text FROM messages m
	    WHERE m.conversation_id = conv ORDER BY m.seq LIMIT 500;
	RETURN QUERY VALUES ('reply', conv, jsonb_build_object('type', 'accepted', 'conversation_id', conv)::text),
	    ('route', NULL, NULL), ('board', NULL, NULL);
END $$;

-- Wrap-up code and note for a contact the agent handled (C9).
CREATE FUNCTION vb_op_wrapup(f jsonb) RETURNS TABLE (target text, id bigint, frame text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE conv bigint := vb_frame_id(f, 'conversation_id'); code bigint := vb_frame_id(f, 'code_id', false);
	note text := vb_frame_text(f, 'note', 1000, false); c conversations;
BEGIN
	SELECT * INTO c FROM conversations WHERE conversations.id = conv FOR UPDATE;
	IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM conversation_staff WHERE conversation_id = conv
	    AND user_id = vb_actor() AND role = 'agent') THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation of yours');
	END IF;
	IF code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM wrapup_codes w WHERE w.id = code AND w.active) THEN
		PERFORM vb_fail(404, 'not_found', 'No such wrap-up code');
	END IF;
	UPDATE conversations SET wrapup_code_id = code, wrapup_note = note WHERE conversations.id = conv;
	RETURN QUERY VALUES ('reply', conv, jsonb_build_object('type', 'wrapped', 'conversation_id', conv,
	    'code_id', code)::text);
END $$;

-- Staff-to-staff message (C5, S3).
CREATE FUNCTION vb_op_dm(f jsonb) RETURNS TABLE (target text, id bigint, frame text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE to_user bigint := vb_frame_id(f, 'to'); cl text := vb_frame_client(f);
	body text := vb_frame_text(f, 'text', 4000); d staff_messages;
BEGIN
	IF to_user = vb_actor() THEN PERFORM vb_fail(422, 'invalid', 'Write to a colleague'); END IF;
	IF NOT EXISTS (SELECT 1 FROM users WHERE users.id = to_user AND status = 'active') THEN
		PERFORM vb_fail(404, 'not_found', 'No such colleague');
	END IF;
	SELECT * INTO d FROM staff_messages s WHERE s.from_id = vb_actor() AND s.client_id = cl;
	IF NOT FOUND THEN
		INSERT INTO staff_messages (from_id, to_id, client_id, body)
		VALUES (vb_actor(), to_user, cl, body) RETURNING * INTO d;
	END IF;
	RETURN QUERY VALUES ('user', d.to_id, vb_dm_json(d)::text), ('user', d.from_id, vb_dm_json(d)::text);
END $$;

CREATE FUNCTION vb_op_watch(f jsonb) RETURNS TABLE (target text, id bigint, frame text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
	IF NOT vb_is_supervisor(vb_actor()) THEN
		PERFORM vb_fail(403, 'forbidden', 'Only supervisors watch the live board');
	END IF;
	RETURN QUERY VALUES ('watch', vb_tenant(), NULL::text),
	    ('reply', NULL::bigint, '{"type":"watching"}');
END $$;

CREATE FUNCTION vb_op_presence(f jsonb) RETURNS TABLE (target text, id bigint, frame text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
	INSERT INTO agent_states (user_id, seen_at) VALUES (vb_actor(), now())
	ON CONFLICT (user_id) DO UPDATE SET seen_at = now();
	RETURN;
END $$;

-- One function per operation, vb_op_<name>(frame jsonb): a new operation is
-- a new function (and a row in the hub's table), nothing else changes.
CREATE FUNCTION vb_op_whisper(f jsonb) RETURNS TABLE (target text, id bigint, frame text)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY SELECT * FROM vb_op_note(f, 'whisper');
END $$;

CREATE FUNCTION vb_op_note(f jsonb) RETURNS TABLE (target text, id bigint, frame text)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY SELECT * FROM vb_op_note(f, 'note');
END $$;

CREATE FUNCTION vb_staff_op(p_op text, p_frame jsonb) RETURNS TABLE (target text, id bigint, frame text)
LANGUAGE plpgsql AS $$
BEGIN
	IF jsonb_typeof(p_frame) <> 'object' THEN
		PERFORM vb_fail(422, 'invalid', 'A JSON object is required');
	END IF;
	IF p_op !~ '^[a-z]{1,20}$' OR to_regprocedure('vb_op_' || p_op || '(jsonb)') IS NULL THEN
		PERFORM vb_fail(422, 'unknown_type', 'Unknown staff operation');
	END IF;
	RETURN QUERY EXECUTE format('SELECT * FROM %I($1)', 'vb_op_' || p_op) USING p_frame;
END $$;

-- Console reads (REST) ---------------------------------------------------------

-- Waiting contacts, the first at the top (C2).
CREATE FUNCTION vb_console_waiting() RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('items', coalesce((SELECT jsonb_agg(x ORDER BY x.ord) FROM (
		SELECT row_number() OVER (ORDER BY c.priority DESC, c.queued_at, c.id) AS ord,
		    c.id, c.routing, c.priority, c.queued_at, c.queue_id,
		    (SELECT name FROM queues q WHERE q.id = c.queue_id) AS queue,
		    vb_customer_name(c.customer_id) AS customer,
		    c.offered_user_id = vb_actor() AS offered_to_me,
		    CASE WHEN c.offered_user_id = vb_actor() THEN c.offer_expires_at END AS offer_expires_at,
		    (SELECT left(body, 140) FROM messages m WHERE m.conversation_id = c.id
			AND m.sender_kind = 'customer' ORDER BY m.seq LIMIT 1) AS preview
		FROM conversations c WHERE c.status = 'open' AND c.routing IN ('queued', 'offered')
		ORDER BY c.priority DESC, c.queued_at, c.id LIMIT 200) x), '[]'));
END $$;

-- Queues to transfer to, with how many wait in each.
CREATE FUNCTION vb_console_queues() RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('items', coalesce((SELECT jsonb_agg(jsonb_build_object('id', q.id,
	    'name', q.name, 'waiting', (SELECT count(*) FROM conversations c WHERE c.queue_id = q.id
		AND c.status = 'open' AND c.routing IN ('queued', 'offered'))) ORDER BY q.name)
	    FROM queues q), '[]'));
END $$;

-- My state, and my conversations: open ones I am in, and those I finished
-- in the last hour without a wrap-up code yet.
CREATE FUNCTION vb_console_mine() RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('state', (SELECT jsonb_build_object('state', CASE
		WHEN a.state = 'wrapup' AND a.wrapup_until <= now() THEN 'ready' ELSE a.state END,
		'reason', a.reason, 'since', a.since, 'wrapup_until', a.wrapup_until)
		FROM agent_states a WHERE a.user_id = vb_actor()),
	    'items', coalesce((SELECT jsonb_agg(x ORDER BY x.started) FROM (
		SELECT c.id, c.status, c.routing, s.role, c.last_seq, s.joined_at AS started,
		    c.closed_at, c.wrapup_code_id,
		    vb_customer_name(c.customer_id) AS customer,
		    (SELECT name FROM queues q WHERE q.id = c.queue_id) AS queue
		FROM conversations c JOIN conversation_staff s ON s.conversation_id = c.id
		WHERE s.user_id = vb_actor()
		  AND (c.status = 'open' OR (s.role = 'agent' AND c.wrapup_code_id IS NULL
		       AND c.closed_at > now() - interval '1 hour'))
		ORDER BY s.joined_at LIMIT 100) x), '[]'));
END $$;

-- Screen pop (C3): the conversation, the customer, the context the widget
-- relayed (W19), who is in it, and every earlier contact of this customer.
CREATE FUNCTION vb_console_conversation(p_id bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE c conversations; cu customers;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_id;
	IF NOT FOUND OR NOT vb_console_can_see(c) THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation');
	END IF;
	SELECT * INTO cu FROM customers WHERE id = c.customer_id;
	RETURN jsonb_build_object(
	    'id', c.id, 'status', c.status, 'routing', c.routing, 'created_at', c.created_at,
	    'queued_at', c.queued_at, 'assigned_at', c.assigned_at, 'closed_at', c.closed_at,
	    'last_seq', c.last_seq, 'wrapup_code_id', c.wrapup_code_id, 'wrapup_note', c.wrapup_note,
	    'queue', (SELECT jsonb_build_object('id', q.id, 'name', q.name) FROM queues q WHERE q.id = c.queue_id),
	    'site', (SELECT jsonb_build_object('id', s.id, 'name', s.name) FROM sites s WHERE s.id = c.site_id),
	    'subject', to_jsonb(c)->'subject_id',
	    'context', coalesce(to_jsonb(c)->'context', '{}'::jsonb),
	    'assigned', (SELECT jsonb_build_object('id', u.id, 'name', u.name) FROM users u
		WHERE u.id = c.assigned_user_id),
	    'me_in', vb_in_conversation(c.id, vb_actor()),
	    'participants', coalesce((SELECT jsonb_agg(jsonb_build_object('id', u.id, 'name', u.name,
		'role', s.role) ORDER BY s.joined_at) FROM conversation_staff s JOIN users u ON u.id = s.user_id
		WHERE s.conversation_id = c.id), '[]'),
	    'customer', jsonb_build_object('id', cu.id, 'name', vb_customer_name(cu.id),
		'display_name', cu.display_name, 'email', cu.email, 'external_id', cu.external_id,
		'correlation_id', cu.correlation_id, 'since', cu.created_at,
		'importance', to_jsonb(cu)->'importance'),
	    'history', coalesce((SELECT jsonb_agg(h ORDER BY h.created_at DESC) FROM (
		SELECT o.id, o.channel, o.status, o.created_at, o.closed_at,
		    (SELECT name FROM users u WHERE u.id = coalesce(o.assigned_user_id,
			(SELECT user_id FROM conversation_staff s WHERE s.conversation_id = o.id
			 AND s.role = 'agent' ORDER BY joined_at LIMIT 1))) AS agent,
		    (SELECT count(*) FROM messages m WHERE m.conversation_id = o.id
			AND m.sender_kind <> 'system') AS messages,
		    (SELECT left(body, 140) FROM messages m WHERE m.conversation_id = o.id
			AND m.sender_kind = 'customer' ORDER BY m.seq LIMIT 1) AS preview
		FROM conversations o WHERE o.customer_id = c.customer_id AND o.id <> c.id
		  AND o.last_seq > 0
		ORDER BY o.created_at DESC LIMIT 50) h), '[]'));
END $$;

-- The whole record of a conversation for staff: messages and notes.
CREATE FUNCTION vb_console_transcript(p_id bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE c conversations;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_id;
	IF NOT FOUND OR NOT vb_console_can_see(c) THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation');
	END IF;
	RETURN jsonb_build_object('id', c.id, 'status', c.status, 'created_at', c.created_at,
	    'messages', coalesce((SELECT jsonb_agg(vb_message_json(m) ORDER BY m.seq)
		FROM (SELECT * FROM messages WHERE conversation_id = p_id ORDER BY seq LIMIT 2000) m), '[]'),
	    'notes', coalesce((SELECT jsonb_agg(vb_note_json(n) ORDER BY n.id)
		FROM staff_notes n WHERE n.conversation_id = p_id), '[]'));
END $$;

CREATE FUNCTION vb_presence(p_user bigint) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE a agent_states;
BEGIN
	SELECT * INTO a FROM agent_states WHERE user_id = p_user;
	IF NOT FOUND OR a.seen_at IS NULL OR a.seen_at < now() - interval '90 seconds' THEN
		RETURN 'offline';
	END IF;
	-- Connected but not taking contacts: reachable for staff chat, so away.
	IF a.state = 'offline' THEN RETURN 'away'; END IF;
	IF EXISTS (SELECT 1 FROM conversations WHERE routing = 'offered' AND offered_user_id = p_user) THEN
		RETURN 'ringing';
	END IF;
	IF a.state = 'not_ready' THEN RETURN 'away'; END IF;
	IF a.state = 'wrapup' OR vb_acd_load(p_user) >= coalesce(a.capacity, 3) THEN RETURN 'busy'; END IF;
	RETURN 'available';
END $$;

-- Staff directory with presence and unread staff messages (C5).
CREATE FUNCTION vb_console_directory(p_q text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('items', coalesce((SELECT jsonb_agg(x ORDER BY x.name) FROM (
		SELECT u.id, u.name, u.email, vb_presence(u.id) AS presence,
		    (SELECT a.reason FROM agent_states a WHERE a.user_id = u.id AND a.state = 'not_ready') AS reason,
		    (SELECT string_agg(n.name, ', ' ORDER BY n.name) FROM user_units uu JOIN units n
			ON n.id = uu.unit_id WHERE uu.user_id = u.id) AS units,
		    (SELECT count(*) FROM staff_messages d WHERE d.from_id = u.id AND d.to_id = vb_actor()
			AND d.read_at IS NULL) AS unread
		FROM users u WHERE u.status = 'active' AND u.id <> vb_actor()
		  AND (p_q IS NULL OR u.name ILIKE '%' || p_q || '%' OR u.email ILIKE '%' || p_q || '%')
		ORDER BY u.name LIMIT 200) x), '[]'));
END $$;

-- A staff conversation with one colleague; reading it marks it read.
CREATE FUNCTION vb_console_dm(p_with bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM users WHERE id = p_with) THEN
		PERFORM vb_fail(404, 'not_found', 'No such colleague');
	END IF;
	UPDATE staff_messages SET read_at = now() WHERE from_id = p_with AND to_id = vb_actor()
	    AND read_at IS NULL;
	RETURN jsonb_build_object('items', coalesce((SELECT jsonb_agg(vb_dm_json(d) ORDER BY d.id) FROM (
		SELECT * FROM staff_messages WHERE (from_id = p_with AND to_id = vb_actor())
		    OR (from_id = vb_actor() AND to_id = p_with) ORDER BY id DESC LIMIT 200) d), '[]'));
END $$;

-- The supervisor's live board (S1): queues, agents, running conversations.
CREATE FUNCTION vb_supervisor_board() RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('at', now(),
	    'queues', coalesce((SELECT jsonb_agg(x ORDER BY x.name) FROM (
		SELECT q.id, q.name,
		    (SELECT count(*) FROM conversations c WHERE c.queue_id = q.id AND c.status = 'open'
			AND c.routing IN ('queued', 'offered')) AS waiting,
		    (SELECT extract(epoch FROM now() - min(c.queued_at))::int FROM conversations c
			WHERE c.queue_id = q.id AND c.status = 'open' AND c.routing IN ('queued', 'offered')) AS longest_wait_s,
		    (SELECT count(*) FROM conversations c WHERE c.queue_id = q.id AND c.status = 'open'
			AND c.routing = 'assigned') AS active,
		    count(*) FILTER (WHERE p.presence = 'available') AS agents_ready,
		    count(*) FILTER (WHERE p.presence IN ('busy', 'ringing')) AS agents_busy,
		    count(*) FILTER (WHERE p.presence = 'away') AS agents_not_ready
		FROM queues q LEFT JOIN LATERAL (
			SELECT vb_presence(u.id) AS presence FROM users u
			WHERE u.status = 'active' AND 'console.agent' = ANY (vb_perms_of(u.id))
			  AND NOT EXISTS (SELECT 1 FROM queue_skills qs WHERE qs.queue_id = q.id
			    AND NOT EXISTS (SELECT 1 FROM user_skills us WHERE us.user_id = u.id
				AND us.skill_id = qs.skill_id AND us.level >= qs.min_level))) p ON true
		GROUP BY q.id, q.name) x), '[]'),
	    'agents', coalesce((SELECT jsonb_agg(x ORDER BY x.name) FROM (
		SELECT u.id, u.name, coalesce(a.state, 'offline') AS state, a.reason, a.since,
		    vb_presence(u.id) AS presence, vb_acd_load(u.id) AS load,
		    coalesce(a.capacity, 3) AS capacity,
		    coalesce((SELECT jsonb_agg(jsonb_build_object('id', c.id,
			'customer', vb_customer_name(c.customer_id), 'since', s.joined_at, 'role', s.role))
			FROM conversation_staff s JOIN conversations c ON c.id = s.conversation_id
			WHERE s.user_id = u.id AND c.status = 'open'), '[]') AS conversations
		FROM users u LEFT JOIN agent_states a ON a.user_id = u.id
		WHERE u.status = 'active' AND 'console.agent' = ANY (vb_perms_of(u.id))
		ORDER BY u.name LIMIT 500) x), '[]'),
	    'conversations', coalesce((SELECT jsonb_agg(x ORDER BY x.started) FROM (
		SELECT c.id, vb_customer_name(c.customer_id) AS customer, c.routing,
		    coalesce(c.assigned_at, c.queued_at, c.created_at) AS started,
		    (SELECT name FROM queues q WHERE q.id = c.queue_id) AS queue,
		    (SELECT name FROM users u WHERE u.id = c.assigned_user_id) AS agent,
		    (SELECT max(created_at) FROM messages m WHERE m.conversation_id = c.id) AS last_at
		FROM conversations c WHERE c.status = 'open' AND c.routing IN ('queued', 'offered', 'assigned')
		ORDER BY c.id LIMIT 500) x), '[]'));
END $$;


GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;
