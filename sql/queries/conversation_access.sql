SELECT vb_conversation_access($1::bigint, $2, $3::bigint)
