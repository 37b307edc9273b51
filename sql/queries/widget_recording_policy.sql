SELECT vb_widget_recording_policy(decode($1, 'hex'), $2::bigint)
