SELECT vb_site_cobrowse_storage_save($1::bigint, $2::boolean, $3::int)
