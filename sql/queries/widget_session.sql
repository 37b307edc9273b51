SELECT vb_widget_session($1, $2, decode($3, 'hex'), $4::uuid)
