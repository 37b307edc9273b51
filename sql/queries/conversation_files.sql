SELECT vb_conversation_files($1::bigint, $2, $3::bigint)
