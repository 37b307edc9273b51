UPDATE sessions SET mfa_ok = true WHERE id_hash = decode($1, 'hex') RETURNING 1
