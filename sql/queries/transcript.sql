SELECT vb_transcript($1::bigint, $2, $3::bigint)
