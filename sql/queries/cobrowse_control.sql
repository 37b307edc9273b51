SELECT target, id, frame FROM vb_cobrowse_control($1::bigint, $2::jsonb)
