-- Co-browsing and Live Assist (issue 5; FEATURES W10, W20).
--
--  * cobrowse_sessions: one row per co-browse session of a conversation, at
--    most one live (requested or active) per conversation. Holds who asked,
--    the customer's consent, and the remote-control grant. The page content
--    itself is never stored: it goes from the customer's browser through the
--    hub to the agents' consoles only.
--  * sites.settings->'cobrowse' = {enabled, mask_selectors, block_selectors,
--    remote_control, max_snapshot_bytes}: written by vb_site_cobrowse_save
--    (audited), read by vb_site_cobrowse.
--  * vb_cobrowse_op(kind, who, frame): the lifecycle frames of the hub
--    ("cobrowse": request, start, consent, decline, resume, stop,
--    control_request, grant, revoke) and vb_cobrowse_control (an agent's
--    click or fill under a grant). Both answer rows of effects like
--    vb_staff_op (0015): reply / conv / staff / user, plus cb_on and cb_off,
--    which let the customer's connection send page frames or stop it.
--    Every event is a system message with meta.cobrowse, so it is part of the
--    conversation record; consent, grant, revoke and every control action
--    are also in the audit log.

CREATE TABLE cobrowse_sessions (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	conversation_id	bigint NOT NULL,
	status		text NOT NULL DEFAULT 'requested'
			CHECK (status IN ('requested', 'active', 'declined', 'ended')),
	requested_by	bigint,
	consented_at	timestamptz,
	ended_at	timestamptz,
	ended_by	text CHECK (ended_by IN ('customer', 'staff', 'system')),
	control		text NOT NULL DEFAULT 'none' CHECK (control IN ('none', 'requested', 'granted')),
	control_user	bigint,
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (tenant_id, id),
	FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations(tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, requested_by) REFERENCES users(tenant_id, id),
	FOREIGN KEY (tenant_id, control_user) REFERENCES users(tenant_id, id)
);
CREATE UNIQUE INDEX cobrowse_sessions_live ON cobrowse_sessions (conversation_id)
	WHERE status IN ('requested', 'active');

