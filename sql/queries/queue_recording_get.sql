SELECT vb_queue_recording_get($1::bigint)
