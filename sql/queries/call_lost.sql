SELECT target, id, frame FROM vb_call_lost($1::bigint, $2, $3)
