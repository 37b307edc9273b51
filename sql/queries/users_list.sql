SELECT vb_users_list($1, $2)
