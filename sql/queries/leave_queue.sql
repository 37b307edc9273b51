SELECT target, id, frame FROM vb_customer_leave_queue($1::bigint, $2::bigint)
