SELECT vb_console_transcript($1::bigint)
