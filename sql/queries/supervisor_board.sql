SELECT vb_supervisor_board()
