SELECT vb_followup_done($1::bigint)
