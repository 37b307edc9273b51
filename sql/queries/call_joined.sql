SELECT target, id, frame FROM vb_call_joined($1, $2::bigint, $3::bigint, $4::jsonb, $5)
