SELECT vb_cobrowse_store($1::bigint, $2::bigint, $3::bytea, $4::int)
