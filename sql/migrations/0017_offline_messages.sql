-- Messages left when nobody can answer (W18), and the follow-up list of
-- those and of abandoned contacts for agents (A7).
--
-- Nobody can answer when the chosen queue is closed (business hours, 0012)
-- or no agent of the organisation is at a console: a state of ready,
-- wrap-up or not ready, seen within 90 s (skills do not matter here). The
-- widget then offers a form (name, e-mail address, message); the message is
-- stored in the customer's conversation like any other, the conversation
-- gets routing 'followup' (never queued) and followup_at, and agents list
-- it with the abandoned contacts (routing 'abandoned') until one of them
-- marks it done (audited).

ALTER TABLE conversations DROP CONSTRAINT conversations_routing_check;
ALTER TABLE conversations ADD CONSTRAINT conversations_routing_check
	CHECK (routing IN ('none', 'queued', 'offered', 'assigned', 'abandoned', 'followup'));
ALTER TABLE conversations
	ADD COLUMN followup_at timestamptz,
	ADD COLUMN handled_at timestamptz,
	ADD COLUMN handled_by bigint,
	ADD FOREIGN KEY (tenant_id, handled_by) REFERENCES users(tenant_id, id);
CREATE INDEX conversations_followups ON conversations (tenant_id, coalesce(followup_at, abandoned_at) DESC)
	WHERE followup_at IS NOT NULL OR routing = 'abandoned';

-- Whether any agent of the organisation is at a console now.
CREATE FUNCTION vb_agents_available(p_tenant bigint) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
BEGIN
	RETURN EXISTS (SELECT 1 FROM agent_states a WHERE a.tenant_id = p_tenant
	    AND a.state IN ('ready', 'wrapup', 'not_ready')
	    AND a.seen_at > now() - interval '90 seconds');
END $$;
REVOKE EXECUTE ON FUNCTION vb_agents_available(bigint) FROM PUBLIC;

