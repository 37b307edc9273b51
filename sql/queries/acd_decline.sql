SELECT vb_acd_decline($1::bigint)
