SELECT jsonb_build_object('type', 'read', 'conversation_id', c.id, 'seq', c.staff_read_seq, 'by', 'staff') FROM conversations c WHERE c.id = $1::bigint AND c.staff_read_seq > 0
