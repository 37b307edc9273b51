SELECT m, m->>'seq' FROM vb_message_post($1::bigint, $2, $3::bigint, $4, $5, $6::bigint) m
