SELECT vb_console_recording_policy($1::bigint)
