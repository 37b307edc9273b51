SELECT vb_followup_email_sent($1::bigint, $2, $3, $4)
