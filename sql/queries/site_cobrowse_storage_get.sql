SELECT vb_site_cobrowse_storage_get($1::bigint)
