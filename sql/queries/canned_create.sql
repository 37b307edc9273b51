SELECT vb_canned_save(NULL, $1, $2, $3, $4::boolean)
