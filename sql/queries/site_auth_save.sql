SELECT vb_site_auth_save($1::bigint, $2::jsonb)
