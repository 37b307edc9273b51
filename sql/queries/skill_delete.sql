SELECT vb_skill_delete($1::bigint)
