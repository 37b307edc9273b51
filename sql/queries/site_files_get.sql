SELECT vb_site_files_get($1::bigint)
