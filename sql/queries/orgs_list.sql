SELECT vb_orgs_list()
