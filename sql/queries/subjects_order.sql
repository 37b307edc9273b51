SELECT vb_subjects_order($1::bigint, $2::bigint[])
