SELECT o_kind, o_frame FROM vb_conversation_end($1::bigint)
