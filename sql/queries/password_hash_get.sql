SELECT password_hash, totp_pending FROM users WHERE id = vb_actor()
