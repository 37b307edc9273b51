SELECT room FROM vb_call_rooms_stale($1::text[])
