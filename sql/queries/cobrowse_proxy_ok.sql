SELECT vb_cobrowse_proxy_ok($1::bigint, $2)
