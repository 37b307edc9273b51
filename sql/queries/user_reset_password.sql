SELECT vb_user_reset_password($1::bigint, $2)
