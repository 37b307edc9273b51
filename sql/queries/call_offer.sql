SELECT vb_call_offer($1, $2::bigint, $3::bigint)
