SELECT vb_skills_list()
