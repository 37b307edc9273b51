SELECT vb_canned_list()
