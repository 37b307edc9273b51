SELECT user_id, tenant_id, password_hash, status, totp, must_change FROM vb_login_lookup($1)
