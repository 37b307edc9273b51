SELECT tenant_id, customer_id FROM vb_widget_call_customer(decode($1, 'hex'))
