SELECT encode(vb_server_secret($1, decode($2, 'hex')), 'hex')
