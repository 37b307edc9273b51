SELECT vb_widget_otp_check($1::bigint, $2, decode($3, 'hex'))
