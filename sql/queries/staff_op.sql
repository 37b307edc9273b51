SELECT target, id, frame FROM vb_staff_op($1, $2::jsonb)
