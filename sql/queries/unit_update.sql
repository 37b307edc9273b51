SELECT vb_unit_update($1::bigint, $2, $3::bigint, $4::bigint)
