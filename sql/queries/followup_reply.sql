SELECT vb_followup_reply($1::bigint)
