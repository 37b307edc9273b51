SELECT vb_codelist('notready_reasons')
