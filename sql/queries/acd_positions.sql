SELECT conversation_id, pos, wait_s FROM vb_acd_positions()
