-- Read marks (W6): how far the staff in a conversation have read. The agent's
-- console says so when the chat is on screen; everyone in the conversation
-- hears {type: "read", seq, by: "staff"} and the widget marks the customer's
-- messages up to seq as read. A supervisor following silently marks nothing.
ALTER TABLE conversations ADD COLUMN staff_read_seq bigint NOT NULL DEFAULT 0;

CREATE FUNCTION vb_op_read(f jsonb) RETURNS TABLE (target text, id bigint, frame text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE conv bigint := vb_frame_id(f, 'conversation_id'); upto bigint := vb_frame_id(f, 'seq');
	done bigint;
BEGIN
	IF NOT vb_in_conversation(conv, vb_actor()) THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation of yours');
	END IF;
	UPDATE conversations c SET staff_read_seq = least(upto, c.last_seq)
	WHERE c.id = conv AND c.staff_read_seq < least(upto, c.last_seq)
	RETURNING c.staff_read_seq INTO done;
	IF done IS NOT NULL THEN
		RETURN QUERY VALUES ('conv', conv, jsonb_build_object('type', 'read',
		    'conversation_id', conv, 'seq', done, 'by', 'staff')::text);
	END IF;
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;

-- The customer leaves the queue before anyone answered (W5): the contact is
-- abandoned and kept for follow-up (A7), the conversation ends, and an agent
-- it was ringing for hears that the offer is gone.
CREATE FUNCTION vb_customer_leave_queue(p_conv bigint, p_customer bigint)
RETURNS TABLE (target text, id bigint, frame text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE c conversations; m messages;
BEGIN
	SELECT * INTO c FROM conversations WHERE conversations.id = p_conv FOR UPDATE;
	IF NOT FOUND OR c.customer_id <> p_customer THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation');
	END IF;
	IF c.status <> 'open' OR c.routing NOT IN ('queued', 'offered') THEN
		PERFORM vb_fail(409, 'not_waiting', 'This chat is not waiting in a queue');
	END IF;
	PERFORM vb_acd_abandon(p_conv);
	UPDATE conversations SET status = 'closed', closed_at = now() WHERE conversations.id = p_conv;
	m := vb_message_add(p_conv, 'system', NULL, 'left-queue-' || p_conv, 'The customer left the queue');
	RETURN QUERY VALUES ('conv', p_conv, vb_message_json(m)::text),
	    ('reply', p_conv, jsonb_build_object('type', 'left_queue', 'conversation_id', p_conv)::text);
	IF c.routing = 'offered' THEN
		RETURN QUERY VALUES ('user', c.offered_user_id, jsonb_build_object('type', 'offer_gone',
		    'conversation_id', p_conv)::text);
	END IF;
	RETURN QUERY VALUES ('route', NULL::bigint, NULL::text), ('board', NULL, NULL);
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;

-- System lines are keyed by the sequence number they get, so the same
-- agent joining the same chat twice within a second (transferred away and
-- back) cannot collide on the client id.
CREATE OR REPLACE FUNCTION vb_system_line(p_conv bigint, p_tag text, p_text text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE m messages;
BEGIN
	m := vb_message_add(p_conv, 'system', vb_actor(), p_tag || '-' || coalesce(vb_actor(), 0) || '-' ||
	    (SELECT last_seq + 1 FROM conversations WHERE id = p_conv), p_text);
	RETURN vb_message_json(m)::text;
END $$;

CREATE OR REPLACE FUNCTION vb_acd_accept_msg(p_conv bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	PERFORM vb_acd_accept(p_conv);
	RETURN vb_system_line(p_conv, 'joined', vb_user_name(vb_actor()) || ' joined the chat')::jsonb;
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;
