SELECT vb_recording_add($1::bigint, $2::bigint, $3::bigint, $4, $5, $6, $7::timestamptz, $8::bigint, $9::bigint, $10)
