SELECT vb_recordings_search($1, $2::bigint, $3::bigint, $4::timestamptz, $5::timestamptz, $6, $7::int)
