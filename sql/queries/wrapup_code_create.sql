SELECT vb_codelist_save('wrapup_codes', NULL, $1, $2::boolean, $3::int)
