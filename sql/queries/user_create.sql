SELECT vb_user_create($1, $2, $3, $4::bigint[], $5::bigint[], $6::jsonb)
