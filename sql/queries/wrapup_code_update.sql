SELECT vb_codelist_save('wrapup_codes', $1::bigint, $2, $3::boolean, $4::int)
