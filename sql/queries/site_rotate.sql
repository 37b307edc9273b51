SELECT vb_site_save($1::bigint, NULL, NULL, $2)
