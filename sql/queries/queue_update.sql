SELECT vb_queue_save($1::bigint, $2::jsonb)
