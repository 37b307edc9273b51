-- Calls, part 2 (issue 4, W11 W12 W13 S2 S5): call state and signalling.
--
--  * calls: one row per call of a conversation, at most one live
--    (requested or active) per conversation. kind audio | video; one_way
--    is agent-to-customer video with the customer's camera off. The relay
--    room is 'call-<id>'. hold, screen (the relay participant sharing its
--    screen) and recording live here too, so the forwarding rules of the
--    relay are always computed from this row and its participants
--    (vb_call_rules: every change is "recompute and send").
--  * call_participants: the customer, the agent(s), supervisors (mode
--    monitor | whisper | barge). relay_id is the relay's participant name
--    ('c<customer id>' or 'u<user id>'); mids are the roles of the
--    participant's m-lines ({audio, video, screen, voice}) from its last
--    offer the relay took, and epoch the relay instance ('started:pid') that
--    took it: after a relay restart nobody is in the new relay until their
--    ICE-restart offer, so rules only name participants of the current epoch.
--  * vb_call_op(kind, who, frame, epoch): the hub's "call" frames (request,
--    accept, decline, hangup, hold, unhold, screen, record, monitor); it
--    checks the sender, writes system messages with meta.call and audit
--    entries, and answers rows of effects like vb_staff_op (0015): reply /
--    conv / staff, plus media (a command for the relay, sent as is except
--    record.start's dir, which the application puts under $VB_VAR).
--  * vb_call_offer / vb_call_joined: the checks before an SDP offer goes to
--    the relay, and what its answer changes (mids, rules, recording).
--  * vb_call_recording_file: a finished file reported by the relay.
--
-- The customer always consents before camera or microphone are opened: a
-- customer has a participant row only after their own request or their
-- accept, and vb_call_offer refuses offers from anyone without a row.

CREATE TABLE calls (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant() REFERENCES organisations(id),
	conversation_id	bigint NOT NULL,
	room		text GENERATED ALWAYS AS ('call-' || id) STORED,
	kind		text NOT NULL CHECK (kind IN ('audio', 'video')),
	one_way		boolean NOT NULL DEFAULT false,
	state		text NOT NULL DEFAULT 'requested' CHECK (state IN ('requested', 'active', 'ended')),
	requested_by_kind text NOT NULL CHECK (requested_by_kind IN ('customer', 'staff')),
	requested_by	bigint,
	started_at	timestamptz NOT NULL DEFAULT now(),
	answered_at	timestamptz,
	ended_at	timestamptz,
	end_reason	text CHECK (end_reason IN ('hangup', 'declined', 'cancelled', 'closed', 'lost')),
	on_hold		boolean NOT NULL DEFAULT false,
	screen		text,
	-- Recording: wanted by policy or by the agent; the relay's recording id
	-- while one runs, in the relay instance record_epoch; n numbers them.
	record_want	boolean NOT NULL DEFAULT false,
	record_id	text,
	record_epoch	text,
	record_n	int NOT NULL DEFAULT 0,
	UNIQUE (tenant_id, id),
	CHECK (one_way = false OR kind = 'video'),
	FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations(tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, requested_by) REFERENCES users(tenant_id, id)
);
CREATE UNIQUE INDEX calls_live ON calls (conversation_id) WHERE state IN ('requested', 'active');
CREATE INDEX calls_conversation ON calls (conversation_id, id);

CREATE TABLE call_participants (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	call_id		bigint NOT NULL,
	user_id		bigint,
	customer_id	bigint,
	role		text NOT NULL CHECK (role IN ('customer', 'agent', 'supervisor')),
	mode		text CHECK (mode IN ('monitor', 'whisper', 'barge')),
	relay_id	text NOT NULL,
	mids		jsonb,
	epoch		text,
	joined_at	timestamptz NOT NULL DEFAULT now(),
	left_at		timestamptz,
	UNIQUE (tenant_id, id),
	UNIQUE (call_id, relay_id),
	CHECK (num_nonnulls(user_id, customer_id) = 1),
	CHECK ((role = 'customer') = (customer_id IS NOT NULL)),
	CHECK ((role = 'supervisor') = (mode IS NOT NULL)),
	FOREIGN KEY (tenant_id, call_id) REFERENCES calls(tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id),
	FOREIGN KEY (tenant_id, customer_id) REFERENCES customers(tenant_id, id)
);

ALTER TABLE calls ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON calls USING (tenant_id = vb_tenant())
	WITH CHECK (tenant_id = vb_tenant());
ALTER TABLE call_participants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON call_participants USING (tenant_id = vb_tenant())
	WITH CHECK (tenant_id = vb_tenant());
GRANT SELECT, INSERT, UPDATE ON calls, call_participants TO vb_app;
GRANT USAGE ON SEQUENCE calls_id_seq, call_participants_id_seq TO vb_app;

-- Who a participant is, for frames and lines.
CREATE FUNCTION vb_call_who(p call_participants) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('kind', CASE WHEN p.customer_id IS NOT NULL THEN 'customer' ELSE 'staff' END,
	    'id', coalesce(p.customer_id, p.user_id), 'participant', p.relay_id, 'role', p.role,
	    'name', CASE WHEN p.customer_id IS NOT NULL THEN vb_customer_name(p.customer_id)
		ELSE vb_user_name(p.user_id) END);
END $$;

-- The live frame of a call's state, for everyone following the chat:
-- supervisors who only listen or whisper are left out (staff see them in
-- the "supervisors" frame).
CREATE FUNCTION vb_call_state(k calls) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE sharer call_participants; pol jsonb := vb_recording_policy(k.conversation_id);
BEGIN
	SELECT * INTO sharer FROM call_participants WHERE call_id = k.id AND relay_id = k.screen;
	RETURN jsonb_build_object('type', 'call', 'op', 'state', 'conversation_id', k.conversation_id,
	    'call_id', k.id, 'kind', k.kind, 'one_way', k.one_way, 'state', k.state,
	    'requested_by', jsonb_build_object('kind', k.requested_by_kind, 'id', k.requested_by,
		'name', CASE WHEN k.requested_by IS NOT NULL THEN vb_user_name(k.requested_by) END),
	    'on_hold', k.on_hold, 'screen', CASE WHEN sharer.id IS NOT NULL THEN vb_call_who(sharer) END,
	    'recording', k.record_want, 'recording_policy', pol->'policy',
	    'recording_notice', pol->'notice', 'end_reason', k.end_reason,
	    'started_at', k.started_at, 'answered_at', k.answered_at, 'ended_at', k.ended_at,
	    'participants', coalesce((SELECT jsonb_agg(vb_call_who(p) ORDER BY p.id)
		FROM call_participants p WHERE p.call_id = k.id AND p.left_at IS NULL
		AND (p.role <> 'supervisor' OR p.mode = 'barge')), '[]'))::text;
END $$;

CREATE FUNCTION vb_call_supervisors(k calls) RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('type', 'call', 'op', 'supervisors', 'conversation_id', k.conversation_id,
	    'call_id', k.id, 'supervisors', coalesce((SELECT jsonb_agg(vb_call_who(p) || jsonb_build_object(
		'mode', p.mode) ORDER BY p.id) FROM call_participants p WHERE p.call_id = k.id
		AND p.left_at IS NULL AND p.role = 'supervisor'), '[]'))::text;
END $$;

-- A system message with meta.call = {event, call_id, ...extra}.
CREATE FUNCTION vb_call_line(k calls, p_event text, p_text text, p_extra jsonb DEFAULT '{}')
RETURNS text LANGUAGE plpgsql AS $$
DECLARE m messages;
BEGIN
	m := vb_message_add(k.conversation_id, 'system', vb_actor(), 'call-' || k.id || '-' || p_event || '-' ||
	    (SELECT last_seq + 1 FROM conversations WHERE id = k.conversation_id), p_text,
	    jsonb_build_object('call', jsonb_build_object('event', p_event, 'call_id', k.id,
		'kind', k.kind) || p_extra));
	RETURN vb_message_json(m)::text;
END $$;

-- The full forwarding rule set of a call for the relay instance p_epoch:
-- every m-line of every participant in that instance gets a rule (a source
-- or null), so applying it makes the relay match this state whatever it
-- forwarded before. See docs/media.md for the supervisor table.
CREATE FUNCTION vb_call_rules(k calls, p_epoch text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE cu call_participants; ag call_participants; p call_participants; rules jsonb := '[]';
	whisper call_participants; barge call_participants; sharer call_participants;
	m text; src call_participants; src_mid text;
BEGIN
	IF k.state = 'ended' OR p_epoch IS NULL THEN RETURN NULL; END IF;
	SELECT * INTO cu FROM call_participants WHERE call_id = k.id AND role = 'customer'
	    AND left_at IS NULL AND epoch = p_epoch;
	SELECT * INTO ag FROM call_participants WHERE call_id = k.id AND role = 'agent'
	    AND left_at IS NULL AND epoch = p_epoch ORDER BY id LIMIT 1;
	SELECT * INTO whisper FROM call_participants WHERE call_id = k.id AND role = 'supervisor'
	    AND mode IN ('whisper', 'barge') AND left_at IS NULL AND epoch = p_epoch ORDER BY id LIMIT 1;
	SELECT * INTO barge FROM call_participants WHERE call_id = k.id AND role = 'supervisor'
	    AND mode = 'barge' AND left_at IS NULL AND epoch = p_epoch ORDER BY id LIMIT 1;
	SELECT * INTO sharer FROM call_participants WHERE call_id = k.id AND relay_id = k.screen
	    AND left_at IS NULL AND epoch = p_epoch;
	FOR p IN SELECT * FROM call_participants WHERE call_id = k.id AND left_at IS NULL
	    AND epoch = p_epoch AND mids IS NOT NULL ORDER BY id LOOP
		FOR m IN SELECT jsonb_object_keys(p.mids) LOOP
			src := NULL; src_mid := NULL;
			IF p.role = 'customer' THEN
				IF m = 'audio' AND NOT k.on_hold THEN src := ag; src_mid := 'audio';
				ELSIF m = 'video' AND NOT k.on_hold THEN src := ag; src_mid := 'video';
				ELSIF m = 'screen' AND sharer.id IS NOT NULL AND sharer.id <> p.id THEN
					src := sharer; src_mid := 'screen';
				ELSIF m = 'voice' THEN src := barge; src_mid := 'audio';
				END IF;
			ELSIF p.role = 'agent' THEN
				IF m = 'audio' AND NOT k.on_hold THEN src := cu; src_mid := 'audio';
				ELSIF m = 'video' AND NOT k.on_hold AND NOT k.one_way THEN src := cu; src_mid := 'video';
				ELSIF m = 'screen' AND sharer.id IS NOT NULL AND sharer.id <> p.id THEN
					src := sharer; src_mid := 'screen';
				ELSIF m = 'voice' THEN src := whisper; src_mid := 'audio';
				END IF;
			ELSE
				-- A supervisor hears the customer and the agent, and sees
				-- the customer's camera and any shared screen.
				IF m = 'audio' THEN src := cu; src_mid := 'audio';
				ELSIF m = 'voice' THEN src := ag; src_mid := 'audio';
				ELSIF m = 'video' AND NOT k.one_way THEN src := cu; src_mid := 'video';
				ELSIF m = 'screen' AND sharer.id IS NOT NULL AND sharer.id <> p.id THEN
					src := sharer; src_mid := 'screen';
				END IF;
			END IF;
			IF src.id IS NOT NULL AND src.id <> p.id AND src.mids ? src_mid THEN
				rules := rules || jsonb_build_object('to', p.relay_id, 'mid', p.mids->>m,
				    'from', src.relay_id, 'from_mid', src.mids->>src_mid);
			ELSE
				rules := rules || jsonb_build_object('to', p.relay_id, 'mid', p.mids->>m,
				    'from', NULL);
			END IF;
		END LOOP;
	END LOOP;
	IF jsonb_array_length(rules) = 0 THEN RETURN NULL; END IF;
	RETURN jsonb_build_object('cmd', 'forward.set', 'room', k.room, 'rules', rules);
END $$;

-- Starts the relay's recording when it is wanted and the customer and the
-- agent are both in the current relay instance: a command, or NULL.
CREATE FUNCTION vb_call_record_start(k calls, p_epoch text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE cu call_participants; ag call_participants; rid text;
BEGIN
	IF NOT k.record_want OR k.state <> 'active' OR p_epoch IS NULL
	    OR (k.record_id IS NOT NULL AND k.record_epoch = p_epoch) THEN
		RETURN NULL;
	END IF;
	SELECT * INTO cu FROM call_participants WHERE call_id = k.id AND role = 'customer'
	    AND left_at IS NULL AND epoch = p_epoch;
	SELECT * INTO ag FROM call_participants WHERE call_id = k.id AND role = 'agent'
	    AND left_at IS NULL AND epoch = p_epoch ORDER BY id LIMIT 1;
	IF cu.id IS NULL OR ag.id IS NULL THEN RETURN NULL; END IF;
	rid := k.id || '-' || (k.record_n + 1);
	UPDATE calls SET record_id = rid, record_epoch = p_epoch, record_n = record_n + 1 WHERE id = k.id;
	RETURN jsonb_build_object('cmd', 'record.start', 'room', k.room, 'recording', rid,
	    'dir', 'recordings/' || k.tenant_id || '/' || k.id,
	    'mix', jsonb_build_object('left', ag.relay_id, 'right', cu.relay_id));
END $$;

-- Stops the running recording (command or NULL) and forgets it.
CREATE FUNCTION vb_call_record_stop(k calls, p_epoch text) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	IF k.record_id IS NULL THEN RETURN NULL; END IF;
	UPDATE calls SET record_id = NULL, record_epoch = NULL WHERE id = k.id;
	IF k.record_epoch IS DISTINCT FROM p_epoch THEN RETURN NULL; END IF;
	RETURN jsonb_build_object('cmd', 'record.stop', 'room', k.room, 'recording', k.record_id);
END $$;

-- Effects after a change of k: its state to the chat, the supervisors to
-- staff, then the relay commands (recording, rules).
CREATE FUNCTION vb_call_fx(p_id bigint, p_epoch text)
RETURNS TABLE (target text, id bigint, frame text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE k calls; cmd jsonb;
BEGIN
	SELECT * INTO k FROM calls WHERE calls.id = p_id;
	RETURN QUERY VALUES ('conv', k.conversation_id, vb_call_state(k));
	IF EXISTS (SELECT 1 FROM call_participants WHERE call_id = k.id AND role = 'supervisor') THEN
		RETURN QUERY VALUES ('staff', k.conversation_id, vb_call_supervisors(k));
	END IF;
	IF k.state = 'ended' THEN
		cmd := vb_call_record_stop(k, p_epoch);
		IF cmd IS NOT NULL THEN RETURN QUERY VALUES ('media', k.id, cmd::text); END IF;
		RETURN QUERY VALUES ('media', k.id, jsonb_build_object('cmd', 'room.destroy', 'room', k.room)::text);
		RETURN;
	END IF;
	IF NOT k.record_want THEN
		cmd := vb_call_record_stop(k, p_epoch);
	ELSE
		cmd := vb_call_record_start(k, p_epoch);
	END IF;
	IF cmd IS NOT NULL THEN RETURN QUERY VALUES ('media', k.id, cmd::text); END IF;
	cmd := vb_call_rules(k, p_epoch);
	IF cmd IS NOT NULL THEN RETURN QUERY VALUES ('media', k.id, cmd::text); END IF;
END $$;

CREATE FUNCTION vb_call_kind_label(k calls) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RETURN CASE WHEN k.kind = 'audio' THEN 'voice call' ELSE 'video call' END;
END $$;

CREATE FUNCTION vb_call_kind_title(k calls) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RETURN CASE WHEN k.kind = 'audio' THEN 'Voice call' ELSE 'Video call' END;
END $$;

-- Ends k (reason), with its line; the caller returns vb_call_fx.
CREATE FUNCTION vb_call_end(k calls, p_reason text, p_text text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE secs int;
BEGIN
	UPDATE calls SET state = 'ended', ended_at = now(), end_reason = p_reason, on_hold = false,
	    screen = NULL, record_want = false WHERE id = k.id RETURNING * INTO k;
	UPDATE call_participants SET left_at = now() WHERE call_id = k.id AND left_at IS NULL;
	secs := CASE WHEN k.answered_at IS NOT NULL THEN
	    extract(epoch FROM k.ended_at - k.answered_at)::int END;
	RETURN vb_call_line(k, CASE p_reason WHEN 'declined' THEN 'declined'
	    WHEN 'cancelled' THEN 'cancelled' ELSE 'ended' END, p_text,
	    jsonb_build_object('reason', p_reason, 'duration_s', secs));
END $$;

CREATE FUNCTION vb_call_frame_id(f jsonb) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RETURN vb_frame_id(f, 'call_id');
END $$;

-- The hub's call frames. p_kind: customer | staff; p_who: their id.
CREATE FUNCTION vb_call_op(p_kind text, p_who bigint, f jsonb, p_epoch text)
RETURNS TABLE (target text, id bigint, frame text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE op text := f->>'op'; conv bigint; c conversations; k calls; me call_participants;
	who text; line text; pol jsonb; kind text; one_way boolean := false; st text; md text;
	cid bigint;
BEGIN
	IF op IS NULL OR op NOT IN ('request', 'accept', 'decline', 'hangup', 'hold', 'unhold',
	    'screen', 'record', 'monitor') THEN
		PERFORM vb_fail(422, 'invalid', 'Unknown call operation');
	END IF;
	who := CASE WHEN p_kind = 'staff' THEN vb_user_name(p_who) ELSE 'The customer' END;

	IF op = 'request' THEN
		conv := vb_frame_id(f, 'conversation_id');
		SELECT * INTO c FROM conversations WHERE conversations.id = conv FOR UPDATE;
		IF NOT FOUND OR (p_kind = 'customer' AND c.customer_id <> p_who) THEN
			PERFORM vb_fail(404, 'not_found', 'No such conversation');
		END IF;
		IF p_kind = 'staff' AND NOT EXISTS (SELECT 1 FROM conversation_staff s
		    WHERE s.conversation_id = conv AND s.user_id = p_who AND s.role IN ('agent', 'guest')) THEN
			PERFORM vb_fail(403, 'forbidden', 'Only an agent in this conversation can call');
		END IF;
		IF c.status <> 'open' THEN PERFORM vb_fail(409, 'closed', 'The chat has ended'); END IF;
		IF p_kind = 'customer' AND NOT EXISTS (SELECT 1 FROM conversation_staff s
		    WHERE s.conversation_id = conv AND s.role IN ('agent', 'guest')) THEN
			PERFORM vb_fail(409, 'no_agent', 'No agent has joined the chat yet');
		END IF;
		kind := f->>'kind';
		IF kind IS NULL OR kind NOT IN ('audio', 'video') THEN
			PERFORM vb_fail(422, 'invalid', 'kind must be audio or video');
		END IF;
		IF f ? 'one_way' AND jsonb_typeof(f->'one_way') <> 'null' THEN
			IF jsonb_typeof(f->'one_way') <> 'boolean' THEN
				PERFORM vb_fail(422, 'invalid', 'one_way must be true or false');
			END IF;
			one_way := (f->'one_way')::boolean;
		END IF;
		IF one_way AND (kind <> 'video' OR p_kind <> 'staff') THEN
			PERFORM vb_fail(422, 'invalid', 'One-way video is an agent''s video call');
		END IF;
		IF EXISTS (SELECT 1 FROM calls WHERE conversation_id = conv AND state IN ('requested', 'active')) THEN
			PERFORM vb_fail(409, 'call_live', 'A call is already requested or running');
		END IF;
		pol := vb_recording_policy(conv);
		INSERT INTO calls (tenant_id, conversation_id, kind, one_way, requested_by_kind, requested_by,
		    record_want)
		VALUES (c.tenant_id, conv, kind, one_way, p_kind, CASE WHEN p_kind = 'staff' THEN p_who END,
		    pol->>'policy' = 'always')
		RETURNING * INTO k;
		-- The requester is in the call; a customer's request is their consent.
		INSERT INTO call_participants (tenant_id, call_id, user_id, customer_id, role, relay_id)
		VALUES (c.tenant_id, k.id, CASE WHEN p_kind = 'staff' THEN p_who END,
		    CASE WHEN p_kind = 'customer' THEN p_who END,
		    CASE WHEN p_kind = 'staff' THEN 'agent' ELSE 'customer' END,
		    CASE WHEN p_kind = 'staff' THEN 'u' ELSE 'c' END || p_who);
		line := vb_call_line(k, 'requested', who || ' requested a ' ||
		    CASE WHEN one_way THEN 'one-way video call' ELSE vb_call_kind_label(k) END,
		    jsonb_build_object('one_way', one_way, 'by', p_kind));
		RETURN QUERY VALUES ('conv', conv, line);
		RETURN QUERY SELECT * FROM vb_call_fx(k.id, p_epoch);
		RETURN;
	END IF;

	cid := vb_call_frame_id(f);
	SELECT * INTO k FROM calls WHERE calls.id = cid FOR UPDATE;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such call'); END IF;
	SELECT * INTO c FROM conversations WHERE conversations.id = k.conversation_id;
	IF p_kind = 'customer' AND c.customer_id <> p_who THEN
		PERFORM vb_fail(404, 'not_found', 'No such call');
	END IF;
	IF k.state = 'ended' THEN PERFORM vb_fail(409, 'call_ended', 'The call has ended'); END IF;
	SELECT * INTO me FROM call_participants WHERE call_id = k.id AND left_at IS NULL
	    AND relay_id = CASE WHEN p_kind = 'staff' THEN 'u' ELSE 'c' END || p_who;

	IF op = 'monitor' THEN
		IF p_kind <> 'staff' OR NOT vb_is_supervisor(p_who) THEN
			PERFORM vb_fail(403, 'forbidden', 'Only supervisors listen in on calls');
		END IF;
		IF me.id IS NOT NULL AND me.role <> 'supervisor' THEN
			PERFORM vb_fail(409, 'in_call', 'You are in this call already');
		END IF;
		IF k.state <> 'active' THEN PERFORM vb_fail(409, 'not_active', 'The call has not started'); END IF;
		md := f->>'mode';
		IF md IS NULL OR md NOT IN ('monitor', 'whisper', 'barge', 'leave') THEN
			PERFORM vb_fail(422, 'invalid', 'mode must be monitor, whisper, barge or leave');
		END IF;
		IF md = 'leave' THEN
			IF me.id IS NULL THEN PERFORM vb_fail(409, 'not_in_call', 'You are not in this call'); END IF;
			UPDATE call_participants SET left_at = now() WHERE call_participants.id = me.id;
			PERFORM vb_audit('call.supervisor_leave', 'call', k.id::text, jsonb_build_object('mode', me.mode),
			    NULL, k.tenant_id);
			IF me.mode = 'barge' THEN
				RETURN QUERY VALUES ('conv', k.conversation_id,
				    vb_call_line(k, 'supervisor_left', who || ' left the call'));
			END IF;
		ELSIF me.id IS NULL THEN
			-- Rejoining after leaving: the row comes back.
			UPDATE call_participants SET mode = md, left_at = NULL, joined_at = now(), mids = NULL,
			    epoch = NULL WHERE call_id = k.id AND relay_id = 'u' || p_who;
			IF NOT FOUND THEN
				INSERT INTO call_participants (tenant_id, call_id, user_id, role, mode, relay_id)
				VALUES (k.tenant_id, k.id, p_who, 'supervisor', md, 'u' || p_who);
			END IF;
			PERFORM vb_audit('call.supervisor_' || md, 'call', k.id::text, NULL,
			    jsonb_build_object('mode', md, 'conversation_id', k.conversation_id), k.tenant_id);
		ELSE
			UPDATE call_participants SET mode = md WHERE call_participants.id = me.id;
			PERFORM vb_audit('call.supervisor_' || md, 'call', k.id::text,
			    jsonb_build_object('mode', me.mode), jsonb_build_object('mode', md), k.tenant_id);
		END IF;
		IF md = 'barge' AND me.mode IS DISTINCT FROM 'barge' THEN
			RETURN QUERY VALUES ('conv', k.conversation_id,
			    vb_call_line(k, 'supervisor_joined', who || ' joined the call', jsonb_build_object('mode', 'barge')));
		ELSIF me.mode = 'barge' AND md IN ('monitor', 'whisper') THEN
			RETURN QUERY VALUES ('conv', k.conversation_id,
			    vb_call_line(k, 'supervisor_left', who || ' left the call'));
		END IF;
		RETURN QUERY SELECT * FROM vb_call_fx(k.id, p_epoch);
		RETURN;
	END IF;

	IF op = 'accept' OR op = 'decline' THEN
		IF k.state <> 'requested' THEN PERFORM vb_fail(409, 'not_requested', 'Nothing to answer'); END IF;
		IF p_kind = k.requested_by_kind THEN
			PERFORM vb_fail(403, 'forbidden', 'The other side answers a call request');
		END IF;
		IF p_kind = 'staff' AND NOT EXISTS (SELECT 1 FROM conversation_staff s
		    WHERE s.conversation_id = k.conversation_id AND s.user_id = p_who AND s.role IN ('agent', 'guest')) THEN
			PERFORM vb_fail(403, 'forbidden', 'Only an agent in this conversation can answer');
		END IF;
		IF op = 'decline' THEN
			line := vb_call_end(k, 'declined', CASE WHEN p_kind = 'customer'
			    THEN 'The customer declined the ' || vb_call_kind_label(k)
			    ELSE who || ' declined the ' || vb_call_kind_label(k) END);
			RETURN QUERY VALUES ('conv', k.conversation_id, line);
			RETURN QUERY SELECT * FROM vb_call_fx(k.id, p_epoch);
			RETURN;
		END IF;
		-- The customer's accept is their consent to camera and microphone.
		INSERT INTO call_participants (tenant_id, call_id, user_id, customer_id, role, relay_id)
		VALUES (k.tenant_id, k.id, CASE WHEN p_kind = 'staff' THEN p_who END,
		    CASE WHEN p_kind = 'customer' THEN p_who END,
		    CASE WHEN p_kind = 'staff' THEN 'agent' ELSE 'customer' END,
		    CASE WHEN p_kind = 'staff' THEN 'u' ELSE 'c' END || p_who);
		IF p_kind = 'customer' THEN
			PERFORM vb_audit('call.consent', 'call', k.id::text, NULL,
			    jsonb_build_object('conversation_id', k.conversation_id, 'kind', k.kind,
				'one_way', k.one_way), k.tenant_id);
		END IF;
		UPDATE calls SET state = 'active', answered_at = now() WHERE calls.id = k.id RETURNING * INTO k;
		RETURN QUERY VALUES ('conv', k.conversation_id,
		    vb_call_line(k, 'started', vb_call_kind_title(k) || ' started'));
		IF k.record_want THEN
			PERFORM vb_audit('call.recording_start', 'call', k.id::text, NULL,
			    jsonb_build_object('policy', 'always'), k.tenant_id);
			RETURN QUERY VALUES ('conv', k.conversation_id,
			    vb_call_line(k, 'recording_started', 'Recording started'));
		END IF;
		RETURN QUERY SELECT * FROM vb_call_fx(k.id, p_epoch);
		RETURN;
	END IF;

	IF op = 'hangup' THEN
		IF me.id IS NULL AND NOT (p_kind = 'staff' AND EXISTS (SELECT 1 FROM conversation_staff s
		    WHERE s.conversation_id = k.conversation_id AND s.user_id = p_who AND s.role IN ('agent', 'guest'))) THEN
			PERFORM vb_fail(403, 'forbidden', 'You are not in this call');
		END IF;
		IF me.role = 'supervisor' THEN
			PERFORM vb_fail(403, 'forbidden', 'Supervisors leave with monitor mode leave');
		END IF;
		IF k.state = 'requested' AND p_kind = k.requested_by_kind THEN
			line := vb_call_end(k, 'cancelled', who || ' cancelled the ' || vb_call_kind_label(k));
		ELSIF k.state = 'requested' THEN
			line := vb_call_end(k, 'declined', CASE WHEN p_kind = 'customer'
			    THEN 'The customer declined the ' || vb_call_kind_label(k)
			    ELSE who || ' declined the ' || vb_call_kind_label(k) END);
		ELSE
			line := vb_call_end(k, 'hangup', vb_call_kind_title(k) || ' ended by ' ||
			    CASE WHEN p_kind = 'customer' THEN 'the customer' ELSE who END);
		END IF;
		RETURN QUERY VALUES ('conv', k.conversation_id, line);
		RETURN QUERY SELECT * FROM vb_call_fx(k.id, p_epoch);
		RETURN;
	END IF;

	-- The rest: participants of a running call.
	IF me.id IS NULL OR me.role = 'supervisor' THEN
		PERFORM vb_fail(403, 'forbidden', 'You are not in this call');
	END IF;
	IF k.state <> 'active' THEN PERFORM vb_fail(409, 'not_active', 'The call has not started'); END IF;
	IF op IN ('hold', 'unhold') THEN
		IF me.role <> 'agent' THEN PERFORM vb_fail(403, 'forbidden', 'Only the agent puts a call on hold'); END IF;
		IF k.on_hold = (op = 'hold') THEN
			PERFORM vb_fail(409, 'no_change', CASE WHEN op = 'hold' THEN 'The call is on hold already'
			    ELSE 'The call is not on hold' END);
		END IF;
		UPDATE calls SET on_hold = (op = 'hold') WHERE calls.id = k.id;
		RETURN QUERY VALUES ('conv', k.conversation_id, vb_call_line(k, CASE WHEN op = 'hold'
		    THEN 'held' ELSE 'resumed' END, CASE WHEN op = 'hold' THEN who || ' put the call on hold'
		    ELSE who || ' resumed the call' END));
	ELSIF op = 'screen' THEN
		st := f->>'state';
		IF st IS NULL OR st NOT IN ('start', 'stop') THEN
			PERFORM vb_fail(422, 'invalid', 'state must be start or stop');
		END IF;
		IF st = 'start' THEN
			IF k.screen = me.relay_id THEN PERFORM vb_fail(409, 'no_change', 'You are sharing already'); END IF;
			UPDATE calls SET screen = me.relay_id WHERE calls.id = k.id;
			RETURN QUERY VALUES ('conv', k.conversation_id, vb_call_line(k, 'screen_started',
			    CASE WHEN p_kind = 'customer' THEN 'The customer' ELSE who END || ' is sharing their screen',
			    jsonb_build_object('by', p_kind)));
		ELSE
			IF k.screen IS DISTINCT FROM me.relay_id THEN
				PERFORM vb_fail(409, 'no_change', 'You are not sharing your screen');
			END IF;
			UPDATE calls SET screen = NULL WHERE calls.id = k.id;
			RETURN QUERY VALUES ('conv', k.conversation_id, vb_call_line(k, 'screen_stopped',
			    'Screen sharing ended', jsonb_build_object('by', p_kind)));
		END IF;
	ELSIF op = 'record' THEN
		IF me.role <> 'agent' THEN PERFORM vb_fail(403, 'forbidden', 'Only the agent starts recording'); END IF;
		st := f->>'state';
		IF st IS NULL OR st NOT IN ('start', 'stop') THEN
			PERFORM vb_fail(422, 'invalid', 'state must be start or stop');
		END IF;
		pol := vb_recording_policy(k.conversation_id);
		IF pol->>'policy' <> 'on_demand' THEN
			PERFORM vb_fail(409, 'recording_policy', CASE WHEN pol->>'policy' = 'always'
			    THEN 'Calls of this queue are always recorded' ELSE 'Calls of this queue are never recorded' END);
		END IF;
		IF k.record_want = (st = 'start') THEN
			PERFORM vb_fail(409, 'no_change', CASE WHEN st = 'start' THEN 'The call is being recorded already'
			    ELSE 'The call is not being recorded' END);
		END IF;
		UPDATE calls SET record_want = (st = 'start') WHERE calls.id = k.id;
		PERFORM vb_audit('call.recording_' || st, 'call', k.id::text, NULL,
		    jsonb_build_object('conversation_id', k.conversation_id, 'policy', 'on_demand'), k.tenant_id);
		RETURN QUERY VALUES ('conv', k.conversation_id, vb_call_line(k, 'recording_' ||
		    CASE WHEN st = 'start' THEN 'started' ELSE 'stopped' END,
		    CASE WHEN st = 'start' THEN 'Recording started' ELSE 'Recording stopped' END));
	END IF;
	RETURN QUERY SELECT * FROM vb_call_fx(k.id, p_epoch);
END $$;

-- Before an SDP offer goes to the relay: the sender must be in the live
-- call (a customer only after consenting). {call_id, conversation_id, room,
-- participant}.
CREATE FUNCTION vb_call_offer(p_kind text, p_who bigint, p_call bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE k calls; c conversations; me call_participants;
BEGIN
	SELECT * INTO k FROM calls WHERE id = p_call;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such call'); END IF;
	SELECT * INTO c FROM conversations WHERE id = k.conversation_id;
	IF p_kind = 'customer' AND c.customer_id <> p_who THEN
		PERFORM vb_fail(404, 'not_found', 'No such call');
	END IF;
	IF k.state = 'ended' THEN PERFORM vb_fail(409, 'call_ended', 'The call has ended'); END IF;
	SELECT * INTO me FROM call_participants WHERE call_id = k.id AND left_at IS NULL
	    AND relay_id = CASE WHEN p_kind = 'staff' THEN 'u' ELSE 'c' END || p_who;
	IF me.id IS NULL THEN
		IF p_kind = 'customer' THEN
			PERFORM vb_fail(403, 'not_consented', 'Accept the call before camera or microphone are used');
		END IF;
		PERFORM vb_fail(403, 'forbidden', 'You are not in this call');
	END IF;
	RETURN jsonb_build_object('call_id', k.id, 'conversation_id', k.conversation_id,
	    'room', k.room, 'participant', me.relay_id, 'tenant_id', k.tenant_id);
END $$;

-- The relay took the participant's offer: remember its m-lines in this
-- relay instance and answer the effects (rules, recording).
CREATE FUNCTION vb_call_joined(p_kind text, p_who bigint, p_call bigint, p_mids jsonb, p_epoch text)
RETURNS TABLE (target text, id bigint, frame text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE k calls; n int;
BEGIN
	SELECT * INTO k FROM calls WHERE calls.id = p_call FOR UPDATE;
	IF NOT FOUND OR k.state = 'ended' THEN RETURN; END IF;
	UPDATE call_participants SET mids = p_mids, epoch = p_epoch WHERE call_id = k.id
	    AND left_at IS NULL AND relay_id = CASE WHEN p_kind = 'staff' THEN 'u' ELSE 'c' END || p_who;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n = 0 THEN RETURN; END IF;
	RETURN QUERY SELECT * FROM vb_call_fx(k.id, p_epoch) x WHERE x.target = 'media';
END $$;

-- The relay lost a participant for good while its browser is gone from the
-- hub: a customer or agent ends the call.
CREATE FUNCTION vb_call_lost(p_call bigint, p_participant text, p_epoch text)
RETURNS TABLE (target text, id bigint, frame text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE k calls; p call_participants; line text;
BEGIN
	SELECT * INTO k FROM calls WHERE calls.id = p_call FOR UPDATE;
	IF NOT FOUND OR k.state = 'ended' THEN RETURN; END IF;
	SELECT * INTO p FROM call_participants WHERE call_id = k.id AND relay_id = p_participant
	    AND left_at IS NULL;
	IF NOT FOUND OR p.role = 'supervisor' OR p.epoch IS DISTINCT FROM p_epoch THEN RETURN; END IF;
	line := vb_call_end(k, 'lost', vb_call_kind_title(k) || ' ended: the connection was lost');
	RETURN QUERY VALUES ('conv', k.conversation_id, line);
	RETURN QUERY SELECT * FROM vb_call_fx(k.id, p_epoch);
END $$;

-- A file the relay finished (event recording.file): the recordings row.
-- p_path is relative to $VB_VAR/recordings.
CREATE FUNCTION vb_call_recording_file(p_call bigint, p_participant text, p_kind text, p_path text,
    p_mime text, p_started_ms bigint, p_duration_ms bigint, p_bytes bigint, p_sha256 text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE k calls; p call_participants;
BEGIN
	SELECT * INTO k FROM calls WHERE id = p_call;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such call'); END IF;
	IF p_participant IS NOT NULL THEN
		SELECT * INTO p FROM call_participants WHERE call_id = k.id AND relay_id = p_participant;
		IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such participant'); END IF;
	END IF;
	RETURN vb_recording_add(k.conversation_id, p.user_id, p.customer_id, p_kind, p_path, p_mime,
	    to_timestamp(p_started_ms / 1000.0), p_duration_ms, p_bytes, p_sha256);
END $$;

-- A chat that closes ends its live call.
CREATE FUNCTION vb_call_close() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status = 'closed' AND OLD.status <> 'closed' THEN
		UPDATE calls SET state = 'ended', ended_at = now(), end_reason = 'closed', record_want = false
		WHERE conversation_id = NEW.id AND state IN ('requested', 'active');
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER conversations_call_close AFTER UPDATE OF status ON conversations
	FOR EACH ROW EXECUTE FUNCTION vb_call_close();

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;

-- Of the relay's rooms (all organisations), those of no live call: the
-- application destroys them (a chat closed under a call, a lost event).
CREATE FUNCTION vb_call_rooms_stale(p_rooms text[]) RETURNS TABLE (room text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY SELECT r FROM unnest(p_rooms) r
	WHERE r ~ '^call-[0-9]{1,18}$' AND NOT EXISTS (SELECT 1 FROM calls k
	    WHERE k.id = substr(r, 6)::bigint AND k.state IN ('requested', 'active'));
END $$;
GRANT EXECUTE ON FUNCTION vb_call_rooms_stale(text[]) TO vb_app;
