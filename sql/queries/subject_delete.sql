SELECT vb_subject_delete($1::bigint)
