SELECT vb_units_list()
