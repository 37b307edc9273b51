SELECT vb_roles_list()
