SELECT vb_codelist_delete('notready_reasons', $1::bigint)
