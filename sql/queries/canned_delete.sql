SELECT vb_canned_delete($1::bigint)
