SELECT vb_widget_session_open($1::bigint, $2, decode($3, 'hex'), $4::uuid, $5::jsonb, $6::jsonb)
