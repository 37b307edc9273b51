-- Co-browsing, the remaining parts (issue 5).
--
--  * Session storage, per site and off by default:
--    sites.settings->'cobrowse_storage' = {enabled, retention_days}, written
--    by vb_site_cobrowse_storage_save (audited as site.cobrowse_storage).
--    When on, the hub keeps the page events of a session (already masked in
--    the customer's browser) as zlib-compressed chunks: one
--    cobrowse_recordings row per session, its chunks in cobrowse_chunks.
--    The decompressed text is lines "<batch id> <part> <parts>\t<data>\n",
--    the cobrowse_data frames as the agents got them. Replay
--    (vb_cobrowse_recording) is for holders of recordings.read and for the
--    staff who were in the conversation; every replay is audited. The sweep
--    (vb_cobrowse_sweep, every few minutes) deletes what is older than the
--    site's retention.
--  * vb_cobrowse_live_ok: pointer, drawing, pushed documents and clicks go to
--    the customer only from staff in the chat (the assigned agent, invited
--    colleagues who joined, a supervisor who barged); a silent monitor is
--    refused.
--  * vb_cobrowse_on (the customer's "record" frame) and vb_cobrowse_state
--    (the request the customer consents to) say whether the session is
--    stored; vb_cobrowse_line marks the started and ended lines of a
--    stored session (meta.cobrowse.stored) so the console offers a replay.

-- Settings ----------------------------------------------------------------------

CREATE FUNCTION vb_site_cobrowse_storage(p_site bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE s jsonb;
BEGIN
	SELECT settings->'cobrowse_storage' INTO s FROM sites WHERE id = p_site;
	RETURN jsonb_build_object(
	    'enabled', coalesce((s->'enabled') = 'true'::jsonb, false),
	    'retention_days', coalesce((s->>'retention_days')::int, 30));
END $$;

CREATE FUNCTION vb_site_cobrowse_storage_get(p_site bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM sites WHERE id = p_site) THEN
		PERFORM vb_fail(404, 'not_found', 'No such site');
	END IF;
	RETURN vb_site_cobrowse_storage(p_site);
END $$;

CREATE FUNCTION vb_site_cobrowse_storage_save(p_site bigint, p_enabled boolean, p_days int)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb; after jsonb;
BEGIN
	IF p_enabled IS NULL THEN
		PERFORM vb_fail_field(422, 'invalid', 'enabled must be true or false', 'enabled');
	END IF;
	IF p_days IS NOT NULL AND (p_days < 1 OR p_days > 3650) THEN
		PERFORM vb_fail_field(422, 'invalid', 'retention_days must be 1 to 3650', 'retention_days');
	END IF;
	IF NOT EXISTS (SELECT 1 FROM sites WHERE id = p_site) THEN
		PERFORM vb_fail(404, 'not_found', 'No such site');
	END IF;
	before := vb_site_cobrowse_storage(p_site);
	UPDATE sites SET settings = settings || jsonb_build_object('cobrowse_storage', jsonb_build_object(
	    'enabled', p_enabled, 'retention_days', coalesce(p_days, (before->>'retention_days')::int))),
	    updated_at = now()
	WHERE id = p_site;
	after := vb_site_cobrowse_storage(p_site);
	PERFORM vb_audit('site.cobrowse_storage', 'site', p_site::text, before, after);
	RETURN after;
END $$;

-- Stored sessions ---------------------------------------------------------------

CREATE TABLE cobrowse_recordings (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	session_id	bigint NOT NULL UNIQUE,
	conversation_id	bigint NOT NULL,
	site_id		bigint NOT NULL,
	chunks		int NOT NULL DEFAULT 0,
	bytes		bigint NOT NULL DEFAULT 0,	-- compressed
	raw_bytes	bigint NOT NULL DEFAULT 0,
	truncated	boolean NOT NULL DEFAULT false,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (tenant_id, id),
	FOREIGN KEY (tenant_id, session_id) REFERENCES cobrowse_sessions(tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations(tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, site_id) REFERENCES sites(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX cobrowse_recordings_created ON cobrowse_recordings (site_id, created_at);

CREATE TABLE cobrowse_chunks (
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	recording_id	bigint NOT NULL,
	seq		int NOT NULL,
	raw_bytes	int NOT NULL,
	data		bytea NOT NULL,
	PRIMARY KEY (recording_id, seq),
	FOREIGN KEY (tenant_id, recording_id) REFERENCES cobrowse_recordings(tenant_id, id) ON DELETE CASCADE
);

ALTER TABLE cobrowse_recordings ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON cobrowse_recordings USING (tenant_id = vb_tenant())
	WITH CHECK (tenant_id = vb_tenant());
ALTER TABLE cobrowse_chunks ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON cobrowse_chunks USING (tenant_id = vb_tenant())
	WITH CHECK (tenant_id = vb_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON cobrowse_recordings, cobrowse_chunks TO vb_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO vb_app;

-- At most this much compressed per session; later chunks are dropped and
-- the recording is marked truncated.
CREATE FUNCTION vb_cobrowse_store_max() RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RETURN 64 * 1024 * 1024;
END $$;

-- A chunk from the hub, for the customer's connection that sends the page.
-- Only while the session runs (or just ended: the hub's last flush follows
-- the stop) and while the site stores sessions. Answers the chunk's seq, or
-- 0 when it was dropped.
CREATE FUNCTION vb_cobrowse_store(p_customer bigint, p_session bigint, p_data bytea, p_raw int)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE s cobrowse_sessions; c conversations; rec cobrowse_recordings; n int;
BEGIN
	SELECT * INTO s FROM cobrowse_sessions WHERE id = p_session;
	IF NOT FOUND OR (s.status <> 'active' AND NOT (s.status = 'ended' AND s.consented_at IS NOT NULL
	    AND s.ended_at > now() - interval '2 minutes')) THEN
		PERFORM vb_fail(409, 'no_cobrowse', 'Co-browsing is not running');
	END IF;
	SELECT * INTO c FROM conversations WHERE id = s.conversation_id;
	IF c.customer_id IS DISTINCT FROM p_customer THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation');
	END IF;
	IF NOT (vb_site_cobrowse_storage(c.site_id)->>'enabled')::boolean THEN
		RETURN 0;
	END IF;
	IF p_data IS NULL OR length(p_data) = 0 OR p_raw IS NULL OR p_raw < 0 THEN
		PERFORM vb_fail(422, 'invalid', 'An empty chunk');
	END IF;
	INSERT INTO cobrowse_recordings (tenant_id, session_id, conversation_id, site_id)
	VALUES (c.tenant_id, s.id, c.id, c.site_id)
	ON CONFLICT (session_id) DO UPDATE SET updated_at = now()
	RETURNING * INTO rec;
	IF rec.truncated OR rec.bytes + length(p_data) > vb_cobrowse_store_max() THEN
		UPDATE cobrowse_recordings SET truncated = true WHERE id = rec.id;
		RETURN 0;
	END IF;
	n := rec.chunks + 1;
	INSERT INTO cobrowse_chunks (tenant_id, recording_id, seq, raw_bytes, data)
	VALUES (c.tenant_id, rec.id, n, p_raw, p_data);
	UPDATE cobrowse_recordings SET chunks = n, bytes = bytes + length(p_data),
	    raw_bytes = raw_bytes + p_raw, updated_at = now() WHERE id = rec.id;
	RETURN n;
END $$;

-- Replay: holders of recordings.read, and staff who were in the
-- conversation. Audited (cobrowse.replay). The chunks in order.
CREATE FUNCTION vb_cobrowse_recording(p_session bigint)
RETURNS TABLE (seq int, data bytea) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE rec cobrowse_recordings;
BEGIN
	SELECT * INTO rec FROM cobrowse_recordings WHERE session_id = p_session;
	IF NOT FOUND THEN
		PERFORM vb_fail(404, 'not_found', 'This co-browse session was not stored');
	END IF;
	IF vb_actor() IS NULL OR NOT ('recordings.read' = ANY (vb_perms_of(vb_actor()))
	    OR vb_in_conversation(rec.conversation_id, vb_actor())) THEN
		PERFORM vb_fail(403, 'forbidden', 'You do not have permission for this');
	END IF;
	PERFORM vb_audit('cobrowse.replay', 'conversation', rec.conversation_id::text, NULL,
	    jsonb_build_object('session_id', p_session, 'chunks', rec.chunks, 'bytes', rec.bytes));
	RETURN QUERY SELECT k.seq, k.data FROM cobrowse_chunks k WHERE k.recording_id = rec.id ORDER BY k.seq;
END $$;

-- Retention: every tenant's stored sessions older than their site's
-- retention. SECURITY DEFINER: it spans all tenants.
CREATE FUNCTION vb_cobrowse_sweep() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE n integer;
BEGIN
	DELETE FROM cobrowse_recordings r USING sites s
	WHERE s.id = r.site_id AND r.created_at < now() - make_interval(days =>
	    coalesce((s.settings->'cobrowse_storage'->>'retention_days')::int, 30));
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END $$;
REVOKE EXECUTE ON FUNCTION vb_cobrowse_sweep() FROM PUBLIC;

-- The customer's "record" frame, with store (0021's, plus that flag).
CREATE OR REPLACE FUNCTION vb_cobrowse_on(s cobrowse_sessions, c conversations) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE cfg jsonb := vb_site_cobrowse(c.site_id);
BEGIN
	RETURN jsonb_build_object('type', 'cobrowse', 'op', 'record', 'conversation_id', c.id,
	    'session_id', s.id, 'control', s.control,
	    'mask_selectors', cfg->'mask_selectors', 'block_selectors', cfg->'block_selectors',
	    'max_snapshot_bytes', cfg->'max_snapshot_bytes',
	    'store', vb_site_cobrowse_storage(c.site_id)->'enabled')::text;
END $$;

-- 0021's line, with stored = true on the started and ended lines of a
-- session the site stores.
CREATE OR REPLACE FUNCTION vb_cobrowse_line(p_conv bigint, p_event text, p_session bigint, p_text text,
    p_extra jsonb DEFAULT '{}') RETURNS text LANGUAGE plpgsql AS $$
DECLARE m messages; extra jsonb := coalesce(p_extra, '{}');
BEGIN
	IF p_event IN ('started', 'ended') AND (vb_site_cobrowse_storage((SELECT site_id FROM conversations
	    WHERE id = p_conv))->>'enabled')::boolean THEN
		extra := extra || '{"stored": true}';
	END IF;
	m := vb_message_add(p_conv, 'system', vb_actor(), 'cb-' || p_event || '-' ||
	    (SELECT last_seq + 1 FROM conversations WHERE id = p_conv), p_text,
	    jsonb_build_object('cobrowse', jsonb_build_object('event', p_event,
		'session_id', p_session) || extra));
	RETURN vb_message_json(m)::text;
END $$;

-- 0021's state frame, with stored (the customer's consent dialog says so).
CREATE OR REPLACE FUNCTION vb_cobrowse_state(s cobrowse_sessions, p_op text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('type', 'cobrowse', 'op', p_op, 'conversation_id', s.conversation_id,
	    'session_id', s.id, 'status', s.status, 'control', s.control,
	    'control_user', s.control_user, 'agent', vb_user_name(coalesce(s.control_user, s.requested_by)),
	    'stored', vb_site_cobrowse_storage((SELECT site_id FROM conversations
		WHERE id = s.conversation_id))->'enabled')::text;
END $$;

-- Live frames to the customer -----------------------------------------------------

-- Staff in the chat only (conversation_staff: the assigned agent, colleagues
-- who joined, a supervisor who barged); not a silent monitor.
CREATE FUNCTION vb_cobrowse_live_ok(p_conv bigint) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF vb_actor() IS NULL OR NOT vb_in_conversation(p_conv, vb_actor()) THEN
		PERFORM vb_fail(403, 'forbidden', 'Only staff in the chat point, draw or send to the customer');
	END IF;
	RETURN true;
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;
