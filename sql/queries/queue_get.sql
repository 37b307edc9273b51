SELECT vb_queue_json($1::bigint)
