SELECT vb_note_json(n) FROM staff_notes n WHERE n.conversation_id = $1::bigint AND n.id > $2::bigint ORDER BY n.id LIMIT 500
