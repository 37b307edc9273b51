SELECT vb_acd_tick()
