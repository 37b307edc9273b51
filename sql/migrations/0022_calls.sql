-- Calls, part 1 (issue 4): the recording policy (S5) and the recordings
-- archive with its supervisor search.
--
--  * Recording policy per site (sites.settings->'recording' = {policy,
--    notice}) and per queue (queues.recording_policy / recording_notice; NULL
--    inherits the site). Policies: always, on_demand, never. The notice is
--    what the customer sees while recording runs; NULL means the product's
--    translated default. vb_recording_policy(conversation) answers the
--    effective values (queue over site over the default 'never').
--  * recordings: one row per file the media relay wrote under
--    $VB_VAR/recordings/<tenant>/…: per participant (audio / video) or the
--    mixed stereo file (mix). Added by vb_recording_add when the relay
--    reports a finished file; read by supervisors holding recordings.read.
--    Rows are never deleted with their conversation (compliance archive).
--    Every play and download writes an audit entry (vb_recording_open).

-- Policy ---------------------------------------------------------------------
CREATE FUNCTION vb_recording_policies() RETURNS text[] LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RETURN ARRAY['always', 'on_demand', 'never'];
END $$;

ALTER TABLE queues
	ADD COLUMN recording_policy text CHECK (recording_policy IN ('always', 'on_demand', 'never')),
	ADD COLUMN recording_notice text CHECK (length(recording_notice) BETWEEN 1 AND 500);

