SELECT vb_console_queues()
