SELECT vb_queue_save(NULL, $1::jsonb)
