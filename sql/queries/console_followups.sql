SELECT vb_console_followups()
