SELECT vb_site_save($1::bigint, $2, $3::text[], NULL)
