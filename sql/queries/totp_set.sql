SELECT vb_totp_set(decode($1, 'hex'), decode($2, 'hex'), $3::boolean, $4::bigint)
