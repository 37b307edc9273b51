SELECT vb_audit_list($1::bigint, $2, $3, $4::timestamptz, $5::timestamptz, $6::bigint, coalesce($7::int, 50))
