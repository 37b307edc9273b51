SELECT vb_conversation_finish($1::bigint)
