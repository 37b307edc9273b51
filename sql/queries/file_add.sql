SELECT message, queued FROM vb_file_add($1::bigint, $2, $3::bigint, $4, $5, $6::bigint, $7)
