SELECT vb_audit($1, 'user', vb_actor()::text, NULL, NULL)
