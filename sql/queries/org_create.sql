SELECT jsonb_build_object('org', vb_org_create($1, $2, $3, $4, $5), 'admin', jsonb_build_object('email', $3::text))
