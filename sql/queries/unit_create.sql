SELECT vb_unit_create($1, $2::bigint, $3::bigint)
