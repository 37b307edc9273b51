SELECT vb_codelist('wrapup_codes')
