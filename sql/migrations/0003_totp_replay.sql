-- A TOTP code is good once (RFC 6238 section 5.2): remember the last time
-- step accepted per user and refuse that step or any earlier one.
ALTER TABLE users ADD COLUMN totp_last_step bigint;

-- Completes a sign-in that waited for its second factor; false when the step
-- was already used.
CREATE FUNCTION vb_mfa_complete(p_hash bytea, p_step bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE users SET totp_last_step = p_step, last_login_at = now()
	WHERE id = vb_actor() AND coalesce(totp_last_step, -1) < p_step;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	UPDATE sessions SET mfa_ok = true WHERE id_hash = p_hash;
	PERFORM vb_audit('auth.login', 'user', vb_actor()::text, NULL, NULL);
	RETURN true;
END $$;

CREATE OR REPLACE FUNCTION vb_totp_set(p_pending bytea, p_secret bytea, p_enable boolean,
    p_step bigint DEFAULT NULL) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	IF p_enable IS NULL THEN
		UPDATE users SET totp_pending = p_pending WHERE id = vb_actor();
	ELSIF p_enable THEN
		UPDATE users SET totp_secret = p_secret, totp_pending = NULL, totp_last_step = p_step
		WHERE id = vb_actor();
		PERFORM vb_audit('user.totp_enable', 'user', vb_actor()::text, NULL, NULL);
	ELSE
		UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL
		WHERE id = vb_actor();
		PERFORM vb_audit('user.totp_disable', 'user', vb_actor()::text, NULL, NULL);
	END IF;
	RETURN '{}';
END $$;

GRANT EXECUTE ON FUNCTION vb_mfa_complete(bytea, bigint) TO vb_app;
