-- Follow-ups answered by e-mail (W18, A7), and ending a chat opened from
-- the follow-up list.
--
-- POST /api/console/followups/:id/email {text} (app/followmail.c) runs in
-- three steps: vb_followup_email_prepare (read-only) checks the follow-up
-- and answers what the C side needs to send the mail (SMTP settings with the
-- sealed password, the address, the customer's original message); the mail
-- goes out on a task thread; only after the SMTP server took it,
-- vb_followup_email_sent stores the reply as a staff message with meta
-- {"via":"email","to":...}, joins the agent, marks the follow-up handled and
-- audits 'followup.email', in one transaction. A refused mail stores nothing.
--
-- The address: the one the customer gave with their latest offline message
-- (meta.offline.email), else the customer's own. The follow-up list shows
-- it, and how the item was answered by e-mail (when, by whom).

CREATE FUNCTION vb_followup_email_to(c conversations) RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN coalesce((SELECT m.meta->'offline'->>'email' FROM messages m
	    WHERE m.conversation_id = c.id AND m.sender_kind = 'customer'
	      AND m.meta ? 'offline' ORDER BY m.seq DESC LIMIT 1),
	    (SELECT email FROM customers WHERE id = c.customer_id));
END $$;

-- As in 0017, with the address above and "emailed": the latest answer by
-- e-mail {at, by:{id,name}, to} or null.
CREATE OR REPLACE FUNCTION vb_followup_json(c conversations) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE m messages; e messages;
BEGIN
	SELECT * INTO m FROM messages WHERE conversation_id = c.id AND sender_kind = 'customer'
	ORDER BY seq DESC LIMIT 1;
	SELECT * INTO e FROM messages WHERE conversation_id = c.id AND sender_kind = 'staff'
	    AND meta->>'via' = 'email'
	ORDER BY seq DESC LIMIT 1;
	RETURN jsonb_build_object('id', c.id,
	    'kind', CASE WHEN c.followup_at IS NOT NULL THEN 'offline' ELSE 'abandoned' END,
	    'customer', vb_customer_name(c.customer_id), 'email', vb_followup_email_to(c),
	    'subject', (SELECT name FROM subjects WHERE id = c.subject_id),
	    'preview', left(m.body, 200), 'at', coalesce(c.followup_at, c.abandoned_at),
	    'status', c.status,
	    'handled_at', c.handled_at,
	    'handled_by', CASE WHEN c.handled_by IS NULL THEN NULL ELSE
		jsonb_build_object('id', c.handled_by, 'name', vb_user_name(c.handled_by)) END,
	    'emailed', CASE WHEN e.id IS NULL THEN NULL ELSE
		jsonb_build_object('at', e.created_at, 'to', e.meta->>'to',
		    'by', jsonb_build_object('id', e.sender_id, 'name', vb_user_name(e.sender_id))) END);
END $$;

-- Step 1 (read-only). Same rule as vb_followup_reply for what a follow-up
-- is; the organisation is the caller's (row-level security). A contact who
-- left the queue (closed) may still be answered by e-mail.
CREATE FUNCTION vb_followup_email_prepare(p_id bigint, p_text text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE c conversations; m messages; s smtp_settings; site sites; addr text;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_id;
	IF NOT FOUND OR (c.followup_at IS NULL AND c.routing <> 'abandoned') THEN
		PERFORM vb_fail(404, 'not_found', 'No such follow-up');
	END IF;
	IF p_text IS NULL OR btrim(p_text, E' \t\r\n') = '' OR length(p_text) > 4000 THEN
		PERFORM vb_fail_field(422, 'invalid', 'The answer is 1 to 4000 characters', 'text');
	END IF;
	addr := vb_followup_email_to(c);
	IF addr IS NULL OR addr = '' THEN
		PERFORM vb_fail(409, 'no_email', 'This customer left no e-mail address');
	END IF;
	SELECT * INTO s FROM smtp_settings WHERE tenant_id = c.tenant_id;
	IF NOT FOUND THEN
		PERFORM vb_fail(503, 'mail_not_configured', 'Outgoing e-mail is not set up for this organisation');
	END IF;
	SELECT * INTO site FROM sites WHERE id = c.site_id;
	SELECT * INTO m FROM messages WHERE conversation_id = c.id AND sender_kind = 'customer'
	ORDER BY seq DESC LIMIT 1;
	RETURN jsonb_build_object('host', s.host, 'port', s.port, 'starttls', s.starttls,
	    'username', s.username, 'password', encode(s.password_sealed, 'hex'),
	    'from', s.from_address, 'site_name', site.name, 'to', addr,
	    'customer', vb_customer_name(c.customer_id),
	    'original', m.body, 'original_at', to_char(m.created_at AT TIME ZONE 'UTC',
		'Dy, DD Mon YYYY HH24:MI "UTC"'));
END $$;

-- Step 3: the mail went out. p_msgid is the Message-ID's local part, also
-- the stored message's client id (so a retry of this step stores nothing
-- twice). Answers the message frame.
CREATE FUNCTION vb_followup_email_sent(p_id bigint, p_text text, p_to text, p_msgid text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE c conversations; m messages;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_id FOR UPDATE;
	IF NOT FOUND OR (c.followup_at IS NULL AND c.routing <> 'abandoned') THEN
		PERFORM vb_fail(404, 'not_found', 'No such follow-up');
	END IF;
	SELECT * INTO m FROM messages WHERE conversation_id = p_id AND client_id = 'email-' || p_msgid;
	IF FOUND THEN
		RETURN vb_message_json(m);
	END IF;
	m := vb_message_add(p_id, 'staff', vb_actor(), 'email-' || p_msgid, p_text,
	    jsonb_build_object('via', 'email', 'to', p_to));
	IF NOT vb_in_conversation(p_id, vb_actor()) THEN
		INSERT INTO conversation_staff (tenant_id, conversation_id, user_id, role)
		VALUES (c.tenant_id, p_id, vb_actor(), 'agent');
	END IF;
	UPDATE conversations SET handled_at = now(), handled_by = vb_actor() WHERE id = p_id;
	PERFORM vb_audit('followup.email', 'conversation', p_id::text, NULL,
	    jsonb_build_object('to', p_to, 'seq', m.seq, 'message_id', p_msgid,
		'chars', length(p_text)));
	RETURN vb_message_json(m);
END $$;

-- "End chat" (the hub's finish frame): an ACD contact assigned to the
-- caller as in 0008 (vb_acd_finish, unchanged: wrap-up follows), or an
-- open follow-up the caller joined from the list: closed, marked handled if
-- it was not, audited 'followup.close'; no wrap-up (it was never routed).
-- Answers 'acd' or 'followup'.
CREATE FUNCTION vb_conversation_finish(p_conv bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE c conversations;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_conv FOR UPDATE;
	IF FOUND AND c.status = 'open' AND c.assigned_user_id IS NULL
	    AND (c.followup_at IS NOT NULL OR c.routing = 'abandoned')
	    AND vb_in_conversation(p_conv, vb_actor()) THEN
		UPDATE conversations SET status = 'closed', closed_at = now(),
		    handled_at = coalesce(handled_at, now()), handled_by = coalesce(handled_by, vb_actor())
		WHERE id = p_conv;
		PERFORM vb_audit('followup.close', 'conversation', p_conv::text, NULL,
		    jsonb_build_object('user_id', vb_actor()));
		RETURN 'followup';
	END IF;
	PERFORM vb_acd_finish(p_conv);
	RETURN 'acd';
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;
