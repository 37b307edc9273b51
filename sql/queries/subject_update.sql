SELECT vb_subject_save($1::bigint, NULL, $2, $3::bigint, $4::boolean)
