SELECT target, id, frame FROM vb_call_op($1, $2::bigint, $3::jsonb, $4)
