SELECT vb_message_json(m) FROM messages m WHERE m.conversation_id = $1::bigint AND m.seq > $2::bigint ORDER BY m.seq LIMIT 500
