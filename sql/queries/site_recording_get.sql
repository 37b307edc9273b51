SELECT vb_site_recording_get($1::bigint)
