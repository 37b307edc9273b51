-- Wiring the routing core to the hub: a site's default queue takes its
-- conversations when the customer first writes; accepting an offer adds a
-- system message the customer sees; the periodic tick expires offers across
-- organisations and says which organisations have contacts waiting.

ALTER TABLE sites ADD COLUMN default_queue_id bigint,
	ADD FOREIGN KEY (tenant_id, default_queue_id) REFERENCES queues(tenant_id, id) ON DELETE SET NULL (default_queue_id);

CREATE OR REPLACE FUNCTION vb_message_post(p_conv bigint, p_kind text, p_sender bigint, p_client text,
    p_body text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE c conversations; m messages; q bigint;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_conv FOR UPDATE;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such conversation'); END IF;
	IF p_kind = 'customer' AND c.customer_id <> p_sender THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation');
	END IF;
	IF p_kind = 'staff' AND NOT EXISTS (SELECT 1 FROM conversation_staff
	    WHERE conversation_id = p_conv AND user_id = p_sender)
	    AND NOT ('console.supervisor' = ANY (vb_perms_of(p_sender))) THEN
		PERFORM vb_fail(403, 'forbidden', 'You are not in this conversation');
	END IF;
	SELECT * INTO m FROM messages WHERE conversation_id = p_conv AND client_id = p_client;
	IF NOT FOUND THEN
		IF c.status = 'closed' THEN
			PERFORM vb_fail(409, 'closed', 'This conversation has ended');
		END IF;
		m := vb_message_add(p_conv, p_kind, p_sender, p_client, p_body);
		-- The customer's first words put the chat in its site's queue.
		IF p_kind = 'customer' AND c.routing = 'none' THEN
			SELECT default_queue_id INTO q FROM sites WHERE id = c.site_id;
			IF q IS NOT NULL THEN
				PERFORM vb_acd_enqueue(p_conv, q, 0, NULL);
			END IF;
		END IF;
	END IF;
	RETURN vb_message_json(m);
END $$;

CREATE FUNCTION vb_message_add(p_conv bigint, p_kind text, p_sender bigint, p_client text,
    p_body text) RETURNS messages LANGUAGE plpgsql AS $$
DECLARE seq bigint; m messages;
BEGIN
	UPDATE conversations SET last_seq = last_seq + 1 WHERE id = p_conv RETURNING last_seq INTO seq;
	INSERT INTO messages (conversation_id, seq, sender_kind, sender_id, client_id, body)
	VALUES (p_conv, seq, p_kind, p_sender, p_client, p_body) RETURNING * INTO m;
	RETURN m;
END $$;

-- Accepting an offer: as before, plus a system message for everyone in the
-- conversation. Returns that message for the hub to deliver.
CREATE FUNCTION vb_acd_accept_msg(p_conv bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE m messages;
BEGIN
	PERFORM vb_acd_accept(p_conv);
	m := vb_message_add(p_conv, 'system', vb_actor(), 'joined-' || vb_actor() || '-' ||
	    extract(epoch FROM clock_timestamp())::bigint,
	    (SELECT name FROM users WHERE id = vb_actor()) || ' joined the chat');
	RETURN vb_message_json(m);
END $$;

-- Once a second per worker: expire unanswered offers everywhere, and name
-- the organisations that have contacts waiting (each is routed in its own
-- transaction, under its own tenant).
CREATE FUNCTION vb_acd_tick() RETURNS SETOF bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
	PERFORM vb_acd_expire();
	RETURN QUERY SELECT DISTINCT tenant_id FROM conversations WHERE routing = 'queued';
END $$;
REVOKE EXECUTE ON FUNCTION vb_acd_tick() FROM PUBLIC;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;
