SELECT vb_me($1)
