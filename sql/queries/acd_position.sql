SELECT vb_acd_position($1::bigint)
