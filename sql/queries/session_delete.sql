DELETE FROM sessions WHERE id_hash = decode($1, 'hex') RETURNING 1
