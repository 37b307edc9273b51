SELECT vb_recordings_filters()
