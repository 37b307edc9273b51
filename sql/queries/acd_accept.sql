SELECT vb_acd_accept_msg($1::bigint)
