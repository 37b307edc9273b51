SELECT vb_file_upload_check($1::bigint, $2, $3::bigint)
