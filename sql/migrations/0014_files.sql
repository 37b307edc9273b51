-- File transfer inside chats (W7) and transcripts with their files (W8).
--
-- The bytes live on disk under $VB_VAR/files/<tenant>/<sha256[0:2]>/<sha256>
-- (content-addressed, so one organisation's copies of the same file share a
-- blob); this table is the truth about who sent what in which conversation.
-- The type is the one libmagic sniffed from the bytes, never the client's.
--
-- Per-site limits are sites.settings->'files' = {enabled, max_bytes, types},
-- written only by vb_site_files_save (audited). Missing keys take defaults.

CREATE TABLE files (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant() REFERENCES organisations(id),
	conversation_id	bigint NOT NULL,
	uploader_kind	text NOT NULL CHECK (uploader_kind IN ('customer', 'staff')),
	uploader_id	bigint NOT NULL,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	mime_type	text NOT NULL CHECK (length(mime_type) BETWEEN 3 AND 100),
	size		bigint NOT NULL CHECK (size > 0 AND size <= 52428800),
	sha256		text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	message_seq	bigint,
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (tenant_id, id),
	FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX files_conversation ON files (conversation_id, id);

ALTER TABLE files ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON files USING (tenant_id = vb_tenant())
	WITH CHECK (tenant_id = vb_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON files TO vb_app;
GRANT USAGE ON SEQUENCE files_id_seq TO vb_app;

-- The types a site may allow (app/fileutil.c has the same table).
CREATE FUNCTION vb_file_types() RETURNS text[] LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RETURN ARRAY['application/pdf', 'image/png', 'image/jpeg', 'image/gif', 'image/webp',
	    'text/plain', 'text/csv',
	    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
	    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
	    'application/vnd.oasis.opendocument.text',
	    'application/vnd.oasis.opendocument.spreadsheet', 'application/zip'];
END $$;

-- A site's effective file settings: stored values over the defaults
-- (enabled, 10 MiB, every type but ZIP).
CREATE FUNCTION vb_site_files(p_site bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE s jsonb;
BEGIN
	SELECT settings->'files' INTO s FROM sites WHERE id = p_site;
	RETURN jsonb_build_object(
	    'enabled', coalesce((s->'enabled') = 'true'::jsonb, s->'enabled' IS NULL),
	    'max_bytes', coalesce((s->>'max_bytes')::bigint, 10485760),
	    'types', coalesce(s->'types', to_jsonb(array_remove(vb_file_types(), 'application/zip'))));
END $$;

CREATE FUNCTION vb_site_files_get(p_site bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM sites WHERE id = p_site) THEN
		PERFORM vb_fail(404, 'not_found', 'No such site');
	END IF;
	RETURN vb_site_files(p_site);
END $$;

-- Validated in C first (fileutil_settings); checked again here.
CREATE FUNCTION vb_site_files_save(p_site bigint, p_files jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE before jsonb; after jsonb; t text;
BEGIN
	IF jsonb_typeof(p_files) <> 'object' OR jsonb_typeof(p_files->'enabled') <> 'boolean'
	    OR jsonb_typeof(p_files->'max_bytes') <> 'number'
	    OR jsonb_typeof(p_files->'types') <> 'array' THEN
		PERFORM vb_fail(422, 'invalid', 'enabled, max_bytes and types are required');
	END IF;
	IF (p_files->>'max_bytes')::numeric NOT BETWEEN 1 AND 52428800 THEN
		PERFORM vb_fail(422, 'invalid', 'max_bytes must be 1 byte to 50 MiB');
	END IF;
	FOR t IN SELECT jsonb_array_elements_text(p_files->'types') LOOP
		IF NOT (t = ANY (vb_file_types())) THEN
			PERFORM vb_fail(422, 'invalid', 'Unknown file type: ' || t);
		END IF;
	END LOOP;
	IF NOT EXISTS (SELECT 1 FROM sites WHERE id = p_site) THEN
		PERFORM vb_fail(404, 'not_found', 'No such site');
	END IF;
	before := vb_site_files(p_site);
	UPDATE sites SET settings = settings || jsonb_build_object('files', jsonb_build_object(
	    'enabled', p_files->'enabled', 'max_bytes', (p_files->>'max_bytes')::bigint,
	    'types', p_files->'types')), updated_at = now()
	WHERE id = p_site;
	after := vb_site_files(p_site);
	PERFORM vb_audit('site.files', 'site', p_site::text, before, after);
	RETURN after;
END $$;

-- Which messages a customer (and a transcript) may see. Internal notes and
-- other staff-only messages carry meta.internal = true.
CREATE FUNCTION vb_message_customer_visible(m messages) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RETURN m.meta IS NULL OR NOT coalesce(m.meta->'internal' = 'true'::jsonb, false);
END $$;

CREATE FUNCTION vb_file_json(f files) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('id', f.id, 'name', f.name, 'type', f.mime_type, 'size', f.size);
END $$;

-- Before an upload is read: access (as for following the conversation), the
-- conversation still open, files enabled for its site. Answers the limits.
CREATE FUNCTION vb_file_upload_check(p_conv bigint, p_kind text, p_who bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE c conversations; s jsonb;
BEGIN
	PERFORM vb_conversation_access(p_conv, p_kind, p_who);
	SELECT * INTO c FROM conversations WHERE id = p_conv;
	IF c.status = 'closed' THEN
		PERFORM vb_fail(409, 'closed', 'This conversation has ended');
	END IF;
	s := vb_site_files(c.site_id);
	IF c.site_id IS NULL OR NOT (s->'enabled') = 'true'::jsonb THEN
		PERFORM vb_fail(403, 'files_disabled', 'File transfer is not enabled for this chat');
	END IF;
	RETURN s;
END $$;

-- Records a stored upload and adds its message (meta.file), in one
-- transaction. Answers the message frame and whether the chat got queued.
CREATE FUNCTION vb_file_add(p_conv bigint, p_kind text, p_who bigint, p_name text,
    p_type text, p_size bigint, p_sha text) RETURNS TABLE (message jsonb, queued boolean)
LANGUAGE plpgsql AS $$
DECLARE c conversations; f files; m messages; s jsonb; q bigint;
BEGIN
	PERFORM vb_conversation_access(p_conv, p_kind, p_who);
	SELECT * INTO c FROM conversations WHERE id = p_conv FOR UPDATE;
	IF c.status = 'closed' THEN
		PERFORM vb_fail(409, 'closed', 'This conversation has ended');
	END IF;
	s := vb_site_files(c.site_id);
	IF NOT (s->'enabled') = 'true'::jsonb OR NOT (s->'types') ? p_type
	    OR p_size > (s->>'max_bytes')::bigint THEN
		PERFORM vb_fail(415, 'type_not_allowed', 'This file is not allowed here');
	END IF;
	INSERT INTO files (conversation_id, uploader_kind, uploader_id, name, mime_type, size, sha256)
	VALUES (p_conv, p_kind, p_who, p_name, p_type, p_size, p_sha) RETURNING * INTO f;
	m := vb_message_add(p_conv, p_kind, p_who, 'file-' || f.id, p_name,
	    jsonb_build_object('file', vb_file_json(f)));
	UPDATE files SET message_seq = m.seq WHERE id = f.id;
	-- A customer's first message puts the chat in its site's queue.
	IF p_kind = 'customer' AND c.routing = 'none' THEN
		SELECT default_queue_id INTO q FROM sites WHERE id = c.site_id;
		IF q IS NOT NULL THEN
			PERFORM vb_acd_enqueue(p_conv, q, 0, NULL);
		END IF;
	END IF;
	RETURN QUERY SELECT vb_message_json(m),
	    (SELECT routing = 'queued' FROM conversations WHERE id = p_conv);
END $$;

-- A file for download: the same answer (404) for unknown ids, another
-- organisation's (hidden by RLS), another customer's, a staff member who
-- may not follow the conversation, or a file in an internal note.
CREATE FUNCTION vb_file_get(p_file bigint, p_kind text, p_who bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE f files; c conversations;
BEGIN
	SELECT * INTO f FROM files WHERE id = p_file;
	IF FOUND THEN
		SELECT * INTO c FROM conversations WHERE id = f.conversation_id;
	END IF;
	IF NOT FOUND OR (p_kind = 'customer' AND (c.customer_id <> p_who OR EXISTS (
	    SELECT 1 FROM messages m WHERE m.conversation_id = f.conversation_id
	    AND m.seq = f.message_seq AND NOT vb_message_customer_visible(m))))
	    OR (p_kind = 'staff' AND NOT EXISTS (SELECT 1 FROM conversation_staff
	    WHERE conversation_id = c.id AND user_id = p_who)
	    AND NOT ('console.supervisor' = ANY (vb_perms_of(p_who)))) THEN
		PERFORM vb_fail(404, 'not_found', 'No such file');
	END IF;
	RETURN vb_file_json(f) || jsonb_build_object('sha256', f.sha256, 'tenant_id', f.tenant_id);
END $$;

-- The files of a conversation and the site's limits (for the panel/console).
CREATE FUNCTION vb_conversation_files(p_conv bigint, p_kind text, p_who bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE c conversations;
BEGIN
	PERFORM vb_conversation_access(p_conv, p_kind, p_who);
	SELECT * INTO c FROM conversations WHERE id = p_conv;
	RETURN jsonb_build_object('settings', vb_site_files(c.site_id),
	    'closed', c.status = 'closed',
	    'files', coalesce((SELECT jsonb_agg(vb_file_json(f) ORDER BY f.id) FROM files f
		JOIN messages m ON m.conversation_id = f.conversation_id AND m.seq = f.message_seq
		WHERE f.conversation_id = p_conv AND (p_kind = 'staff' OR vb_message_customer_visible(m))),
		'[]'));
END $$;

-- Everything a transcript shows, customer-visible only (no internal notes).
CREATE FUNCTION vb_transcript(p_conv bigint, p_kind text, p_who bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE c conversations; fmt text := 'YYYY-MM-DD HH24:MI:SS "UTC"';
BEGIN
	PERFORM vb_conversation_access(p_conv, p_kind, p_who);
	SELECT * INTO c FROM conversations WHERE id = p_conv;
	RETURN jsonb_build_object(
	    'conversation_id', c.id,
	    'organisation', (SELECT name FROM organisations WHERE id = c.tenant_id),
	    'site', coalesce((SELECT name FROM sites WHERE id = c.site_id), ''),
	    'started', to_char(c.created_at AT TIME ZONE 'UTC', fmt),
	    'ended', to_char(c.closed_at AT TIME ZONE 'UTC', fmt),
	    'generated', to_char(now() AT TIME ZONE 'UTC', fmt),
	    'participants', coalesce((SELECT jsonb_agg(p ORDER BY p) FROM (
		SELECT 'Customer' AS p
		UNION SELECT u.name FROM messages m JOIN users u ON u.id = m.sender_id
		WHERE m.conversation_id = p_conv AND m.sender_kind = 'staff'
		    AND vb_message_customer_visible(m)
		UNION SELECT u.name FROM conversation_staff cs JOIN users u ON u.id = cs.user_id
		WHERE cs.conversation_id = p_conv) x), '[]'),
	    'messages', coalesce((SELECT jsonb_agg(jsonb_build_object(
		'at', to_char(m.created_at AT TIME ZONE 'UTC', fmt),
		'sender', CASE m.sender_kind WHEN 'customer' THEN 'Customer'
		    WHEN 'system' THEN 'System'
		    ELSE coalesce((SELECT name FROM users WHERE id = m.sender_id), 'Staff') END,
		'kind', m.sender_kind, 'text', m.body,
		'file_id', (m.meta->'file'->>'id')::bigint) ORDER BY m.seq)
		FROM messages m WHERE m.conversation_id = p_conv AND vb_message_customer_visible(m)),
		'[]'),
	    'files', coalesce((SELECT jsonb_agg(vb_file_json(f) || jsonb_build_object('sha256',
		f.sha256) ORDER BY f.id) FROM files f JOIN messages m
		ON m.conversation_id = f.conversation_id AND m.seq = f.message_seq
		WHERE f.conversation_id = p_conv AND vb_message_customer_visible(m)), '[]'),
	    'tenant_id', c.tenant_id);
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;
