SELECT vb_site_default_queue($1::bigint, $2::bigint)
