SELECT vb_site_appearance_save($1::bigint, $2::jsonb)
