SELECT vb_file_get($1::bigint, $2, $3::bigint)
