SELECT vb_canned_save($1::bigint, $2, $3, $4, $5::boolean)