-- {policy, notice} from a form, validated field by field. The site form
-- requires a policy; the queue form takes null for "as the site".
CREATE FUNCTION vb_recording_form(p jsonb, p_inherit boolean) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE pol jsonb := p -> 'policy'; n jsonb := p -> 'notice'; txt text;
BEGIN
	IF p IS NULL OR jsonb_typeof(p) <> 'object' THEN
		PERFORM vb_fail(422, 'invalid', 'A JSON object with policy and notice is required');
	END IF;
	IF pol IS NULL OR jsonb_typeof(pol) = 'null' THEN
		IF NOT p_inherit THEN
			PERFORM vb_fail_field(422, 'invalid', 'policy is required', 'policy');
		END IF;
		pol := 'null';
	ELSIF jsonb_typeof(pol) <> 'string' OR NOT (pol #>> '{}' = ANY (vb_recording_policies())) THEN
		PERFORM vb_fail_field(422, 'invalid', 'policy must be always, on_demand or never', 'policy');
	END IF;
	IF n IS NULL OR jsonb_typeof(n) = 'null' THEN
		txt := NULL;
	ELSIF jsonb_typeof(n) <> 'string' THEN
		PERFORM vb_fail_field(422, 'invalid', 'notice must be text', 'notice');
	ELSE
		txt := nullif(btrim(n #>> '{}'), '');
		IF length(txt) > 500 THEN
			PERFORM vb_fail_field(422, 'invalid', 'notice must be at most 500 characters', 'notice');
		END IF;
	END IF;
	RETURN jsonb_build_object('policy', pol, 'notice', to_jsonb(txt));
END $$;

-- A site's stored values over the default (never, default notice).
CREATE FUNCTION vb_site_recording(p_site bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE s jsonb;
BEGIN
	SELECT settings->'recording' INTO s FROM sites WHERE id = p_site;
	IF NOT FOUND THEN RETURN NULL; END IF;
	RETURN jsonb_build_object('policy', coalesce(s->>'policy', 'never'),
	    'notice', coalesce(s->'notice', 'null'));
END $$;

CREATE FUNCTION vb_site_recording_get(p_site bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN vb_site_recording(p_site);
END $$;

CREATE FUNCTION vb_site_recording_save(p_site bigint, p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE v jsonb; before jsonb; after jsonb;
BEGIN
	v := vb_recording_form(p, false);
	PERFORM 1 FROM sites WHERE id = p_site FOR UPDATE;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such site'); END IF;
	before := vb_site_recording(p_site);
	UPDATE sites SET settings = settings || jsonb_build_object('recording', v), updated_at = now()
	WHERE id = p_site;
	after := vb_site_recording(p_site);
	PERFORM vb_audit('site.recording', 'site', p_site::text, before, after);
	RETURN after;
END $$;

CREATE FUNCTION vb_queue_recording(p_queue bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT jsonb_build_object('policy', recording_policy, 'notice', recording_notice)
	    FROM queues WHERE id = p_queue);
END $$;

CREATE FUNCTION vb_queue_recording_get(p_queue bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN vb_queue_recording(p_queue);
END $$;

CREATE FUNCTION vb_queue_recording_save(p_queue bigint, p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE v jsonb; before jsonb; after jsonb;
BEGIN
	v := vb_recording_form(p, true);
	PERFORM 1 FROM queues WHERE id = p_queue FOR UPDATE;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such queue'); END IF;
	before := vb_queue_recording(p_queue);
	UPDATE queues SET recording_policy = v->>'policy', recording_notice = v->>'notice'
	WHERE id = p_queue;
	after := vb_queue_recording(p_queue);
	PERFORM vb_audit('queue.recording', 'queue', p_queue::text, before, after);
	RETURN after;
END $$;

-- What applies to a conversation now: its queue's policy when set, else its
-- site's, else never; the queue's notice, else the site's, else NULL (the
-- client shows its translated default). source says where the policy came from.
CREATE FUNCTION vb_recording_policy(p_conv bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE c conversations; q queues; s jsonb;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_conv;
	IF NOT FOUND THEN RETURN NULL; END IF;
	IF c.queue_id IS NOT NULL THEN
		SELECT * INTO q FROM queues WHERE id = c.queue_id;
	END IF;
	IF c.site_id IS NOT NULL THEN
		SELECT settings->'recording' INTO s FROM sites WHERE id = c.site_id;
	END IF;
	RETURN jsonb_build_object(
	    'policy', coalesce(q.recording_policy, s->>'policy', 'never'),
	    'source', CASE WHEN q.recording_policy IS NOT NULL THEN 'queue'
		WHEN s->>'policy' IS NOT NULL THEN 'site' ELSE 'default' END,
	    'notice', coalesce(to_jsonb(q.recording_notice), nullif(s->'notice', 'null'::jsonb), 'null'));
END $$;

-- Recordings -------------------------------------------------------------------
INSERT INTO permissions (code, area, platform_only, sort) VALUES ('recordings.read', 'console', false, 62);
-- Administrators (they manage roles) and supervisors (console.supervisor)
-- get it; new organisations through vb_org_create below.
INSERT INTO role_permissions (tenant_id, role_id, permission)
SELECT DISTINCT rp.tenant_id, rp.role_id, 'recordings.read'
FROM role_permissions rp
WHERE rp.permission IN ('roles.write', 'console.supervisor')
ON CONFLICT DO NOTHING;

CREATE TABLE recordings (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant() REFERENCES organisations(id),
	conversation_id	bigint NOT NULL,
	user_id		bigint,
	customer_id	bigint,
	kind		text NOT NULL CHECK (kind IN ('audio', 'video', 'mix')),
	-- Relative to $VB_VAR/recordings; starts with the tenant's id.
	path		text NOT NULL UNIQUE CHECK (length(path) <= 300
	    AND path ~ '^[0-9]+(/[A-Za-z0-9_][A-Za-z0-9._-]*)+$'),
	mime_type	text NOT NULL CHECK (mime_type IN ('audio/ogg', 'audio/webm', 'video/webm',
	    'video/x-ivf')),
	started_at	timestamptz NOT NULL,
	duration_ms	bigint NOT NULL CHECK (duration_ms >= 0),
	bytes		bigint NOT NULL CHECK (bytes >= 0),
	sha256		text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (tenant_id, id),
	-- A participant's file names exactly one participant; the mix names none.
	CHECK (kind = 'mix' AND user_id IS NULL AND customer_id IS NULL
	    OR kind <> 'mix' AND num_nonnulls(user_id, customer_id) = 1),
	FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations(tenant_id, id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id),
	FOREIGN KEY (tenant_id, customer_id) REFERENCES customers(tenant_id, id)
);
CREATE INDEX recordings_conversation ON recordings (conversation_id, id);
CREATE INDEX recordings_started ON recordings (tenant_id, started_at DESC, id DESC);
ALTER TABLE recordings ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON recordings USING (tenant_id = vb_tenant())
	WITH CHECK (tenant_id = vb_tenant());
GRANT SELECT, INSERT ON recordings TO vb_app;
GRANT USAGE ON SEQUENCE recordings_id_seq TO vb_app;

CREATE FUNCTION vb_recording_json(r recordings) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE c conversations;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = r.conversation_id;
	RETURN jsonb_build_object('id', r.id, 'conversation_id', r.conversation_id,
	    'kind', r.kind, 'mime_type', r.mime_type, 'started_at', r.started_at,
	    'duration_ms', r.duration_ms, 'bytes', r.bytes, 'sha256', r.sha256,
	    'participant', CASE WHEN r.user_id IS NOT NULL THEN jsonb_build_object('type', 'user',
		'id', r.user_id, 'name', vb_user_name(r.user_id))
		WHEN r.customer_id IS NOT NULL THEN jsonb_build_object('type', 'customer',
		'id', r.customer_id, 'name', vb_customer_name(r.customer_id)) END,
	    'customer', jsonb_build_object('id', c.customer_id, 'name', vb_customer_name(c.customer_id),
		'email', (SELECT email FROM customers WHERE id = c.customer_id)),
	    'agents', coalesce((SELECT jsonb_agg(jsonb_build_object('id', u.id, 'name', u.name)
		ORDER BY cs.joined_at, u.id) FROM conversation_staff cs JOIN users u ON u.id = cs.user_id
		WHERE cs.conversation_id = c.id AND cs.role = 'agent'), '[]'),
	    'queue', (SELECT jsonb_build_object('id', q.id, 'name', q.name) FROM queues q
		WHERE q.id = c.queue_id),
	    'created_at', r.created_at);
END $$;

-- Called by the application when the relay reports a finished file. The
-- path must lie in the tenant's own folder; the participant must belong to
-- the conversation (its customer, or staff who joined it).
CREATE FUNCTION vb_recording_add(p_conv bigint, p_user bigint, p_customer bigint, p_kind text,
    p_path text, p_mime text, p_started timestamptz, p_duration_ms bigint, p_bytes bigint,
    p_sha256 text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE c conversations; r recordings;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_conv;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such conversation'); END IF;
	IF p_kind IS NULL OR p_kind NOT IN ('audio', 'video', 'mix') THEN
		PERFORM vb_fail_field(422, 'invalid', 'kind must be audio, video or mix', 'kind');
	END IF;
	IF p_kind = 'mix' AND num_nonnulls(p_user, p_customer) <> 0
	    OR p_kind <> 'mix' AND num_nonnulls(p_user, p_customer) <> 1 THEN
		PERFORM vb_fail(422, 'invalid', 'A participant recording names one participant; the mix none');
	END IF;
	IF p_customer IS NOT NULL AND p_customer <> c.customer_id THEN
		PERFORM vb_fail_field(422, 'invalid', 'The customer is not this conversation''s', 'customer_id');
	END IF;
	IF p_user IS NOT NULL AND NOT EXISTS (SELECT 1 FROM conversation_staff
	    WHERE conversation_id = p_conv AND user_id = p_user) THEN
		PERFORM vb_fail_field(422, 'invalid', 'The user did not take part in this conversation', 'user_id');
	END IF;
	IF p_path IS NULL OR p_path !~ '^[0-9]+(/[A-Za-z0-9_][A-Za-z0-9._-]*)+$' OR length(p_path) > 300
	    OR split_part(p_path, '/', 1) <> c.tenant_id::text THEN
		PERFORM vb_fail_field(422, 'invalid', 'path must be a relative path in the organisation''s folder', 'path');
	END IF;
	IF p_mime IS NULL OR p_mime NOT IN ('audio/ogg', 'audio/webm', 'video/webm', 'video/x-ivf') THEN
		PERFORM vb_fail_field(422, 'invalid', 'Unknown media type', 'mime_type');
	END IF;
	IF p_started IS NULL OR p_duration_ms IS NULL OR p_duration_ms < 0 OR p_bytes IS NULL OR p_bytes < 0 THEN
		PERFORM vb_fail(422, 'invalid', 'started_at, duration_ms and bytes are required');
	END IF;
	IF p_sha256 IS NULL OR p_sha256 !~ '^[0-9a-f]{64}$' THEN
		PERFORM vb_fail_field(422, 'invalid', 'sha256 must be 64 lower-case hex digits', 'sha256');
	END IF;
	BEGIN
		INSERT INTO recordings (tenant_id, conversation_id, user_id, customer_id, kind, path,
		    mime_type, started_at, duration_ms, bytes, sha256)
		VALUES (c.tenant_id, p_conv, p_user, p_customer, p_kind, p_path, p_mime, p_started,
		    p_duration_ms, p_bytes, p_sha256)
		RETURNING * INTO r;
	EXCEPTION WHEN unique_violation THEN
		PERFORM vb_fail_field(409, 'conflict', 'This file is already recorded', 'path');
	END;
	PERFORM vb_audit('recording.add', 'recording', r.id::text, NULL,
	    jsonb_build_object('conversation_id', p_conv, 'kind', p_kind, 'path', p_path,
		'bytes', p_bytes, 'sha256', p_sha256), c.tenant_id);
	RETURN vb_recording_json(r);
END $$;

CREATE FUNCTION vb_recordings_check_perm() RETURNS void LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF vb_actor() IS NULL OR NOT ('recordings.read' = ANY (vb_perms_of(vb_actor()))) THEN
		PERFORM vb_fail(403, 'forbidden', 'You do not have permission for this');
	END IF;
END $$;

-- Search, newest first, keyset-paged on (started_at, id): next holds the
-- cursor of the page after this one, or null. customer matches the name or
-- e-mail address (part of either, any case); agent a user who handled the
-- conversation or is the recorded participant.
CREATE FUNCTION vb_recordings_search(p_customer text, p_agent bigint, p_queue bigint,
    p_from timestamptz, p_to timestamptz, p_cursor text, p_limit int) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE cur_at timestamptz; cur_id bigint; pat text; ids bigint[]; n int := coalesce(p_limit, 50);
	last recordings; res jsonb;
BEGIN
	PERFORM vb_recordings_check_perm();
	IF p_cursor IS NOT NULL THEN
		BEGIN
			cur_at := split_part(p_cursor, '|', 1)::timestamptz;
			cur_id := split_part(p_cursor, '|', 2)::bigint;
		EXCEPTION WHEN others THEN
			PERFORM vb_fail_field(422, 'invalid', 'The page cursor is not valid', 'cursor');
		END;
		IF cur_at IS NULL OR cur_id IS NULL THEN
			PERFORM vb_fail_field(422, 'invalid', 'The page cursor is not valid', 'cursor');
		END IF;
	END IF;
	IF p_from IS NOT NULL AND p_to IS NOT NULL AND p_to < p_from THEN
		PERFORM vb_fail_field(422, 'invalid', 'The end of the period is before its start', 'to');
	END IF;
	pat := '%' || replace(replace(replace(lower(btrim(p_customer)), '\', '\\'), '%', '\%'), '_', '\_') || '%';
	SELECT array_agg(x.id ORDER BY x.started_at DESC, x.id DESC) INTO ids FROM (
		SELECT r.id, r.started_at FROM recordings r JOIN conversations c ON c.id = r.conversation_id
		JOIN customers cu ON cu.id = c.customer_id
		WHERE (p_customer IS NULL OR lower(coalesce(cu.display_name, '')) LIKE pat
			OR lower(coalesce(cu.email, '')) LIKE pat)
		  AND (p_agent IS NULL OR r.user_id = p_agent OR EXISTS (SELECT 1 FROM conversation_staff cs
			WHERE cs.conversation_id = c.id AND cs.user_id = p_agent AND cs.role = 'agent'))
		  AND (p_queue IS NULL OR c.queue_id = p_queue)
		  AND (p_from IS NULL OR r.started_at >= p_from)
		  AND (p_to IS NULL OR r.started_at < p_to)
		  AND (cur_at IS NULL OR (r.started_at, r.id) < (cur_at, cur_id))
		ORDER BY r.started_at DESC, r.id DESC LIMIT n + 1) x;
	ids := coalesce(ids, '{}');
	SELECT coalesce(jsonb_agg(vb_recording_json(r) ORDER BY array_position(ids, r.id)), '[]')
	INTO res FROM recordings r WHERE r.id = ANY (ids[1:n]);
	IF cardinality(ids) > n THEN
		SELECT * INTO last FROM recordings WHERE id = ids[n];
	END IF;
	RETURN jsonb_build_object('recordings', res, 'next', CASE WHEN last.id IS NOT NULL THEN
	    to_char(last.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '|' || last.id END);
END $$;

-- The filters' choices: agents who handled recorded conversations, queues.
CREATE FUNCTION vb_recordings_filters() RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	PERFORM vb_recordings_check_perm();
	RETURN jsonb_build_object(
	    'agents', coalesce((SELECT jsonb_agg(jsonb_build_object('id', u.id, 'name', u.name)
		ORDER BY lower(u.name), u.id) FROM users u WHERE EXISTS (SELECT 1 FROM conversation_staff cs
		JOIN recordings r ON r.conversation_id = cs.conversation_id
		WHERE cs.user_id = u.id AND cs.role = 'agent')), '[]'),
	    'queues', coalesce((SELECT jsonb_agg(jsonb_build_object('id', q.id, 'name', q.name)
		ORDER BY lower(q.name), q.id) FROM queues q), '[]'));
END $$;

-- Before serving a recording's bytes: where the file is, with the audit
-- entry of the play or download (p_action). A player asks for many byte
-- ranges of one file (first bytes, seeks), so one entry stands for a user's
-- plays (or downloads) of a recording within ten minutes: every request is
-- covered by an entry, and seeking does not flood the log.
CREATE INDEX audit_log_recording ON audit_log (object_id, at) WHERE object_type = 'recording';

CREATE FUNCTION vb_recording_open(p_id bigint, p_action text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r recordings;
BEGIN
	PERFORM vb_recordings_check_perm();
	IF p_action IS NULL OR p_action NOT IN ('play', 'download') THEN
		PERFORM vb_fail(422, 'invalid', 'Unknown action');
	END IF;
	SELECT * INTO r FROM recordings WHERE id = p_id;
	IF NOT FOUND THEN RETURN NULL; END IF;
	IF NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.object_type = 'recording'
	    AND a.object_id = r.id::text AND a.at > now() - interval '10 minutes'
	    AND a.tenant_id = r.tenant_id AND a.actor_id = vb_actor()
	    AND a.action = 'recording.' || p_action) THEN
		PERFORM vb_audit('recording.' || p_action, 'recording', r.id::text, NULL,
		    jsonb_build_object('conversation_id', r.conversation_id, 'kind', r.kind));
	END IF;
	RETURN jsonb_build_object('id', r.id, 'path', r.path, 'mime_type', r.mime_type,
	    'bytes', r.bytes, 'started_at', r.started_at, 'kind', r.kind,
	    'name', format('recording-%s-%s-%s%s', r.conversation_id, r.id, r.kind,
		CASE r.mime_type WHEN 'audio/ogg' THEN '.ogg' WHEN 'video/x-ivf' THEN '.ivf' ELSE '.webm' END));
END $$;

-- A widget customer may have TURN credentials while one of their
-- conversations is open: the customer's id, or NULL.
CREATE FUNCTION vb_widget_call_customer(p_hash bytea) RETURNS TABLE (tenant_id bigint, customer_id bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
BEGIN
	RETURN QUERY SELECT w.tenant_id, w.customer_id FROM widget_sessions w
	WHERE w.token_hash = p_hash AND w.expires_at > now()
	  AND EXISTS (SELECT 1 FROM conversations c WHERE c.tenant_id = w.tenant_id
		AND c.customer_id = w.customer_id AND c.status = 'open');
END $$;

-- New organisations: as 0002's, with recordings.read for the supervisor role
-- (the administrator role gets every permission already).
CREATE OR REPLACE FUNCTION vb_org_create(p_name text, p_slug text, p_admin_email text, p_admin_name text,
    p_hash text, p_is_platform boolean DEFAULT false) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE oid bigint; rid bigint; uid bigint; caller_tenant bigint := vb_tenant(); org jsonb;
BEGIN
	IF vb_actor() IS NOT NULL AND NOT EXISTS (
	    SELECT 1 FROM organisations o WHERE o.id = caller_tenant AND o.is_platform)
	    OR vb_actor() IS NOT NULL AND NOT ('platform.orgs' = ANY (vb_perms_of(vb_actor()))) THEN
		PERFORM vb_fail(403, 'forbidden', 'Only platform operators create organisations');
	END IF;
	BEGIN
		INSERT INTO organisations (name, slug, is_platform) VALUES (p_name, p_slug, p_is_platform)
		RETURNING id INTO oid;
	EXCEPTION
		WHEN unique_violation THEN PERFORM vb_fail(409, 'conflict', 'This short name is taken');
		WHEN check_violation THEN PERFORM vb_fail(422, 'invalid',
		    'The short name uses 2–63 lower-case letters, digits and hyphens');
	END;
	INSERT INTO roles (tenant_id, name, builtin) VALUES (oid, 'Administrator', 'administrator')
	RETURNING id INTO rid;
	INSERT INTO role_permissions (tenant_id, role_id, permission)
	SELECT oid, rid, code FROM permissions WHERE NOT platform_only OR p_is_platform;
	INSERT INTO roles (tenant_id, name, builtin) VALUES (oid, 'Supervisor', 'supervisor');
	INSERT INTO role_permissions (tenant_id, role_id, permission)
	SELECT oid, currval('roles_id_seq'), unnest(ARRAY['users.read', 'units.read', 'audit.read',
	    'console.agent', 'console.supervisor', 'recordings.read']);
	INSERT INTO roles (tenant_id, name, builtin) VALUES (oid, 'Agent', 'agent');
	INSERT INTO role_permissions (tenant_id, role_id, permission)
	VALUES (oid, currval('roles_id_seq'), 'console.agent');
	BEGIN
		INSERT INTO users (tenant_id, email, name, password_hash) VALUES (oid, p_admin_email, p_admin_name, p_hash)
		RETURNING id INTO uid;
	EXCEPTION WHEN unique_violation THEN
		PERFORM vb_fail(409, 'conflict', 'A user with this e-mail address already exists');
	END;
	INSERT INTO user_roles (tenant_id, user_id, role_id) VALUES (oid, uid, rid);
	org := jsonb_build_object('id', oid, 'name', p_name, 'slug', p_slug, 'created_at', now(), 'user_count', 1);
	PERFORM vb_audit('organisation.create', 'organisation', oid::text, NULL, org, oid);
	IF caller_tenant IS NOT NULL THEN
		PERFORM vb_audit('organisation.create', 'organisation', oid::text, NULL, org, caller_tenant);
	END IF;
	RETURN org;
END $$;

-- The effective policy for the people in a conversation: staff who may see
-- it in the console, and its customer (widget token). NULL: not theirs.
CREATE FUNCTION vb_console_recording_policy(p_conv bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE c conversations;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_conv;
	IF NOT FOUND OR NOT vb_console_can_see(c) THEN RETURN NULL; END IF;
	RETURN vb_recording_policy(p_conv);
END $$;

CREATE FUNCTION vb_widget_recording_policy(p_hash bytea, p_conv bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
DECLARE w widget_sessions;
BEGIN
	SELECT * INTO w FROM widget_sessions WHERE token_hash = p_hash AND expires_at > now();
	IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = p_conv
	    AND c.tenant_id = w.tenant_id AND c.customer_id = w.customer_id) THEN
		RETURN NULL;
	END IF;
	RETURN vb_recording_policy(p_conv) - 'source';
END $$;
