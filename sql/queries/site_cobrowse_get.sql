SELECT vb_site_cobrowse_get($1::bigint)
