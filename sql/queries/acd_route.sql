SELECT conversation_id, user_id, expires_at FROM vb_acd_route()
