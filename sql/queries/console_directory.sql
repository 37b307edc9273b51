SELECT vb_console_directory($1)