ALTER TABLE cobrowse_sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON cobrowse_sessions USING (tenant_id = vb_tenant())
	WITH CHECK (tenant_id = vb_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON cobrowse_sessions TO vb_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO vb_app;

-- A site's effective co-browse settings: stored values over the defaults
-- (enabled, no extra selectors, no remote control, 8 MiB snapshots).
CREATE FUNCTION vb_site_cobrowse(p_site bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE s jsonb;
BEGIN
	SELECT settings->'cobrowse' INTO s FROM sites WHERE id = p_site;
	RETURN jsonb_build_object(
	    'enabled', coalesce((s->'enabled') = 'true'::jsonb, s->'enabled' IS NULL),
	    'mask_selectors', coalesce(s->>'mask_selectors', ''),
	    'block_selectors', coalesce(s->>'block_selectors', ''),
	    'remote_control', coalesce((s->'remote_control') = 'true'::jsonb, false),
	    'max_snapshot_bytes', coalesce((s->>'max_snapshot_bytes')::bigint, 8388608));
END $$;

CREATE FUNCTION vb_site_cobrowse_get(p_site bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM sites WHERE id = p_site) THEN
		PERFORM vb_fail(404, 'not_found', 'No such site');
	END IF;
	RETURN vb_site_cobrowse(p_site);
END $$;

-- Selectors are a comma-separated CSS selector list the customer's browser
-- applies (document.querySelector rejects a bad one there: the widget then
-- masks the whole page rather than nothing). Here: length and no braces.
CREATE FUNCTION vb_site_cobrowse_save(p_site bigint, p_enabled boolean, p_mask text,
    p_block text, p_control boolean, p_max bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb; after jsonb;
BEGIN
	IF coalesce(p_mask, '') ~ '[{}<>;]' OR coalesce(p_block, '') ~ '[{}<>;]' THEN
		PERFORM vb_fail_field(422, 'invalid', 'Selectors may not contain { } < > or ;',
		    CASE WHEN coalesce(p_mask, '') ~ '[{}<>;]' THEN 'mask_selectors' ELSE 'block_selectors' END);
	END IF;
	IF NOT EXISTS (SELECT 1 FROM sites WHERE id = p_site) THEN
		PERFORM vb_fail(404, 'not_found', 'No such site');
	END IF;
	before := vb_site_cobrowse(p_site);
	UPDATE sites SET settings = settings || jsonb_build_object('cobrowse', jsonb_build_object(
	    'enabled', coalesce(p_enabled, true), 'mask_selectors', coalesce(p_mask, ''),
	    'block_selectors', coalesce(p_block, ''), 'remote_control', coalesce(p_control, false),
	    'max_snapshot_bytes', coalesce(p_max, 8388608))), updated_at = now()
	WHERE id = p_site;
	after := vb_site_cobrowse(p_site);
	PERFORM vb_audit('site.cobrowse', 'site', p_site::text, before, after);
	RETURN after;
END $$;

-- A system line with meta.cobrowse = {event, session_id, ...}; its frame.
CREATE FUNCTION vb_cobrowse_line(p_conv bigint, p_event text, p_session bigint, p_text text,
    p_extra jsonb DEFAULT '{}') RETURNS text LANGUAGE plpgsql AS $$
DECLARE m messages;
BEGIN
	m := vb_message_add(p_conv, 'system', vb_actor(), 'cb-' || p_event || '-' ||
	    (SELECT last_seq + 1 FROM conversations WHERE id = p_conv), p_text,
	    jsonb_build_object('cobrowse', jsonb_build_object('event', p_event,
		'session_id', p_session) || p_extra));
	RETURN vb_message_json(m)::text;
END $$;

-- The live frame about a session's state, for everyone following the chat.
CREATE FUNCTION vb_cobrowse_state(s cobrowse_sessions, p_op text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('type', 'cobrowse', 'op', p_op, 'conversation_id', s.conversation_id,
	    'session_id', s.id, 'status', s.status, 'control', s.control,
	    'control_user', s.control_user, 'agent', vb_user_name(coalesce(s.control_user, s.requested_by)))::text;
END $$;

-- What the customer's browser needs to record: masks, blocks, limits.
CREATE FUNCTION vb_cobrowse_on(s cobrowse_sessions, c conversations) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE cfg jsonb := vb_site_cobrowse(c.site_id);
BEGIN
	RETURN jsonb_build_object('type', 'cobrowse', 'op', 'record', 'conversation_id', c.id,
	    'session_id', s.id, 'control', s.control,
	    'mask_selectors', cfg->'mask_selectors', 'block_selectors', cfg->'block_selectors',
	    'max_snapshot_bytes', cfg->'max_snapshot_bytes')::text;
END $$;

CREATE FUNCTION vb_cobrowse_op(p_kind text, p_who bigint, f jsonb)
RETURNS TABLE (target text, id bigint, frame text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE conv bigint := vb_frame_id(f, 'conversation_id'); op text := f->>'op';
	c conversations; s cobrowse_sessions; cfg jsonb; who text; line text;
BEGIN
	SELECT * INTO c FROM conversations WHERE conversations.id = conv FOR UPDATE;
	IF NOT FOUND OR (p_kind = 'customer' AND c.customer_id <> p_who) THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation');
	END IF;
	IF p_kind = 'staff' AND NOT vb_in_conversation(conv, p_who) THEN
		PERFORM vb_fail(403, 'forbidden', 'You are not in this conversation');
	END IF;
	cfg := vb_site_cobrowse(c.site_id);
	SELECT * INTO s FROM cobrowse_sessions WHERE conversation_id = conv
	    AND status IN ('requested', 'active') FOR UPDATE;
	who := CASE WHEN p_kind = 'staff' THEN vb_user_name(p_who) ELSE 'The customer' END;

	IF op IN ('request', 'start') THEN
		IF (op = 'request') <> (p_kind = 'staff') THEN
			PERFORM vb_fail(403, 'forbidden', 'Agents request co-browsing; customers start it');
		END IF;
		IF c.status <> 'open' THEN PERFORM vb_fail(409, 'closed', 'The chat has ended'); END IF;
		IF NOT (cfg->>'enabled')::boolean THEN
			PERFORM vb_fail(409, 'cobrowse_disabled', 'Co-browsing is off for this site');
		END IF;
		IF s.id IS NOT NULL THEN
			PERFORM vb_fail(409, 'cobrowse_live', 'Co-browsing is already requested or running');
		END IF;
		IF op = 'start' THEN
			-- The customer's own offer, after the panel's consent dialog.
			INSERT INTO cobrowse_sessions (tenant_id, conversation_id, status, consented_at)
			VALUES (c.tenant_id, conv, 'active', now()) RETURNING * INTO s;
			PERFORM vb_audit('cobrowse.consent', 'conversation', conv::text, NULL,
			    jsonb_build_object('session_id', s.id, 'offered', true), c.tenant_id);
			line := vb_cobrowse_line(conv, 'started', s.id, 'The customer is sharing their screen');
			RETURN QUERY VALUES ('conv', conv, line), ('conv', conv, vb_cobrowse_state(s, 'started')),
			    ('cb_on', conv, vb_cobrowse_on(s, c));
			RETURN;
		END IF;
		INSERT INTO cobrowse_sessions (tenant_id, conversation_id, requested_by)
		VALUES (c.tenant_id, conv, p_who) RETURNING * INTO s;
		line := vb_cobrowse_line(conv, 'requested', s.id, who || ' asked to see the customer''s screen');
		RETURN QUERY VALUES ('conv', conv, line), ('conv', conv, vb_cobrowse_state(s, 'request'));
		RETURN;
	END IF;

	IF s.id IS NULL THEN
		PERFORM vb_fail(409, 'no_cobrowse', 'No co-browse session is requested or running');
	END IF;

	IF op IN ('consent', 'decline', 'grant', 'revoke', 'resume') AND p_kind <> 'customer' THEN
		PERFORM vb_fail(403, 'forbidden', 'Only the customer can do this');
	END IF;
	IF op = 'control_request' AND p_kind <> 'staff' THEN
		PERFORM vb_fail(403, 'forbidden', 'Only an agent asks for control');
	END IF;

	IF op = 'consent' THEN
		IF s.status <> 'requested' THEN PERFORM vb_fail(409, 'no_request', 'Nothing to consent to'); END IF;
		UPDATE cobrowse_sessions SET status = 'active', consented_at = now()
		WHERE cobrowse_sessions.id = s.id RETURNING * INTO s;
		PERFORM vb_audit('cobrowse.consent', 'conversation', conv::text, NULL,
		    jsonb_build_object('session_id', s.id), c.tenant_id);
		line := vb_cobrowse_line(conv, 'started', s.id, 'The customer is sharing their screen');
		RETURN QUERY VALUES ('conv', conv, line), ('conv', conv, vb_cobrowse_state(s, 'started')),
		    ('cb_on', conv, vb_cobrowse_on(s, c));
	ELSIF op = 'decline' THEN
		IF s.status <> 'requested' THEN PERFORM vb_fail(409, 'no_request', 'Nothing to decline'); END IF;
		UPDATE cobrowse_sessions SET status = 'declined', ended_at = now(), ended_by = 'customer'
		WHERE cobrowse_sessions.id = s.id RETURNING * INTO s;
		line := vb_cobrowse_line(conv, 'declined', s.id, 'The customer declined to share their screen');
		RETURN QUERY VALUES ('conv', conv, line), ('conv', conv, vb_cobrowse_state(s, 'declined'));
	ELSIF op = 'resume' THEN
		-- The customer's next page: record again (no new line in the chat).
		IF s.status <> 'active' THEN PERFORM vb_fail(409, 'no_cobrowse', 'Co-browsing is not running'); END IF;
		RETURN QUERY VALUES ('cb_on', conv, vb_cobrowse_on(s, c)),
		    ('staff', conv, vb_cobrowse_state(s, 'resumed'));
	ELSIF op = 'stop' THEN
		UPDATE cobrowse_sessions SET status = 'ended', ended_at = now(), ended_by = p_kind,
		    control = 'none' WHERE cobrowse_sessions.id = s.id RETURNING * INTO s;
		line := vb_cobrowse_line(conv, 'ended', s.id, 'Screen sharing ended by ' ||
		    CASE WHEN p_kind = 'staff' THEN who ELSE 'the customer' END);
		RETURN QUERY VALUES ('conv', conv, line), ('conv', conv, vb_cobrowse_state(s, 'ended')),
		    ('cb_off', conv, NULL::text);
	ELSIF op = 'control_request' THEN
		IF s.status <> 'active' THEN PERFORM vb_fail(409, 'no_cobrowse', 'Co-browsing is not running'); END IF;
		IF NOT (cfg->>'remote_control')::boolean THEN
			PERFORM vb_fail(409, 'control_disabled', 'Remote control is off for this site');
		END IF;
		IF s.control = 'granted' THEN
			PERFORM vb_fail(409, 'control_granted', 'Control is already granted');
		END IF;
		UPDATE cobrowse_sessions SET control = 'requested', control_user = p_who
		WHERE cobrowse_sessions.id = s.id RETURNING * INTO s;
		line := vb_cobrowse_line(conv, 'control_requested', s.id, who || ' asked to control the screen');
		RETURN QUERY VALUES ('conv', conv, line), ('conv', conv, vb_cobrowse_state(s, 'control_request'));
	ELSIF op = 'grant' THEN
		IF s.control <> 'requested' THEN
			PERFORM vb_fail(409, 'no_request', 'No agent asked for control');
		END IF;
		UPDATE cobrowse_sessions SET control = 'granted' WHERE cobrowse_sessions.id = s.id
		RETURNING * INTO s;
		PERFORM vb_audit('cobrowse.control_granted', 'conversation', conv::text, NULL,
		    jsonb_build_object('session_id', s.id, 'user_id', s.control_user), c.tenant_id);
		line := vb_cobrowse_line(conv, 'control_granted', s.id, 'The customer gave ' ||
		    vb_user_name(s.control_user) || ' control of the screen');
		RETURN QUERY VALUES ('conv', conv, line), ('conv', conv, vb_cobrowse_state(s, 'control'));
	ELSIF op = 'revoke' THEN
		IF s.control = 'none' THEN PERFORM vb_fail(409, 'no_grant', 'Nobody has control'); END IF;
		PERFORM vb_audit('cobrowse.control_revoked', 'conversation', conv::text, NULL,
		    jsonb_build_object('session_id', s.id, 'user_id', s.control_user), c.tenant_id);
		line := vb_cobrowse_line(conv, 'control_revoked', s.id, 'The customer took back control');
		UPDATE cobrowse_sessions SET control = 'none', control_user = NULL
		WHERE cobrowse_sessions.id = s.id RETURNING * INTO s;
		RETURN QUERY VALUES ('conv', conv, line), ('conv', conv, vb_cobrowse_state(s, 'control'));
	ELSE
		PERFORM vb_fail(422, 'invalid', 'Unknown co-browse operation');
	END IF;
END $$;

-- An agent's action on the customer's page: only by the agent the customer
-- granted control to, while the session runs. The customer's browser checks
-- again (never on masked or blocked elements) and shows every action.
CREATE FUNCTION vb_cobrowse_control(p_who bigint, f jsonb)
RETURNS TABLE (target text, id bigint, frame text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE conv bigint := vb_frame_id(f, 'conversation_id'); node bigint := vb_frame_id(f, 'node');
	act text := f->>'action'; val text; s cobrowse_sessions; c conversations;
BEGIN
	IF act IS NULL OR act NOT IN ('click', 'fill') THEN
		PERFORM vb_fail(422, 'invalid', 'action must be click or fill');
	END IF;
	IF act = 'fill' THEN
		IF jsonb_typeof(f->'value') <> 'string' OR length(f->>'value') > 1000 THEN
			PERFORM vb_fail(422, 'invalid', 'value must be text of up to 1000 characters');
		END IF;
		val := f->>'value';
	END IF;
	SELECT * INTO c FROM conversations WHERE conversations.id = conv;
	IF NOT FOUND OR NOT vb_in_conversation(conv, p_who) THEN
		PERFORM vb_fail(403, 'forbidden', 'You are not in this conversation');
	END IF;
	SELECT * INTO s FROM cobrowse_sessions WHERE conversation_id = conv AND status = 'active';
	IF NOT FOUND OR s.control <> 'granted' OR s.control_user IS DISTINCT FROM p_who
	    OR NOT (vb_site_cobrowse(c.site_id)->>'remote_control')::boolean THEN
		PERFORM vb_fail(403, 'no_grant', 'The customer has not given you control');
	END IF;
	PERFORM vb_audit('cobrowse.control', 'conversation', conv::text, NULL,
	    jsonb_build_object('session_id', s.id, 'action', act, 'node', node,
		'chars', length(val)));
	RETURN QUERY VALUES ('conv', conv, jsonb_build_object('type', 'cobrowse_do',
	    'conversation_id', conv, 'session_id', s.id, 'action', act, 'node', node,
	    'value', val, 'agent', vb_user_name(p_who))::text);
END $$;

-- A chat that closes ends its co-browse session.
CREATE FUNCTION vb_cobrowse_close() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status = 'closed' AND OLD.status <> 'closed' THEN
		UPDATE cobrowse_sessions SET status = 'ended', ended_at = now(), ended_by = 'system',
		    control = 'none' WHERE conversation_id = NEW.id AND status IN ('requested', 'active');
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER conversations_cobrowse_close AFTER UPDATE OF status ON conversations
	FOR EACH ROW EXECUTE FUNCTION vb_cobrowse_close();

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;

-- The asset proxy (GET /api/cobrowse/proxy): only for an agent in the chat
-- while its co-browse session runs, and only from the site's allowed origins.
CREATE FUNCTION vb_cobrowse_proxy_ok(p_conv bigint, p_origin text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE c conversations;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_conv;
	IF NOT FOUND OR NOT vb_in_conversation(p_conv, vb_actor()) THEN
		PERFORM vb_fail(403, 'forbidden', 'You are not in this conversation');
	END IF;
	IF NOT EXISTS (SELECT 1 FROM cobrowse_sessions WHERE conversation_id = p_conv AND status = 'active') THEN
		PERFORM vb_fail(409, 'no_cobrowse', 'Co-browsing is not running');
	END IF;
	IF NOT EXISTS (SELECT 1 FROM sites WHERE id = c.site_id AND p_origin = ANY (allowed_origins)) THEN
		PERFORM vb_fail(403, 'origin_not_allowed', 'Only the site''s allowed origins are fetched');
	END IF;
	RETURN true;
END $$;
GRANT EXECUTE ON FUNCTION vb_cobrowse_proxy_ok(bigint, text) TO vb_app;
