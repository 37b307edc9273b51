-- Extension points shared by the widget, file and console work:
--  * sites.settings: per-site options, one top-level key per concern
--    ("appearance", "auth", "files", …), each written by its own function.
--  * messages.meta: structured extras of a message (an attached file, an
--    event), delivered to clients as "meta"; text stays in body.
--  * vb_message_add with meta; the five-argument form keeps working.

ALTER TABLE sites ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'
	CHECK (jsonb_typeof(settings) = 'object');
ALTER TABLE messages ADD COLUMN meta jsonb CHECK (meta IS NULL OR jsonb_typeof(meta) = 'object');

CREATE OR REPLACE FUNCTION vb_message_json(m messages) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE j jsonb;
BEGIN
	j := jsonb_build_object('type', 'message', 'conversation_id', m.conversation_id,
	    'seq', m.seq, 'client_id', m.client_id, 'sender', jsonb_build_object('kind', m.sender_kind,
	    'id', m.sender_id, 'name', CASE m.sender_kind WHEN 'staff' THEN
		(SELECT name FROM users WHERE id = m.sender_id) END),
	    'text', m.body, 'at', m.created_at);
	IF m.meta IS NOT NULL THEN
		j := j || jsonb_build_object('meta', m.meta);
	END IF;
	RETURN j;
END $$;

CREATE FUNCTION vb_message_add(p_conv bigint, p_kind text, p_sender bigint, p_client text,
    p_body text, p_meta jsonb) RETURNS messages LANGUAGE plpgsql AS $$
DECLARE seq bigint; m messages;
BEGIN
	UPDATE conversations SET last_seq = last_seq + 1 WHERE id = p_conv RETURNING last_seq INTO seq;
	INSERT INTO messages (conversation_id, seq, sender_kind, sender_id, client_id, body, meta)
	VALUES (p_conv, seq, p_kind, p_sender, p_client, p_body, p_meta) RETURNING * INTO m;
	RETURN m;
END $$;

CREATE OR REPLACE FUNCTION vb_message_add(p_conv bigint, p_kind text, p_sender bigint, p_client text,
    p_body text) RETURNS messages LANGUAGE plpgsql AS $$
BEGIN
	RETURN vb_message_add(p_conv, p_kind, p_sender, p_client, p_body, NULL);
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;
