SELECT tenant_id, site_id, customer_id FROM vb_widget_session_get(decode($1, 'hex'))
