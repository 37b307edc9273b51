SELECT vb_sites_list()
