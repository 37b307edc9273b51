-- Issue 5: a stored co-browse session replays with its images, styles and
-- fonts. The asset proxy (cobrowse.c) served only a running session's chat;
-- it now also serves a conversation with a stored session to those who may
-- replay it (as vb_cobrowse_recording: recordings.read, or staff of the
-- chat). Still only from the site's allowed origins.
CREATE OR REPLACE FUNCTION vb_cobrowse_proxy_ok(p_conv bigint, p_origin text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE c conversations; mine boolean;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_conv;
	IF NOT FOUND OR vb_actor() IS NULL THEN
		PERFORM vb_fail(403, 'forbidden', 'You are not in this conversation');
	END IF;
	mine := vb_in_conversation(p_conv, vb_actor());
	IF mine AND EXISTS (SELECT 1 FROM cobrowse_sessions WHERE conversation_id = p_conv AND status = 'active') THEN
		NULL;	-- live
	ELSIF EXISTS (SELECT 1 FROM cobrowse_recordings WHERE conversation_id = p_conv)
	    AND (mine OR 'recordings.read' = ANY (vb_perms_of(vb_actor()))) THEN
		NULL;	-- a replay
	ELSIF NOT mine THEN
		PERFORM vb_fail(403, 'forbidden', 'You are not in this conversation');
	ELSE
		PERFORM vb_fail(409, 'no_cobrowse', 'Co-browsing is not running');
	END IF;
	IF NOT EXISTS (SELECT 1 FROM sites WHERE id = c.site_id AND p_origin = ANY (allowed_origins)) THEN
		PERFORM vb_fail(403, 'origin_not_allowed', 'Only the site''s allowed origins are fetched');
	END IF;
	RETURN true;
END $$;
