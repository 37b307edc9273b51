SELECT vb_site_routing($1::bigint)
