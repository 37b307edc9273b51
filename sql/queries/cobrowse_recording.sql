SELECT seq, data FROM vb_cobrowse_recording($1::bigint)
