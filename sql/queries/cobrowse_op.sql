SELECT target, id, frame FROM vb_cobrowse_op($1, $2::bigint, $3::jsonb)
