SELECT vb_sessions_sweep($1::interval)
