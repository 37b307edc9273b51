SELECT vb_site_token_secret($1::bigint, decode($2, 'hex'))
