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
