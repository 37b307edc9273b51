SELECT vb_offline_leave($1::bigint, $2::bigint, $3, $4, $5, $6, $7::bigint)
