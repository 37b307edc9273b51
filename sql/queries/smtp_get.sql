SELECT vb_smtp_json()
