SELECT vb_site_cobrowse_save($1::bigint, $2::boolean, $3, $4, $5::boolean, $6::bigint)
