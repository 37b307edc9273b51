SELECT vb_mfa_complete(decode($1, 'hex'), $2::bigint)
