-- Customers, widget sessions, conversations and messages: the ground of the
-- real-time hub (app/hub.c). Every message carries a per-conversation
-- sequence number, given inside the transaction that stores it, and a client
-- id unique per conversation, so a resend after a reconnect is recognised.

CREATE TABLE customers (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant() REFERENCES organisations(id),
	site_id		bigint,
	correlation_id	uuid NOT NULL DEFAULT gen_random_uuid(),
	display_name	text CHECK (length(display_name) <= 200),
	email		text CHECK (length(email) <= 254),
	external_id	text CHECK (length(external_id) <= 200),
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (tenant_id, id),
	FOREIGN KEY (tenant_id, site_id) REFERENCES sites(tenant_id, id) ON DELETE SET NULL (site_id)
);

CREATE TABLE widget_sessions (
	token_hash	bytea PRIMARY KEY,
	tenant_id	bigint NOT NULL,
	site_id		bigint NOT NULL,
	customer_id	bigint NOT NULL,
	origin		text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	FOREIGN KEY (tenant_id, site_id) REFERENCES sites(tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, customer_id) REFERENCES customers(tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE conversations (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant() REFERENCES organisations(id),
	site_id		bigint,
	customer_id	bigint NOT NULL,
	channel		text NOT NULL DEFAULT 'chat' CHECK (channel IN ('chat')),
	status		text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
	last_seq	bigint NOT NULL DEFAULT 0,
	created_at	timestamptz NOT NULL DEFAULT now(),
	closed_at	timestamptz,
	UNIQUE (tenant_id, id),
	FOREIGN KEY (tenant_id, customer_id) REFERENCES customers(tenant_id, id),
	FOREIGN KEY (tenant_id, site_id) REFERENCES sites(tenant_id, id) ON DELETE SET NULL (site_id)
);
CREATE INDEX conversations_customer ON conversations (customer_id, id DESC);

CREATE TABLE conversation_staff (
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	conversation_id	bigint NOT NULL,
	user_id		bigint NOT NULL,
	joined_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (conversation_id, user_id),
	FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations(tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);

CREATE TABLE messages (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	conversation_id	bigint NOT NULL,
	seq		bigint NOT NULL,
	sender_kind	text NOT NULL CHECK (sender_kind IN ('customer', 'staff', 'system')),
	sender_id	bigint,
	client_id	text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 64),
	body		text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (conversation_id, seq),
	UNIQUE (conversation_id, client_id),
	FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations(tenant_id, id) ON DELETE CASCADE
);

DO $$
DECLARE t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['customers', 'widget_sessions', 'conversations',
	    'conversation_staff', 'messages']
	LOOP
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = vb_tenant()) '
		    'WITH CHECK (tenant_id = vb_tenant())', t);
		EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO vb_app', t);
	END LOOP;
END $$;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO vb_app;

-- A widget asks for a session: the site key must exist and the page's origin
-- be on its allow-list. Creates the customer (or reuses one whose
-- correlation id the widget kept) and an open conversation.
CREATE FUNCTION vb_widget_session(p_key text, p_origin text, p_hash bytea,
    p_correlation uuid) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE s sites; cid bigint; conv bigint; corr uuid;
BEGIN
	SELECT * INTO s FROM sites WHERE site_key = p_key;
	IF NOT FOUND THEN
		PERFORM vb_fail(404, 'unknown_site', 'Unknown site key');
	END IF;
	IF NOT (p_origin = ANY (s.allowed_origins)) THEN
		PERFORM vb_fail(403, 'origin_not_allowed', 'This page may not use this site key');
	END IF;
	IF p_correlation IS NOT NULL THEN
		SELECT id, correlation_id INTO cid, corr FROM customers
		WHERE tenant_id = s.tenant_id AND correlation_id = p_correlation;
	END IF;
	IF cid IS NULL THEN
		INSERT INTO customers (tenant_id, site_id) VALUES (s.tenant_id, s.id)
		RETURNING id, correlation_id INTO cid, corr;
	END IF;
	INSERT INTO conversations (tenant_id, site_id, customer_id) VALUES (s.tenant_id, s.id, cid)
	RETURNING id INTO conv;
	INSERT INTO widget_sessions (token_hash, tenant_id, site_id, customer_id, origin, expires_at)
	VALUES (p_hash, s.tenant_id, s.id, cid, p_origin, now() + interval '12 hours');
	RETURN jsonb_build_object('customer_id', cid, 'correlation_id', corr, 'conversation_id', conv);
END $$;

CREATE FUNCTION vb_widget_session_get(p_hash bytea) RETURNS TABLE (tenant_id bigint,
    site_id bigint, customer_id bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
BEGIN
	RETURN QUERY SELECT w.tenant_id, w.site_id, w.customer_id FROM widget_sessions w
	WHERE w.token_hash = p_hash AND w.expires_at > now();
END $$;

-- Stores one message and gives it the conversation's next sequence number.
-- Idempotent on (conversation, client id): a resend returns the stored one.
-- Who may write: the conversation's customer, or staff of the tenant who are
-- in the conversation (or hold console.supervisor).
CREATE FUNCTION vb_message_post(p_conv bigint, p_kind text, p_sender bigint, p_client text,
    p_body text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE c conversations; m messages;
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
		UPDATE conversations SET last_seq = last_seq + 1 WHERE id = p_conv
		RETURNING last_seq INTO c.last_seq;
		INSERT INTO messages (conversation_id, seq, sender_kind, sender_id, client_id, body)
		VALUES (p_conv, c.last_seq, p_kind, p_sender, p_client, p_body) RETURNING * INTO m;
	END IF;
	RETURN vb_message_json(m);
END $$;

CREATE FUNCTION vb_message_json(m messages) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('type', 'message', 'conversation_id', m.conversation_id,
	    'seq', m.seq, 'client_id', m.client_id, 'sender', jsonb_build_object('kind', m.sender_kind,
	    'id', m.sender_id, 'name', CASE m.sender_kind WHEN 'staff' THEN
		(SELECT name FROM users WHERE id = m.sender_id) END),
	    'text', m.body, 'at', m.created_at);
END $$;

-- May this party follow the conversation? Same rule as writing.
CREATE FUNCTION vb_conversation_access(p_conv bigint, p_kind text, p_who bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE c conversations;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_conv;
	IF NOT FOUND OR (p_kind = 'customer' AND c.customer_id <> p_who) THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation');
	END IF;
	IF p_kind = 'staff' AND NOT EXISTS (SELECT 1 FROM conversation_staff
	    WHERE conversation_id = p_conv AND user_id = p_who)
	    AND NOT ('console.supervisor' = ANY (vb_perms_of(p_who))) THEN
		PERFORM vb_fail(403, 'forbidden', 'You are not in this conversation');
	END IF;
	RETURN c.last_seq;
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;
