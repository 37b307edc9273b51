SELECT vb_followup_email_prepare($1::bigint, $2)
