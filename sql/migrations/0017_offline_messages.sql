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

-- GET /api/widget/status (widget token): the same, fresh, for the panel.
CREATE FUNCTION vb_widget_status(p_hash bytea) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
DECLARE w widget_sessions; k text;
BEGIN
	SELECT * INTO w FROM widget_sessions WHERE token_hash = p_hash AND expires_at > now();
	IF NOT FOUND THEN PERFORM vb_fail(401, 'unauthenticated', 'The widget token is unknown or expired'); END IF;
	SELECT site_key INTO k FROM sites WHERE id = w.site_id;
	RETURN vb_widget_routing(k);
END $$;
REVOKE EXECUTE ON FUNCTION vb_widget_status(bytea) FROM PUBLIC;

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
