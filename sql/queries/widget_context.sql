SELECT vb_widget_context(decode($1, 'hex'), $2::bigint, $3::jsonb)
