SELECT vb_role_update($1::bigint, $2, $3::text[])
