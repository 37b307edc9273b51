SELECT vb_user_update($1::bigint, $2, $3::bigint[], $4::bigint[], $5::jsonb)
