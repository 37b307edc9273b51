SELECT vb_acd_set_state($1, $2)
