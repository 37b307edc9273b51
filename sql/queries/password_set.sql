SELECT vb_password_set($1)
