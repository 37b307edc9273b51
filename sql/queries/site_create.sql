SELECT vb_site_save(NULL, $1, $2::text[], $3)
