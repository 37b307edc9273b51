SELECT vb_site_frame_origins($1)
