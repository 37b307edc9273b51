SELECT vb_codelist_save('notready_reasons', NULL, $1, $2::boolean, $3::int)
