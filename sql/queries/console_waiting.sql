SELECT vb_console_waiting()
