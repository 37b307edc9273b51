SELECT vb_widget_status(decode($1, 'hex'))
