SELECT vb_call_recording_file($1::bigint, $2, $3, $4, $5, $6::bigint, $7::bigint, $8::bigint, $9)
