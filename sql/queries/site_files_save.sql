SELECT vb_site_files_save($1::bigint, $2::jsonb)
