SELECT vb_site_delete($1::bigint)
