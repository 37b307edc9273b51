SELECT vb_user_get($1::bigint)
