SELECT vb_queue_recording_save($1::bigint, $2::jsonb)
