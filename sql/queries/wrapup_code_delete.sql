SELECT vb_codelist_delete('wrapup_codes', $1::bigint)
