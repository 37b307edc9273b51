SELECT vb_user_set_status($1::bigint, 'active')
