SELECT vb_console_conversation($1::bigint)
