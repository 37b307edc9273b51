SELECT vb_cobrowse_live_ok($1::bigint)
