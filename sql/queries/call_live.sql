SELECT vb_call_state(k) FROM calls k WHERE k.conversation_id = $1::bigint AND k.state IN ('requested', 'active')
