SELECT vb_smtp_save($1, $2::int, $3::boolean, $4, decode($5, 'hex'), $6)
