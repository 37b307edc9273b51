SELECT vb_role_delete($1::bigint)
