SELECT vb_queue_delete($1::bigint)
