SELECT vb_site_recording_save($1::bigint, $2::jsonb)
