SELECT vb_console_dm($1::bigint)
