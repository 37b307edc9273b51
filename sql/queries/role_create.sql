SELECT vb_role_create($1, $2::text[])
