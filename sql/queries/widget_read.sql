SELECT vb_widget_read(decode($1, 'hex'), $2::bigint, $3::bigint)
