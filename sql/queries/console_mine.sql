SELECT vb_console_mine()
