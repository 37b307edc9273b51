SELECT routing = 'queued' FROM conversations WHERE id = $1::bigint
