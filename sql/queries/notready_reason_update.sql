SELECT vb_codelist_save('notready_reasons', $1::bigint, $2, $3::boolean, $4::int)
