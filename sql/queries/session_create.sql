SELECT vb_session_create($1::bigint, decode($2, 'hex'), $3, $4::boolean, $5, $6::interval)
