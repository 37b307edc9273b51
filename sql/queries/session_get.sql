SELECT user_id, tenant_id, csrf, mfa_ok, must_change, perms, totp_secret FROM vb_session_get(decode($1, 'hex'), $2::interval)
