SELECT vb_cobrowse_sweep()