-- The session answer's routing part (0012) also says whether agents are
-- there: {subjects:[{id,name,open}], open, agents}.
CREATE OR REPLACE FUNCTION vb_widget_routing(p_key text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
DECLARE s sites;
BEGIN
	SELECT * INTO s FROM sites WHERE site_key = p_key;
	IF NOT FOUND THEN RETURN '{"subjects":[],"open":false,"agents":false}'; END IF;
	RETURN jsonb_build_object('subjects', coalesce((SELECT jsonb_agg(jsonb_build_object('id', j.id,
	    'name', j.name, 'open', vb_queue_open(j.queue_id, now())) ORDER BY j.sort, j.id)
	    FROM subjects j WHERE j.site_id = s.id AND j.tenant_id = s.tenant_id AND j.active), '[]'),
	    'open', s.default_queue_id IS NOT NULL AND vb_queue_open(s.default_queue_id, now()),
	    'agents', vb_agents_available(s.tenant_id));
END $$;
REVOKE EXECUTE ON FUNCTION vb_widget_routing(text) FROM PUBLIC;

-- Staff messages a customer has not seen, over their open conversations (W2).
CREATE FUNCTION vb_widget_unread_all(p_customer bigint) RETURNS int
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
BEGIN
	RETURN (SELECT count(*) FROM conversations c JOIN messages m ON m.conversation_id = c.id
	    WHERE c.customer_id = p_customer AND c.status = 'open' AND m.sender_kind = 'staff'
	      AND m.seq > c.customer_read_seq);
END $$;
REVOKE EXECUTE ON FUNCTION vb_widget_unread_all(bigint) FROM PUBLIC;

-- GET /api/widget/status (widget token): the same, fresh, for the panel,
-- with unread (below).
CREATE FUNCTION vb_widget_status(p_hash bytea) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
DECLARE w widget_sessions; k text;
BEGIN
	SELECT * INTO w FROM widget_sessions WHERE token_hash = p_hash AND expires_at > now();
	IF NOT FOUND THEN PERFORM vb_fail(401, 'unauthenticated', 'The widget token is unknown or expired'); END IF;
	SELECT site_key INTO k FROM sites WHERE id = w.site_id;
	-- thread: the customer is in a message thread already (nothing to offer).
	RETURN vb_widget_routing(k) || jsonb_build_object('unread', vb_widget_unread_all(w.customer_id),
	    'thread', EXISTS (SELECT 1 FROM conversations WHERE customer_id = w.customer_id
		AND status = 'open' AND routing IN ('followup', 'abandoned')));
END $$;
REVOKE EXECUTE ON FUNCTION vb_widget_status(bytea) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vb_widget_unread_all(bigint) FROM PUBLIC;

-- POST /api/widget/offline, under the customer's organisation (the C side
-- found the customer by widget token). Idempotent on the client id.
CREATE FUNCTION vb_offline_leave(p_customer bigint, p_conv bigint, p_name text, p_email text,
    p_body text, p_client text, p_subject bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
-- Answers the stored message's frame.
DECLARE c conversations; m messages; subj subjects;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_conv FOR UPDATE;
	IF NOT FOUND OR c.customer_id <> p_customer THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation');
	END IF;
	SELECT * INTO m FROM messages WHERE conversation_id = p_conv AND client_id = p_client;
	IF FOUND THEN
		RETURN vb_message_json(m);
	END IF;
	IF c.status <> 'open' THEN
		PERFORM vb_fail(409, 'closed', 'This conversation has ended');
	END IF;
	IF c.routing = 'assigned' THEN
		PERFORM vb_fail(409, 'answered', 'An agent is already with you in this chat');
	END IF;
	IF btrim(p_body) = '' OR btrim(p_name) = '' THEN
		PERFORM vb_fail(422, 'invalid', 'The name and the message must not be blank');
	END IF;
	IF p_subject IS NOT NULL THEN
		SELECT * INTO subj FROM subjects WHERE id = p_subject AND site_id = c.site_id AND active;
		IF NOT FOUND THEN
			PERFORM vb_fail_field(422, 'invalid_subject', 'This subject is not offered here', 'subject_id');
		END IF;
	END IF;
	m := vb_message_add(p_conv, 'customer', p_customer, p_client, p_body,
	    jsonb_build_object('offline', jsonb_build_object('name', p_name, 'email', p_email)));
	UPDATE conversations SET routing = 'followup', followup_at = now(), handled_at = NULL,
	    handled_by = NULL, offered_user_id = NULL, offer_expires_at = NULL,
	    subject_id = coalesce(subject_id, subj.id)
	WHERE id = p_conv;
	UPDATE customers SET display_name = coalesce(display_name, p_name),
	    email = coalesce(email, p_email)
	WHERE id = p_customer;
	RETURN vb_message_json(m);
END $$;

-- Agents see follow-up conversations (and their transcripts); every rule of
-- 0015 stays.
CREATE OR REPLACE FUNCTION vb_console_can_see(c conversations) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN vb_is_supervisor(vb_actor())
	    OR EXISTS (SELECT 1 FROM conversation_staff WHERE conversation_id = c.id AND user_id = vb_actor())
	    OR (c.routing = 'offered' AND c.offered_user_id = vb_actor())
	    OR (c.routing = 'queued' AND c.status = 'open')
	    OR c.followup_at IS NOT NULL OR c.routing = 'abandoned'
	    OR EXISTS (SELECT 1 FROM conversations o JOIN conversation_staff s ON s.conversation_id = o.id
		WHERE o.customer_id = c.customer_id AND o.status = 'open' AND s.user_id = vb_actor())
	    OR EXISTS (SELECT 1 FROM conversations o WHERE o.customer_id = c.customer_id
		AND o.routing = 'offered' AND o.offered_user_id = vb_actor());
END $$;

CREATE FUNCTION vb_followup_json(c conversations) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE cu customers; m messages;
BEGIN
	SELECT * INTO cu FROM customers WHERE id = c.customer_id;
	SELECT * INTO m FROM messages WHERE conversation_id = c.id AND sender_kind = 'customer'
	ORDER BY seq DESC LIMIT 1;
	RETURN jsonb_build_object('id', c.id,
	    'kind', CASE WHEN c.followup_at IS NOT NULL THEN 'offline' ELSE 'abandoned' END,
	    'customer', vb_customer_name(c.customer_id), 'email', cu.email,
	    'subject', (SELECT name FROM subjects WHERE id = c.subject_id),
	    'preview', left(m.body, 200), 'at', coalesce(c.followup_at, c.abandoned_at),
	    'handled_at', c.handled_at,
	    'handled_by', CASE WHEN c.handled_by IS NULL THEN NULL ELSE
		jsonb_build_object('id', c.handled_by, 'name', vb_user_name(c.handled_by)) END);
END $$;

-- GET /api/console/followups: open ones first (oldest first: they have
-- waited longest), then those handled in the last day.
CREATE FUNCTION vb_console_followups() RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('items', coalesce((SELECT jsonb_agg(vb_followup_json(c)
	    ORDER BY c.handled_at IS NOT NULL, CASE WHEN c.handled_at IS NULL
		THEN coalesce(c.followup_at, c.abandoned_at) END, c.handled_at DESC, c.id)
	    FROM (SELECT * FROM conversations
		WHERE (followup_at IS NOT NULL OR routing = 'abandoned')
		  AND (handled_at IS NULL OR handled_at > now() - interval '1 day')
		ORDER BY handled_at IS NOT NULL, coalesce(followup_at, abandoned_at) LIMIT 200) c), '[]'));
END $$;

-- POST /api/console/followups/:id/done (audited; done twice answers the
-- same and writes nothing).
CREATE FUNCTION vb_followup_done(p_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE c conversations;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_id FOR UPDATE;
	IF NOT FOUND OR (c.followup_at IS NULL AND c.routing <> 'abandoned') THEN
		PERFORM vb_fail(404, 'not_found', 'No such follow-up');
	END IF;
	IF c.handled_at IS NULL THEN
		UPDATE conversations SET handled_at = now(), handled_by = vb_actor()
		WHERE id = p_id RETURNING * INTO c;
		PERFORM vb_audit('followup.done', 'conversation', p_id::text, NULL,
		    vb_followup_json(c) - 'preview');
	END IF;
	RETURN vb_followup_json(c);
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;
REVOKE EXECUTE ON FUNCTION vb_agents_available(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vb_widget_status(bytea) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vb_widget_unread_all(bigint) FROM PUBLIC;

-- Direct messages for signed-in customers (W15) and their unread count (W2).
--
-- A tokenised customer (customers.external_id set) who opens the widget
-- continues their latest open thread that no agent is answering — a
-- message left here, a contact who left the queue, or first words never
-- queued — instead of starting a new conversation, so answers written
-- later by staff are there on the next visit. An agent answers a
-- follow-up by joining it (POST /api/console/followups/:id/reply) and
-- writing in it as in any chat. The customer's read mark is per
-- conversation: staff messages after it are unread.

ALTER TABLE conversations ADD COLUMN customer_read_seq bigint NOT NULL DEFAULT 0;

CREATE FUNCTION vb_widget_unread(p_conv bigint) RETURNS int
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
BEGIN
	RETURN (SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
	    WHERE c.id = p_conv AND m.sender_kind = 'staff' AND m.seq > c.customer_read_seq);
END $$;
REVOKE EXECUTE ON FUNCTION vb_widget_unread(bigint) FROM PUBLIC;

-- As in 0013, with the thread continued for a tokenised customer and the
-- answer carrying unread.
CREATE OR REPLACE FUNCTION vb_widget_session_open(p_site bigint, p_origin text, p_hash bytea,
    p_correlation uuid, p_identity jsonb, p_context jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE s sites; cid bigint; conv bigint; corr uuid; ext text; imp int;
BEGIN
	SELECT * INTO s FROM sites WHERE id = p_site;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'unknown_site', 'Unknown site key'); END IF;
	IF NOT (p_origin = ANY (s.allowed_origins)) THEN
		PERFORM vb_fail(403, 'origin_not_allowed', 'This page may not use this site key');
	END IF;
	ext := p_identity->>'external_id';
	imp := coalesce((p_identity->>'importance')::int, 0);
	IF ext IS NOT NULL THEN
		INSERT INTO customers (tenant_id, site_id, external_id, display_name, email, importance)
		VALUES (s.tenant_id, s.id, ext, p_identity->>'name', p_identity->>'email', imp)
		ON CONFLICT (tenant_id, external_id) WHERE external_id IS NOT NULL DO UPDATE
		SET display_name = coalesce(EXCLUDED.display_name, customers.display_name),
		    email = coalesce(EXCLUDED.email, customers.email), importance = EXCLUDED.importance
		RETURNING id, correlation_id INTO cid, corr;
		SELECT id INTO conv FROM conversations
		WHERE customer_id = cid AND tenant_id = s.tenant_id AND site_id = s.id AND status = 'open'
		  AND (routing IN ('followup', 'abandoned') OR (routing = 'none' AND last_seq > 0))
		ORDER BY id DESC LIMIT 1;
		IF conv IS NOT NULL AND p_context IS NOT NULL THEN
			UPDATE conversations SET context = p_context WHERE id = conv;
		END IF;
	ELSE
		IF p_correlation IS NOT NULL THEN
			SELECT id, correlation_id INTO cid, corr FROM customers
			WHERE tenant_id = s.tenant_id AND correlation_id = p_correlation
			  AND external_id IS NULL;
		END IF;
		IF cid IS NULL THEN
			INSERT INTO customers (tenant_id, site_id) VALUES (s.tenant_id, s.id)
			RETURNING id, correlation_id INTO cid, corr;
		END IF;
		IF p_identity->>'email' IS NOT NULL THEN
			UPDATE customers SET email = p_identity->>'email' WHERE id = cid;
		END IF;
	END IF;
	IF conv IS NULL THEN
		INSERT INTO conversations (tenant_id, site_id, customer_id, context, importance, auth_mode)
		VALUES (s.tenant_id, s.id, cid, p_context, imp, coalesce(p_identity->>'mode', 'anonymous'))
		RETURNING id INTO conv;
	END IF;
	INSERT INTO widget_sessions (token_hash, tenant_id, site_id, customer_id, origin, expires_at)
	VALUES (p_hash, s.tenant_id, s.id, cid, p_origin, now() + interval '12 hours');
	RETURN jsonb_build_object('customer_id', cid, 'correlation_id', corr, 'conversation_id', conv,
	    'appearance', coalesce(s.settings->'appearance', '{}'), 'unread', vb_widget_unread(conv));
END $$;
REVOKE EXECUTE ON FUNCTION vb_widget_session_open(bigint, text, bytea, uuid, jsonb, jsonb) FROM PUBLIC;

-- POST /api/widget/read (widget token) {conversation_id, seq}: the panel
-- showed everything up to seq. Never moves back. Answers {unread}.
CREATE FUNCTION vb_widget_read(p_hash bytea, p_conv bigint, p_seq bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE w widget_sessions;
BEGIN
	SELECT * INTO w FROM widget_sessions WHERE token_hash = p_hash AND expires_at > now();
	IF NOT FOUND THEN PERFORM vb_fail(401, 'unauthenticated', 'The widget token is unknown or expired'); END IF;
	UPDATE conversations SET customer_read_seq = greatest(customer_read_seq, least(p_seq, last_seq))
	WHERE id = p_conv AND tenant_id = w.tenant_id AND customer_id = w.customer_id;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such conversation'); END IF;
	RETURN jsonb_build_object('unread', vb_widget_unread(p_conv));
END $$;
REVOKE EXECUTE ON FUNCTION vb_widget_read(bytea, bigint, bigint) FROM PUBLIC;

-- POST /api/console/followups/:id/reply: the agent joins the follow-up to
-- write in it (audited). The conversation stays out of the queue; joining
-- twice writes nothing.
CREATE FUNCTION vb_followup_reply(p_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE c conversations;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_id FOR UPDATE;
	IF NOT FOUND OR (c.followup_at IS NULL AND c.routing <> 'abandoned') THEN
		PERFORM vb_fail(404, 'not_found', 'No such follow-up');
	END IF;
	IF c.status <> 'open' THEN
		PERFORM vb_fail(409, 'closed', 'This conversation has ended');
	END IF;
	IF NOT vb_in_conversation(p_id, vb_actor()) THEN
		INSERT INTO conversation_staff (tenant_id, conversation_id, user_id, role)
		VALUES (c.tenant_id, p_id, vb_actor(), 'agent');
		PERFORM vb_audit('followup.reply', 'conversation', p_id::text, NULL,
		    jsonb_build_object('user_id', vb_actor()));
	END IF;
	RETURN jsonb_build_object('conversation_id', p_id);
END $$;

-- The customer writes again in a follow-up an agent marked done: it is
-- back on the list (a message thread continues, W15).
CREATE FUNCTION vb_followup_reopen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE conversations SET handled_at = NULL, handled_by = NULL
	WHERE id = NEW.conversation_id AND handled_at IS NOT NULL;
	RETURN NULL;
END $$;
CREATE TRIGGER messages_followup_reopen AFTER INSERT ON messages
	FOR EACH ROW WHEN (NEW.sender_kind = 'customer') EXECUTE FUNCTION vb_followup_reopen();

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;
REVOKE EXECUTE ON FUNCTION vb_widget_unread(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vb_widget_session_open(bigint, text, bytea, uuid, jsonb, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vb_widget_read(bytea, bigint, bigint) FROM PUBLIC;
