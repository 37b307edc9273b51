SELECT vb_unit_delete($1::bigint)
