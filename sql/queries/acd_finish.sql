SELECT vb_acd_finish($1::bigint)
