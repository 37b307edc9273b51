SELECT vb_login_failed($1, $2)
