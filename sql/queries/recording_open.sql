SELECT vb_recording_open($1::bigint, $2)
