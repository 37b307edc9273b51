SELECT vb_skill_save($1::bigint, $2)
