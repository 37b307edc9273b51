SELECT target, id, frame FROM vb_customer_end($1::bigint, $2::bigint)
