SELECT vb_subject_save(NULL, $1::bigint, $2, $3::bigint, $4::boolean)
