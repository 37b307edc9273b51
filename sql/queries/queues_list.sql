SELECT vb_queues_list()
