-- Functions the API calls. Each administrative mutation is one function call:
-- it validates, changes the rows and writes the audit entry in the same
-- transaction. They run as the caller (vb_app), so row-level security applies;
-- only the few entry points that must work before a tenant is known (login,
-- session lookup, organisation creation) are SECURITY DEFINER.

CREATE FUNCTION vb_audit(p_action text, p_type text, p_id text, p_before jsonb, p_after jsonb,
    p_tenant bigint DEFAULT NULL) RETURNS void LANGUAGE sql AS $$
	INSERT INTO audit_log (tenant_id, actor_id, action, object_type, object_id, before, after,
	    address, request_id)
	VALUES (coalesce(p_tenant, vb_tenant()), vb_actor(), p_action, p_type, p_id, p_before, p_after,
	    current_setting('vb.addr', true), current_setting('vb.request_id', true));
$$;

CREATE FUNCTION vb_perms_of(p_user bigint) RETURNS text[] LANGUAGE sql STABLE AS $$
	SELECT coalesce(array_agg(DISTINCT rp.permission ORDER BY rp.permission), '{}')
	FROM user_roles ur JOIN role_permissions rp ON rp.role_id = ur.role_id
	WHERE ur.user_id = p_user;
$$;

-- A user may only hand out permissions they hold themselves.
CREATE FUNCTION vb_check_grant(p_perms text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE missing text;
BEGIN
	SELECT string_agg(p, ', ') INTO missing
	FROM unnest(p_perms) p WHERE p <> ALL (vb_perms_of(vb_actor()));
	IF missing IS NOT NULL THEN
		PERFORM vb_fail(403, 'forbidden', 'You cannot grant permissions you do not hold: ' || missing);
	END IF;
END $$;

CREATE FUNCTION vb_user_json(p_id bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', u.id, 'email', u.email, 'name', u.name, 'status', u.status,
	    'totp_enabled', u.totp_secret IS NOT NULL, 'must_change_password', u.must_change_password,
	    'last_login_at', u.last_login_at, 'created_at', u.created_at,
	    'roles', coalesce((SELECT jsonb_agg(jsonb_build_object('id', r.id, 'name', r.name) ORDER BY r.name)
		FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id), '[]'),
	    'units', coalesce((SELECT jsonb_agg(jsonb_build_object('id', n.id, 'name', n.name) ORDER BY n.name)
		FROM user_units uu JOIN units n ON n.id = uu.unit_id WHERE uu.user_id = u.id), '[]'),
	    'skills', coalesce((SELECT jsonb_agg(jsonb_build_object('id', s.id, 'name', s.name, 'level', us.level) ORDER BY s.name)
		FROM user_skills us JOIN skills s ON s.id = us.skill_id WHERE us.user_id = u.id), '[]'))
	FROM users u WHERE u.id = p_id;
$$;

-- Replaces a user's roles, units and skills. Ids of another tenant are not
-- visible here, so they fail as unknown.
CREATE FUNCTION vb_user_links(p_user bigint, p_roles bigint[], p_units bigint[], p_skills jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
	SELECT count(*) INTO n FROM roles WHERE id = ANY (p_roles);
	IF n <> cardinality(ARRAY(SELECT DISTINCT unnest(p_roles))) THEN
		PERFORM vb_fail(422, 'invalid', 'Unknown role');
	END IF;
	SELECT count(*) INTO n FROM units WHERE id = ANY (p_units);
	IF n <> cardinality(ARRAY(SELECT DISTINCT unnest(p_units))) THEN
		PERFORM vb_fail(422, 'invalid', 'Unknown unit');
	END IF;
	PERFORM vb_check_grant(ARRAY(SELECT DISTINCT permission FROM role_permissions
	    WHERE role_id = ANY (p_roles)));
	DELETE FROM user_roles WHERE user_id = p_user;
	INSERT INTO user_roles (user_id, role_id) SELECT DISTINCT p_user, unnest(p_roles);
	DELETE FROM user_units WHERE user_id = p_user;
	INSERT INTO user_units (user_id, unit_id) SELECT DISTINCT p_user, unnest(p_units);
	DELETE FROM user_skills WHERE user_id = p_user;
	BEGIN
		INSERT INTO user_skills (user_id, skill_id, level)
		SELECT p_user, s.id, (e->>'level')::smallint
		FROM jsonb_array_elements(p_skills) e JOIN skills s ON s.id = (e->>'skill_id')::bigint;
	EXCEPTION
		WHEN unique_violation THEN PERFORM vb_fail(422, 'invalid', 'A skill is listed twice');
		WHEN check_violation THEN PERFORM vb_fail(422, 'invalid', 'Skill levels run from 1 to 5');
	END;
	SELECT count(*) INTO n FROM user_skills WHERE user_id = p_user;
	IF n <> jsonb_array_length(p_skills) THEN
		PERFORM vb_fail(422, 'invalid', 'Unknown skill');
	END IF;
END $$;

CREATE FUNCTION vb_user_create(p_email text, p_name text, p_hash text, p_roles bigint[],
    p_units bigint[], p_skills jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE uid bigint; after jsonb;
BEGIN
	BEGIN
		INSERT INTO users (email, name, password_hash) VALUES (p_email, p_name, p_hash)
		RETURNING id INTO uid;
	EXCEPTION WHEN unique_violation THEN
		PERFORM vb_fail(409, 'conflict', 'A user with this e-mail address already exists');
	END;
	PERFORM vb_user_links(uid, p_roles, p_units, p_skills);
	after := vb_user_json(uid);
	PERFORM vb_audit('user.create', 'user', uid::text, NULL, after);
	RETURN after;
END $$;

CREATE FUNCTION vb_user_get(p_id bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE j jsonb;
BEGIN
	j := vb_user_json(p_id);
	IF j IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such user'); END IF;
	RETURN j;
END $$;

CREATE FUNCTION vb_user_update(p_id bigint, p_name text, p_roles bigint[], p_units bigint[],
    p_skills jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb; after jsonb;
BEGIN
	before := vb_user_get(p_id);
	UPDATE users SET name = p_name, updated_at = now() WHERE id = p_id;
	PERFORM vb_user_links(p_id, p_roles, p_units, p_skills);
	after := vb_user_json(p_id);
	PERFORM vb_audit('user.update', 'user', p_id::text, before, after);
	RETURN after;
END $$;

CREATE FUNCTION vb_user_set_status(p_id bigint, p_status text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE before jsonb; after jsonb;
BEGIN
	before := vb_user_get(p_id);
	IF p_id = vb_actor() AND p_status = 'disabled' THEN
		PERFORM vb_fail(409, 'conflict', 'You cannot disable your own account');
	END IF;
	UPDATE users SET status = p_status, updated_at = now() WHERE id = p_id;
	IF p_status = 'disabled' THEN DELETE FROM sessions WHERE user_id = p_id; END IF;
	after := vb_user_json(p_id);
	PERFORM vb_audit(CASE p_status WHEN 'disabled' THEN 'user.disable' ELSE 'user.enable' END,
	    'user', p_id::text, before, after);
	RETURN after;
END $$;

CREATE FUNCTION vb_user_reset_password(p_id bigint, p_hash text) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM vb_user_get(p_id);
	UPDATE users SET password_hash = p_hash, must_change_password = true, updated_at = now()
	WHERE id = p_id;
	DELETE FROM sessions WHERE user_id = p_id;
	PERFORM vb_audit('user.reset_password', 'user', p_id::text, NULL, NULL);
	RETURN '{}';
END $$;

CREATE FUNCTION vb_users_list(p_q text, p_status text) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('users', coalesce(jsonb_agg(vb_user_json(u.id) ORDER BY u.name, u.id), '[]'))
	FROM users u
	WHERE (p_q IS NULL OR u.name ILIKE '%' || p_q || '%' OR u.email ILIKE '%' || p_q || '%')
	  AND (p_status IS NULL OR u.status = p_status);
$$;

-- Units ------------------------------------------------------------------
CREATE FUNCTION vb_unit_json(p_id bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', n.id, 'name', n.name, 'parent_id', n.parent_id,
	    'manager', (SELECT jsonb_build_object('id', u.id, 'name', u.name) FROM users u WHERE u.id = n.manager_id),
	    'member_count', (SELECT count(*) FROM user_units uu WHERE uu.unit_id = n.id))
	FROM units n WHERE n.id = p_id;
$$;

CREATE FUNCTION vb_units_list() RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('units', coalesce(jsonb_agg(vb_unit_json(id) ORDER BY name, id), '[]'))
	FROM units;
$$;

CREATE FUNCTION vb_unit_check(p_id bigint, p_parent bigint, p_manager bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF p_parent IS NOT NULL THEN
		IF NOT EXISTS (SELECT 1 FROM units WHERE id = p_parent) THEN
			PERFORM vb_fail(422, 'invalid', 'Unknown parent unit');
		END IF;
		IF p_id IS NOT NULL AND EXISTS (
		    WITH RECURSIVE up(id, parent_id) AS (
			SELECT id, parent_id FROM units WHERE id = p_parent
			UNION SELECT u.id, u.parent_id FROM units u JOIN up ON u.id = up.parent_id)
		    SELECT 1 FROM up WHERE id = p_id) THEN
			PERFORM vb_fail(422, 'invalid', 'A unit cannot be placed below itself');
		END IF;
	END IF;
	IF p_manager IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users WHERE id = p_manager) THEN
		PERFORM vb_fail(422, 'invalid', 'Unknown manager');
	END IF;
END $$;

CREATE FUNCTION vb_unit_create(p_name text, p_parent bigint, p_manager bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE nid bigint; after jsonb;
BEGIN
	PERFORM vb_unit_check(NULL, p_parent, p_manager);
	INSERT INTO units (name, parent_id, manager_id) VALUES (p_name, p_parent, p_manager)
	RETURNING id INTO nid;
	after := vb_unit_json(nid);
	PERFORM vb_audit('unit.create', 'unit', nid::text, NULL, after);
	RETURN after;
END $$;

CREATE FUNCTION vb_unit_update(p_id bigint, p_name text, p_parent bigint, p_manager bigint)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb; after jsonb;
BEGIN
	before := vb_unit_json(p_id);
	IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such unit'); END IF;
	PERFORM vb_unit_check(p_id, p_parent, p_manager);
	UPDATE units SET name = p_name, parent_id = p_parent, manager_id = p_manager WHERE id = p_id;
	after := vb_unit_json(p_id);
	PERFORM vb_audit('unit.update', 'unit', p_id::text, before, after);
	RETURN after;
END $$;

CREATE FUNCTION vb_unit_delete(p_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb;
BEGIN
	before := vb_unit_json(p_id);
	IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such unit'); END IF;
	IF EXISTS (SELECT 1 FROM units WHERE parent_id = p_id) THEN
		PERFORM vb_fail(409, 'conflict', 'Move or delete the sub-units first');
	END IF;
	DELETE FROM units WHERE id = p_id;
	PERFORM vb_audit('unit.delete', 'unit', p_id::text, before, NULL);
	RETURN '{}';
END $$;

-- Roles ------------------------------------------------------------------
CREATE FUNCTION vb_role_json(p_id bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', r.id, 'name', r.name, 'builtin', r.builtin,
	    'permissions', coalesce((SELECT jsonb_agg(rp.permission ORDER BY rp.permission)
		FROM role_permissions rp WHERE rp.role_id = r.id), '[]'),
	    'user_count', (SELECT count(*) FROM user_roles ur WHERE ur.role_id = r.id))
	FROM roles r WHERE r.id = p_id;
$$;

CREATE FUNCTION vb_roles_list() RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'roles', (SELECT coalesce(jsonb_agg(vb_role_json(id) ORDER BY builtin IS NULL, id), '[]') FROM roles),
	    'permissions', (SELECT jsonb_agg(jsonb_build_object('code', code, 'area', area) ORDER BY sort)
		FROM permissions p
		WHERE NOT p.platform_only OR (SELECT is_platform FROM organisations WHERE id = vb_tenant())));
$$;

CREATE FUNCTION vb_role_perms(p_role bigint, p_perms text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM unnest(p_perms) x LEFT JOIN permissions p ON p.code = x
	    WHERE p.code IS NULL OR (p.platform_only AND NOT (SELECT is_platform FROM organisations WHERE id = vb_tenant()))) THEN
		PERFORM vb_fail(422, 'invalid', 'Unknown permission');
	END IF;
	PERFORM vb_check_grant(p_perms);
	DELETE FROM role_permissions WHERE role_id = p_role;
	INSERT INTO role_permissions (role_id, permission) SELECT DISTINCT p_role, unnest(p_perms);
END $$;

CREATE FUNCTION vb_role_create(p_name text, p_perms text[]) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE rid bigint; after jsonb;
BEGIN
	BEGIN
		INSERT INTO roles (name) VALUES (p_name) RETURNING id INTO rid;
	EXCEPTION WHEN unique_violation THEN
		PERFORM vb_fail(409, 'conflict', 'A role with this name already exists');
	END;
	PERFORM vb_role_perms(rid, p_perms);
	after := vb_role_json(rid);
	PERFORM vb_audit('role.create', 'role', rid::text, NULL, after);
	RETURN after;
END $$;

CREATE FUNCTION vb_role_update(p_id bigint, p_name text, p_perms text[]) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE before jsonb; after jsonb;
BEGIN
	before := vb_role_json(p_id);
	IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such role'); END IF;
	IF before->>'builtin' = 'administrator' THEN
		PERFORM vb_fail(409, 'conflict', 'The administrator role cannot be changed');
	END IF;
	BEGIN
		UPDATE roles SET name = p_name WHERE id = p_id;
	EXCEPTION WHEN unique_violation THEN
		PERFORM vb_fail(409, 'conflict', 'A role with this name already exists');
	END;
	PERFORM vb_role_perms(p_id, p_perms);
	after := vb_role_json(p_id);
	PERFORM vb_audit('role.update', 'role', p_id::text, before, after);
	RETURN after;
END $$;

CREATE FUNCTION vb_role_delete(p_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb;
BEGIN
	before := vb_role_json(p_id);
	IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such role'); END IF;
	IF before->>'builtin' IS NOT NULL THEN
		PERFORM vb_fail(409, 'conflict', 'Built-in roles cannot be deleted');
	END IF;
	IF (before->>'user_count')::int > 0 THEN
		PERFORM vb_fail(409, 'conflict', 'The role is still assigned to users');
	END IF;
	DELETE FROM roles WHERE id = p_id;
	PERFORM vb_audit('role.delete', 'role', p_id::text, before, NULL);
	RETURN '{}';
END $$;

-- Skills -----------------------------------------------------------------
CREATE FUNCTION vb_skill_json(p_id bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', s.id, 'name', s.name,
	    'user_count', (SELECT count(*) FROM user_skills us WHERE us.skill_id = s.id))
	FROM skills s WHERE s.id = p_id;
$$;

CREATE FUNCTION vb_skills_list() RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('skills', coalesce(jsonb_agg(vb_skill_json(id) ORDER BY lower(name)), '[]'))
	FROM skills;
$$;

CREATE FUNCTION vb_skill_save(p_id bigint, p_name text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb; sid bigint := p_id; after jsonb;
BEGIN
	IF p_id IS NOT NULL THEN
		before := vb_skill_json(p_id);
		IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such skill'); END IF;
	END IF;
	BEGIN
		IF p_id IS NULL THEN
			INSERT INTO skills (name) VALUES (p_name) RETURNING id INTO sid;
		ELSE
			UPDATE skills SET name = p_name WHERE id = p_id;
		END IF;
	EXCEPTION WHEN unique_violation THEN
		PERFORM vb_fail(409, 'conflict', 'A skill with this name already exists');
	END;
	after := vb_skill_json(sid);
	PERFORM vb_audit(CASE WHEN p_id IS NULL THEN 'skill.create' ELSE 'skill.update' END,
	    'skill', sid::text, before, after);
	RETURN after;
END $$;

CREATE FUNCTION vb_skill_delete(p_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb;
BEGIN
	before := vb_skill_json(p_id);
	IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such skill'); END IF;
	DELETE FROM skills WHERE id = p_id;
	PERFORM vb_audit('skill.delete', 'skill', p_id::text, before, NULL);
	RETURN '{}';
END $$;

-- Widget sites -----------------------------------------------------------
CREATE FUNCTION vb_site_json(p_id bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', id, 'name', name, 'site_key', site_key,
	    'allowed_origins', to_jsonb(allowed_origins), 'created_at', created_at)
	FROM sites WHERE id = p_id;
$$;

CREATE FUNCTION vb_sites_list() RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('sites', coalesce(jsonb_agg(vb_site_json(id) ORDER BY lower(name), id), '[]'))
	FROM sites;
$$;

CREATE FUNCTION vb_site_save(p_id bigint, p_name text, p_origins text[], p_key text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb; sid bigint := p_id; after jsonb;
BEGIN
	IF p_id IS NULL THEN
		INSERT INTO sites (name, allowed_origins, site_key) VALUES (p_name, p_origins, p_key)
		RETURNING id INTO sid;
	ELSE
		before := vb_site_json(p_id);
		IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such site'); END IF;
		UPDATE sites SET name = coalesce(p_name, name), allowed_origins = coalesce(p_origins, allowed_origins),
		    site_key = coalesce(p_key, site_key), updated_at = now() WHERE id = p_id;
	END IF;
	after := vb_site_json(sid);
	PERFORM vb_audit(CASE WHEN p_id IS NULL THEN 'site.create' WHEN p_key IS NOT NULL THEN 'site.rotate_key'
	    ELSE 'site.update' END, 'site', sid::text, before, after);
	RETURN after;
END $$;

CREATE FUNCTION vb_site_delete(p_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb;
BEGIN
	before := vb_site_json(p_id);
	IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such site'); END IF;
	DELETE FROM sites WHERE id = p_id;
	PERFORM vb_audit('site.delete', 'site', p_id::text, before, NULL);
	RETURN '{}';
END $$;

-- Audit log --------------------------------------------------------------
CREATE FUNCTION vb_audit_list(p_actor bigint, p_action text, p_type text, p_from timestamptz,
    p_to timestamptz, p_before bigint, p_limit int) RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH page AS (
		SELECT a.* FROM audit_log a
		WHERE (p_actor IS NULL OR a.actor_id = p_actor)
		  AND (p_action IS NULL OR a.action ILIKE '%' || p_action || '%')
		  AND (p_type IS NULL OR a.object_type = p_type)
		  AND (p_from IS NULL OR a.at >= p_from)
		  AND (p_to IS NULL OR a.at < p_to)
		  AND (p_before IS NULL OR a.id < p_before)
		ORDER BY a.id DESC LIMIT p_limit)
	SELECT jsonb_build_object(
	    'entries', coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'at', p.at,
		'actor', (SELECT jsonb_build_object('id', u.id, 'name', u.name, 'email', u.email)
		    FROM users u WHERE u.id = p.actor_id),
		'action', p.action, 'object_type', p.object_type, 'object_id', p.object_id,
		'before', p.before, 'after', p.after, 'address', p.address, 'request_id', p.request_id)
		ORDER BY p.id DESC), '[]'),
	    'next_before_id', CASE WHEN count(*) = p_limit THEN min(p.id) END)
	FROM page p;
$$;

-- Sign-in entry points (SECURITY DEFINER: no tenant is known yet) -----------
CREATE FUNCTION vb_login_lookup(p_email text) RETURNS TABLE (user_id bigint, tenant_id bigint,
    password_hash text, status text, totp boolean, must_change boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
	SELECT id, tenant_id, password_hash, status, totp_secret IS NOT NULL, must_change_password
	FROM users WHERE lower(email) = lower(p_email);
$$;

CREATE FUNCTION vb_login_failed(p_email text, p_reason text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE u record;
BEGIN
	SELECT id, tenant_id INTO u FROM users WHERE lower(email) = lower(p_email);
	IF FOUND THEN
		INSERT INTO audit_log (tenant_id, actor_id, action, object_type, object_id, after, address, request_id)
		VALUES (u.tenant_id, u.id, 'auth.login_failed', 'user', u.id::text,
		    jsonb_build_object('reason', p_reason), current_setting('vb.addr', true),
		    current_setting('vb.request_id', true));
	END IF;
END $$;

CREATE FUNCTION vb_session_create(p_user bigint, p_hash bytea, p_csrf text, p_mfa_ok boolean,
    p_ua text, p_ttl interval) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE t bigint;
BEGIN
	SELECT tenant_id INTO t FROM users WHERE id = p_user AND status = 'active';
	IF NOT FOUND THEN PERFORM vb_fail(403, 'account_disabled', 'This account is disabled'); END IF;
	INSERT INTO sessions (id_hash, tenant_id, user_id, csrf, mfa_ok, address, user_agent, expires_at)
	VALUES (p_hash, t, p_user, p_csrf, p_mfa_ok, current_setting('vb.addr', true), p_ua, now() + p_ttl);
	IF p_mfa_ok THEN
		UPDATE users SET last_login_at = now() WHERE id = p_user;
	END IF;
	INSERT INTO audit_log (tenant_id, actor_id, action, object_type, object_id, address, request_id)
	VALUES (t, p_user, CASE WHEN p_mfa_ok THEN 'auth.login' ELSE 'auth.password_ok' END, 'user',
	    p_user::text, current_setting('vb.addr', true), current_setting('vb.request_id', true));
END $$;

-- Looks a session up by the hash of its id, enforcing idle and absolute
-- expiry; touches last_seen_at at most once a minute.
CREATE FUNCTION vb_session_get(p_hash bytea, p_idle interval) RETURNS TABLE (user_id bigint,
    tenant_id bigint, csrf text, mfa_ok boolean, must_change boolean, perms text[], totp_secret bytea)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE s sessions;
BEGIN
	SELECT * INTO s FROM sessions WHERE id_hash = p_hash;
	IF NOT FOUND THEN RETURN; END IF;
	IF s.expires_at < now() OR s.last_seen_at < now() - p_idle THEN
		DELETE FROM sessions WHERE id_hash = p_hash;
		RETURN;
	END IF;
	IF s.last_seen_at < now() - interval '60 seconds' THEN
		UPDATE sessions SET last_seen_at = now() WHERE id_hash = p_hash;
	END IF;
	RETURN QUERY SELECT u.id, u.tenant_id, s.csrf, s.mfa_ok, u.must_change_password,
	    (SELECT coalesce(array_agg(DISTINCT rp.permission), '{}') FROM user_roles ur
		JOIN role_permissions rp ON rp.role_id = ur.role_id WHERE ur.user_id = u.id),
	    u.totp_secret
	FROM users u WHERE u.id = s.user_id AND u.status = 'active';
END $$;

-- Organisations ------------------------------------------------------------
-- Creates an organisation with its built-in roles and first administrator.
-- Called by a platform operator (checked here, as it crosses tenants) or by
-- vbctl with no actor at all.
CREATE FUNCTION vb_org_create(p_name text, p_slug text, p_admin_email text, p_admin_name text,
    p_hash text, p_is_platform boolean DEFAULT false) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE oid bigint; rid bigint; uid bigint; caller_tenant bigint := vb_tenant(); org jsonb;
BEGIN
	IF vb_actor() IS NOT NULL AND NOT EXISTS (
	    SELECT 1 FROM organisations o WHERE o.id = caller_tenant AND o.is_platform)
	    OR vb_actor() IS NOT NULL AND NOT ('platform.orgs' = ANY (vb_perms_of(vb_actor()))) THEN
		PERFORM vb_fail(403, 'forbidden', 'Only platform operators create organisations');
	END IF;
	BEGIN
		INSERT INTO organisations (name, slug, is_platform) VALUES (p_name, p_slug, p_is_platform)
		RETURNING id INTO oid;
	EXCEPTION
		WHEN unique_violation THEN PERFORM vb_fail(409, 'conflict', 'This short name is taken');
		WHEN check_violation THEN PERFORM vb_fail(422, 'invalid',
		    'The short name uses 2–63 lower-case letters, digits and hyphens');
	END;
	INSERT INTO roles (tenant_id, name, builtin) VALUES (oid, 'Administrator', 'administrator')
	RETURNING id INTO rid;
	INSERT INTO role_permissions (tenant_id, role_id, permission)
	SELECT oid, rid, code FROM permissions WHERE NOT platform_only OR p_is_platform;
	INSERT INTO roles (tenant_id, name, builtin) VALUES (oid, 'Supervisor', 'supervisor');
	INSERT INTO role_permissions (tenant_id, role_id, permission)
	SELECT oid, currval('roles_id_seq'), unnest(ARRAY['users.read', 'units.read', 'audit.read',
	    'console.agent', 'console.supervisor']);
	INSERT INTO roles (tenant_id, name, builtin) VALUES (oid, 'Agent', 'agent');
	INSERT INTO role_permissions (tenant_id, role_id, permission)
	VALUES (oid, currval('roles_id_seq'), 'console.agent');
	BEGIN
		INSERT INTO users (tenant_id, email, name, password_hash) VALUES (oid, p_admin_email, p_admin_name, p_hash)
		RETURNING id INTO uid;
	EXCEPTION WHEN unique_violation THEN
		PERFORM vb_fail(409, 'conflict', 'A user with this e-mail address already exists');
	END;
	INSERT INTO user_roles (tenant_id, user_id, role_id) VALUES (oid, uid, rid);
	org := jsonb_build_object('id', oid, 'name', p_name, 'slug', p_slug, 'created_at', now(), 'user_count', 1);
	PERFORM vb_audit('organisation.create', 'organisation', oid::text, NULL, org, oid);
	IF caller_tenant IS NOT NULL THEN
		PERFORM vb_audit('organisation.create', 'organisation', oid::text, NULL, org, caller_tenant);
	END IF;
	RETURN org;
END $$;

CREATE FUNCTION vb_orgs_list() RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM organisations WHERE id = vb_tenant() AND is_platform)
	    OR NOT ('platform.orgs' = ANY (vb_perms_of(vb_actor()))) THEN
		PERFORM vb_fail(403, 'forbidden', 'Only platform operators list organisations');
	END IF;
	RETURN (SELECT jsonb_build_object('orgs', coalesce(jsonb_agg(jsonb_build_object('id', o.id,
	    'name', o.name, 'slug', o.slug, 'created_at', o.created_at,
	    'user_count', (SELECT count(*) FROM users u WHERE u.tenant_id = o.id)) ORDER BY o.id), '[]'))
	FROM organisations o);
END $$;

-- Current user -------------------------------------------------------------
CREATE FUNCTION vb_me(p_csrf text) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT vb_user_json(vb_actor()) || jsonb_build_object('csrf_token', p_csrf,
	    'permissions', to_jsonb(vb_perms_of(vb_actor())),
	    'tenant', (SELECT jsonb_build_object('id', id, 'name', name, 'slug', slug, 'is_platform', is_platform)
		FROM organisations WHERE id = vb_tenant()));
$$;

CREATE FUNCTION vb_password_set(p_hash text) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	UPDATE users SET password_hash = p_hash, must_change_password = false, updated_at = now()
	WHERE id = vb_actor();
	PERFORM vb_audit('user.change_password', 'user', vb_actor()::text, NULL, NULL);
	RETURN '{}';
END $$;

CREATE FUNCTION vb_totp_set(p_pending bytea, p_secret bytea, p_enable boolean) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
	IF p_enable IS NULL THEN
		UPDATE users SET totp_pending = p_pending WHERE id = vb_actor();
	ELSIF p_enable THEN
		UPDATE users SET totp_secret = p_secret, totp_pending = NULL WHERE id = vb_actor();
		PERFORM vb_audit('user.totp_enable', 'user', vb_actor()::text, NULL, NULL);
	ELSE
		UPDATE users SET totp_secret = NULL, totp_pending = NULL WHERE id = vb_actor();
		PERFORM vb_audit('user.totp_disable', 'user', vb_actor()::text, NULL, NULL);
	END IF;
	RETURN '{}';
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;
