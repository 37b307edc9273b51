SELECT vb_skill_save(NULL, $1)
