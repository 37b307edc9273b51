-- Queue administration (A1–A6), business hours, subjects chosen by the
-- customer before writing (W4), and the lists the agent console uses
-- (wrap-up codes, not-ready reasons, canned replies).
--
-- Validation of the queue and subject forms happens here, field by field:
-- vb_fail_field raises with the field's name in the error's COLUMN, which
-- the application returns as "field" in its JSON error.

CREATE FUNCTION vb_fail_field(status int, code text, msg text, field text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION USING ERRCODE = 'V' || status::text || '0', MESSAGE = msg, HINT = code,
	    COLUMN = field;
END $$;

INSERT INTO permissions (code, area, platform_only, sort) VALUES
	('queues.read', 'queues', false, 45), ('queues.write', 'queues', false, 46);
-- Existing administrator roles (those that manage roles) get both; new
-- organisations' administrators get every permission (vb_org_create).
INSERT INTO role_permissions (tenant_id, role_id, permission)
SELECT DISTINCT rp.tenant_id, rp.role_id, p.code
FROM role_permissions rp CROSS JOIN (VALUES ('queues.read'), ('queues.write')) p(code)
WHERE rp.permission = 'roles.write'
ON CONFLICT DO NOTHING;

-- Business hours ------------------------------------------------------------
ALTER TABLE queues
	ADD COLUMN hours_enabled boolean NOT NULL DEFAULT false,
	ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64);

CREATE TABLE queue_hours (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	queue_id	bigint NOT NULL,
	weekday		smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),	-- ISO: 1 = Monday
	opens		time NOT NULL,
	closes		time NOT NULL CHECK (closes > opens),		-- '24:00' closes at midnight
	FOREIGN KEY (tenant_id, queue_id) REFERENCES queues(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX queue_hours_queue ON queue_hours (queue_id, weekday);

CREATE TABLE queue_closed_dates (
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	queue_id	bigint NOT NULL,
	day		date NOT NULL,
	name		text CHECK (length(name) <= 100),
	PRIMARY KEY (queue_id, day),
	FOREIGN KEY (tenant_id, queue_id) REFERENCES queues(tenant_id, id) ON DELETE CASCADE
);

-- Subjects (W4) ----------------------------------------------------------------
CREATE TABLE subjects (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant() REFERENCES organisations(id),
	site_id		bigint NOT NULL,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	queue_id	bigint NOT NULL,
	active		boolean NOT NULL DEFAULT true,
	sort		int NOT NULL DEFAULT 0,
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (tenant_id, id),
	FOREIGN KEY (tenant_id, site_id) REFERENCES sites(tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, queue_id) REFERENCES queues(tenant_id, id)
);
CREATE UNIQUE INDEX subjects_name ON subjects (site_id, lower(name));

ALTER TABLE conversations ADD COLUMN subject_id bigint,
	ADD FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects(tenant_id, id)
	    ON DELETE SET NULL (subject_id);

-- Lists for the agent console (C1, C9) --------------------------------------
CREATE TABLE wrapup_codes (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant() REFERENCES organisations(id),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	active		boolean NOT NULL DEFAULT true,
	sort		int NOT NULL DEFAULT 0 CHECK (sort BETWEEN -100000 AND 100000),
	UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX wrapup_codes_name ON wrapup_codes (tenant_id, lower(name));

CREATE TABLE notready_reasons (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant() REFERENCES organisations(id),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	active		boolean NOT NULL DEFAULT true,
	sort		int NOT NULL DEFAULT 0 CHECK (sort BETWEEN -100000 AND 100000),
	UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX notready_reasons_name ON notready_reasons (tenant_id, lower(name));

CREATE TABLE canned_replies (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant() REFERENCES organisations(id),
	title		text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
	shortcut	text CHECK (shortcut ~ '^[a-z0-9][a-z0-9_-]{0,49}$'),
	body		text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
	active		boolean NOT NULL DEFAULT true,
	UNIQUE (tenant_id, id),
	UNIQUE (tenant_id, shortcut)
);

DO $$
DECLARE t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['queue_hours', 'queue_closed_dates', 'subjects', 'wrapup_codes',
	    'notready_reasons', 'canned_replies']
	LOOP
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = vb_tenant()) '
		    'WITH CHECK (tenant_id = vb_tenant())', t);
		EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO vb_app', t);
	END LOOP;
END $$;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO vb_app;

-- Is the queue open at this moment? A queue without business hours is
-- always open; with them, it is open inside one of the weekday's intervals
-- in its own time zone, and closed on its closed dates.
CREATE FUNCTION vb_queue_open(p_queue bigint, p_at timestamptz) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE q queues; loc timestamp;
BEGIN
	SELECT * INTO q FROM queues WHERE id = p_queue;
	IF NOT FOUND THEN RETURN false; END IF;
	IF NOT q.hours_enabled THEN RETURN true; END IF;
	loc := p_at AT TIME ZONE q.time_zone;
	IF EXISTS (SELECT 1 FROM queue_closed_dates WHERE queue_id = p_queue AND day = loc::date) THEN
		RETURN false;
	END IF;
	RETURN EXISTS (SELECT 1 FROM queue_hours WHERE queue_id = p_queue
	    AND weekday = extract(isodow FROM loc) AND loc::time >= opens AND loc::time < closes);
END $$;

-- Queues --------------------------------------------------------------------
CREATE FUNCTION vb_queue_json(p_id bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT jsonb_build_object('id', q.id, 'name', q.name, 'strategy', q.strategy,
	    'priority', q.priority, 'capacity', q.capacity, 'offer_timeout_s', q.offer_timeout_s,
	    'wrapup_s', q.wrapup_s, 'preferred_s', q.preferred_s,
	    'overflow_queue_id', q.overflow_queue_id, 'overflow_after_s', q.overflow_after_s,
	    'overflow_waiting', q.overflow_waiting, 'relax_after_s', q.relax_after_s,
	    'skills', coalesce((SELECT jsonb_agg(jsonb_build_object('skill_id', s.id, 'name', s.name,
		'level', qs.min_level) ORDER BY lower(s.name))
		FROM queue_skills qs JOIN skills s ON s.id = qs.skill_id WHERE qs.queue_id = q.id), '[]'),
	    'hours', jsonb_build_object('enabled', q.hours_enabled, 'time_zone', q.time_zone,
		'weekly', coalesce((SELECT jsonb_agg(jsonb_build_object('weekday', h.weekday,
		    'opens', to_char(h.opens, 'HH24:MI'),
		    'closes', CASE WHEN h.closes = '24:00' THEN '24:00' ELSE to_char(h.closes, 'HH24:MI') END)
		    ORDER BY h.weekday, h.opens) FROM queue_hours h WHERE h.queue_id = q.id), '[]'),
		'closed_dates', coalesce((SELECT jsonb_agg(jsonb_build_object('date', d.day, 'name', d.name)
		    ORDER BY d.day) FROM queue_closed_dates d WHERE d.queue_id = q.id), '[]')),
	    'open_now', vb_queue_open(q.id, now()),
	    'waiting', (SELECT count(*) FROM conversations c WHERE c.queue_id = q.id AND c.routing = 'queued'),
	    'created_at', q.created_at)
	    FROM queues q WHERE q.id = p_id);
END $$;

CREATE FUNCTION vb_queues_list() RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('queues', coalesce((SELECT jsonb_agg(vb_queue_json(id)
	    ORDER BY lower(name), id) FROM queues), '[]'));
END $$;

-- An optional whole number in [lo, hi] from a JSON member, or a field error.
CREATE FUNCTION vb_json_int(p jsonb, k text, lo int, hi int, required boolean) RETURNS int
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE v jsonb := p -> k; n numeric;
BEGIN
	IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
		IF required THEN
			PERFORM vb_fail_field(422, 'invalid', k || ' is required', k);
		END IF;
		RETURN NULL;
	END IF;
	IF jsonb_typeof(v) <> 'number' THEN
		PERFORM vb_fail_field(422, 'invalid', k || ' must be a number', k);
	END IF;
	n := v::text::numeric;
	IF n <> trunc(n) OR n < lo OR n > hi THEN
		PERFORM vb_fail_field(422, 'invalid', format('%s must be a whole number from %s to %s', k, lo, hi), k);
	END IF;
	RETURN n::int;
END $$;

-- Weekly hours and closed dates of a queue from the form's "hours" object.
CREATE FUNCTION vb_queue_hours_save(p_queue bigint, h jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE e jsonb; o time; c time; n int := 0; tz text;
BEGIN
	IF h IS NULL OR jsonb_typeof(h) = 'null' THEN
		UPDATE queues SET hours_enabled = false WHERE id = p_queue;
		DELETE FROM queue_hours WHERE queue_id = p_queue;
		DELETE FROM queue_closed_dates WHERE queue_id = p_queue;
		RETURN;
	END IF;
	IF jsonb_typeof(h) <> 'object' THEN
		PERFORM vb_fail_field(422, 'invalid', 'hours must be an object', 'hours');
	END IF;
	IF jsonb_typeof(coalesce(h -> 'enabled', 'false')) <> 'boolean' THEN
		PERFORM vb_fail_field(422, 'invalid', 'hours.enabled must be true or false', 'hours.enabled');
	END IF;
	tz := coalesce(h ->> 'time_zone', 'UTC');
	IF jsonb_typeof(coalesce(h -> 'time_zone', '"UTC"')) <> 'string' OR length(tz) > 64
	    OR NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = tz) THEN
		PERFORM vb_fail_field(422, 'invalid', 'time_zone must be an IANA time zone such as Europe/Vienna',
		    'hours.time_zone');
	END IF;
	IF jsonb_typeof(coalesce(h -> 'weekly', '[]')) <> 'array'
	    OR jsonb_array_length(coalesce(h -> 'weekly', '[]')) > 70 THEN
		PERFORM vb_fail_field(422, 'invalid', 'weekly must be a list of at most 70 intervals', 'hours.weekly');
	END IF;
	IF jsonb_typeof(coalesce(h -> 'closed_dates', '[]')) <> 'array'
	    OR jsonb_array_length(coalesce(h -> 'closed_dates', '[]')) > 366 THEN
		PERFORM vb_fail_field(422, 'invalid', 'closed_dates must be a list of at most 366 dates',
		    'hours.closed_dates');
	END IF;
	UPDATE queues SET hours_enabled = (h ->> 'enabled')::boolean IS TRUE, time_zone = tz
	WHERE id = p_queue;
	DELETE FROM queue_hours WHERE queue_id = p_queue;
	FOR e IN SELECT * FROM jsonb_array_elements(coalesce(h -> 'weekly', '[]')) LOOP
		n := n + 1;
		IF jsonb_typeof(e) <> 'object' OR jsonb_typeof(e -> 'weekday') <> 'number'
		    OR (e ->> 'weekday') !~ '^[1-7]$'
		    OR coalesce(e ->> 'opens', '') !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'
		    OR coalesce(e ->> 'closes', '') !~ '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$' THEN
			PERFORM vb_fail_field(422, 'invalid', format('Opening interval %s needs a weekday 1–7 and '
			    'times as HH:MM', n), 'hours.weekly');
		END IF;
		o := (e ->> 'opens')::time;
		c := (e ->> 'closes')::time;
		IF c <= o THEN
			PERFORM vb_fail_field(422, 'invalid', format('Opening interval %s closes before it opens', n),
			    'hours.weekly');
		END IF;
		IF EXISTS (SELECT 1 FROM queue_hours WHERE queue_id = p_queue
		    AND weekday = (e ->> 'weekday')::int AND opens < c AND closes > o) THEN
			PERFORM vb_fail_field(422, 'invalid', format('Opening interval %s overlaps another on the same day', n),
			    'hours.weekly');
		END IF;
		INSERT INTO queue_hours (queue_id, weekday, opens, closes)
		VALUES (p_queue, (e ->> 'weekday')::int, o, c);
	END LOOP;
	DELETE FROM queue_closed_dates WHERE queue_id = p_queue;
	n := 0;
	FOR e IN SELECT * FROM jsonb_array_elements(coalesce(h -> 'closed_dates', '[]')) LOOP
		n := n + 1;
		IF jsonb_typeof(e) <> 'object' OR coalesce(e ->> 'date', '') !~ '^\d{4}-\d{2}-\d{2}$'
		    OR pg_input_is_valid_date(e ->> 'date') IS NOT TRUE
		    OR (e -> 'name' IS NOT NULL AND jsonb_typeof(e -> 'name') NOT IN ('string', 'null'))
		    OR length(e ->> 'name') > 100 THEN
			PERFORM vb_fail_field(422, 'invalid', format('Closed date %s needs a date YYYY-MM-DD and '
			    'a name of at most 100 characters', n), 'hours.closed_dates');
		END IF;
		INSERT INTO queue_closed_dates (queue_id, day, name)
		VALUES (p_queue, (e ->> 'date')::date, nullif(btrim(e ->> 'name'), ''))
		ON CONFLICT (queue_id, day) DO UPDATE SET name = EXCLUDED.name;
	END LOOP;
END $$;

-- PostgreSQL 15 has no pg_input_is_valid: a date that does not exist
-- (2025-02-30) is caught here.
CREATE FUNCTION pg_input_is_valid_date(s text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	PERFORM s::date;
	RETURN true;
EXCEPTION WHEN others THEN
	RETURN false;
END $$;

-- Creates (p_id NULL) or replaces a queue from the form's JSON object: every
-- field of the model, validated here field by field.
CREATE FUNCTION vb_queue_save(p_id bigint, p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb; after jsonb; qid bigint; nm text; st text; ov bigint; e jsonb;
	n int := 0; sk bigint; lv int;
BEGIN
	IF p_id IS NOT NULL THEN
		before := vb_queue_json(p_id);
		IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such queue'); END IF;
		PERFORM 1 FROM queues WHERE id = p_id FOR UPDATE;
	END IF;
	IF jsonb_typeof(p -> 'name') IS DISTINCT FROM 'string' OR length(btrim(p ->> 'name')) NOT BETWEEN 1 AND 100 THEN
		PERFORM vb_fail_field(422, 'invalid', 'name must be 1 to 100 characters', 'name');
	END IF;
	nm := btrim(p ->> 'name');
	st := coalesce(p ->> 'strategy', 'longest_idle');
	IF jsonb_typeof(coalesce(p -> 'strategy', '"longest_idle"')) <> 'string'
	    OR st NOT IN ('round_robin', 'longest_idle', 'least_occupied') THEN
		PERFORM vb_fail_field(422, 'invalid', 'strategy must be round_robin, longest_idle or least_occupied',
		    'strategy');
	END IF;
	IF p -> 'overflow_queue_id' IS NOT NULL AND jsonb_typeof(p -> 'overflow_queue_id') <> 'null' THEN
		ov := vb_json_int(p, 'overflow_queue_id', 1, 2147483647, true);
		IF NOT EXISTS (SELECT 1 FROM queues WHERE id = ov) THEN
			PERFORM vb_fail_field(422, 'invalid', 'Unknown overflow queue', 'overflow_queue_id');
		END IF;
		IF ov = p_id THEN
			PERFORM vb_fail_field(422, 'invalid', 'A queue cannot overflow into itself', 'overflow_queue_id');
		END IF;
		-- No cycles: following the overflow chain from the target must not come back.
		IF p_id IS NOT NULL AND EXISTS (WITH RECURSIVE chain(id) AS (
			SELECT ov UNION SELECT q.overflow_queue_id FROM queues q JOIN chain ON q.id = chain.id
			WHERE q.overflow_queue_id IS NOT NULL) SELECT 1 FROM chain WHERE id = p_id) THEN
			PERFORM vb_fail_field(422, 'invalid', 'This overflow would send contacts round in a circle',
			    'overflow_queue_id');
		END IF;
	END IF;
	IF jsonb_typeof(coalesce(p -> 'skills', '[]')) <> 'array' OR jsonb_array_length(coalesce(p -> 'skills', '[]')) > 50 THEN
		PERFORM vb_fail_field(422, 'invalid', 'skills must be a list of at most 50', 'skills');
	END IF;
	BEGIN
		IF p_id IS NULL THEN
			INSERT INTO queues (name) VALUES (nm) RETURNING id INTO qid;
		ELSE
			qid := p_id;
		END IF;
		UPDATE queues SET name = nm, strategy = st,
		    priority = coalesce(vb_json_int(p, 'priority', -100, 100, false), 0),
		    capacity = coalesce(vb_json_int(p, 'capacity', 1, 50, false), 3),
		    offer_timeout_s = coalesce(vb_json_int(p, 'offer_timeout_s', 5, 300, false), 20),
		    wrapup_s = coalesce(vb_json_int(p, 'wrapup_s', 0, 3600, false), 30),
		    preferred_s = coalesce(vb_json_int(p, 'preferred_s', 0, 3600, false), 30),
		    overflow_queue_id = ov,
		    overflow_after_s = vb_json_int(p, 'overflow_after_s', 1, 86400, false),
		    overflow_waiting = vb_json_int(p, 'overflow_waiting', 1, 10000, false),
		    relax_after_s = vb_json_int(p, 'relax_after_s', 1, 86400, false)
		WHERE id = qid;
	EXCEPTION WHEN unique_violation THEN
		PERFORM vb_fail_field(409, 'conflict', 'Another queue has this name', 'name');
	END;
	IF ov IS NULL AND (p -> 'overflow_after_s' IS NOT NULL AND jsonb_typeof(p -> 'overflow_after_s') <> 'null'
	    OR p -> 'overflow_waiting' IS NOT NULL AND jsonb_typeof(p -> 'overflow_waiting') <> 'null') THEN
		PERFORM vb_fail_field(422, 'invalid', 'Choose the queue to overflow into', 'overflow_queue_id');
	END IF;
	DELETE FROM queue_skills WHERE queue_id = qid;
	FOR e IN SELECT * FROM jsonb_array_elements(coalesce(p -> 'skills', '[]')) LOOP
		n := n + 1;
		IF jsonb_typeof(e) <> 'object' THEN
			PERFORM vb_fail_field(422, 'invalid', 'Each skill needs skill_id and level', 'skills');
		END IF;
		sk := vb_json_int(e, 'skill_id', 1, 2147483647, true);
		lv := vb_json_int(e, 'level', 1, 5, true);
		IF NOT EXISTS (SELECT 1 FROM skills WHERE id = sk) THEN
			PERFORM vb_fail_field(422, 'invalid', 'Unknown skill', 'skills');
		END IF;
		BEGIN
			INSERT INTO queue_skills (queue_id, skill_id, min_level) VALUES (qid, sk, lv);
		EXCEPTION WHEN unique_violation THEN
			PERFORM vb_fail_field(422, 'invalid', 'A skill is listed twice', 'skills');
		END;
	END LOOP;
	PERFORM vb_queue_hours_save(qid, p -> 'hours');
	after := vb_queue_json(qid) - 'open_now' - 'waiting';
	PERFORM vb_audit(CASE WHEN p_id IS NULL THEN 'queue.create' ELSE 'queue.update' END, 'queue',
	    qid::text, before - 'open_now' - 'waiting', after);
	RETURN vb_queue_json(qid);
END $$;

CREATE FUNCTION vb_queue_delete(p_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb; users text;
BEGIN
	before := vb_queue_json(p_id);
	IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such queue'); END IF;
	SELECT string_agg(x, '; ') INTO users FROM (
		SELECT 'default queue of site ' || name AS x FROM sites WHERE default_queue_id = p_id
		UNION ALL SELECT 'subject ' || name FROM subjects WHERE queue_id = p_id
		UNION ALL SELECT 'overflow of queue ' || name FROM queues WHERE overflow_queue_id = p_id
		UNION ALL SELECT count(*) || ' open conversations' FROM conversations
		    WHERE queue_id = p_id AND status = 'open' AND routing IN ('queued', 'offered')
		    HAVING count(*) > 0) u;
	IF users IS NOT NULL THEN
		PERFORM vb_fail(409, 'in_use', 'This queue is in use: ' || left(users, 400));
	END IF;
	-- Closed conversations keep their history; they no longer point here.
	UPDATE conversations SET queue_id = NULL WHERE queue_id = p_id;
	DELETE FROM queues WHERE id = p_id;
	PERFORM vb_audit('queue.delete', 'queue', p_id::text, before - 'open_now' - 'waiting', NULL);
	RETURN '{}';
END $$;

-- A site's routing: its default queue and its subjects in order.
CREATE FUNCTION vb_site_routing(p_site bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT jsonb_build_object('site_id', s.id, 'default_queue_id', s.default_queue_id,
	    'subjects', coalesce((SELECT jsonb_agg(jsonb_build_object('id', j.id, 'name', j.name,
		'queue_id', j.queue_id, 'queue_name', q.name, 'active', j.active, 'sort', j.sort)
		ORDER BY j.sort, j.id) FROM subjects j JOIN queues q ON q.id = j.queue_id
		WHERE j.site_id = s.id), '[]'))
	    FROM sites s WHERE s.id = p_site);
END $$;

CREATE FUNCTION vb_site_default_queue(p_site bigint, p_queue bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE before bigint;
BEGIN
	SELECT default_queue_id INTO before FROM sites WHERE id = p_site FOR UPDATE;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such site'); END IF;
	IF p_queue IS NOT NULL AND NOT EXISTS (SELECT 1 FROM queues WHERE id = p_queue) THEN
		PERFORM vb_fail_field(422, 'invalid', 'Unknown queue', 'queue_id');
	END IF;
	UPDATE sites SET default_queue_id = p_queue, updated_at = now() WHERE id = p_site;
	PERFORM vb_audit('site.default_queue', 'site', p_site::text,
	    jsonb_build_object('default_queue_id', before), jsonb_build_object('default_queue_id', p_queue));
	RETURN vb_site_routing(p_site);
END $$;

-- Subjects ------------------------------------------------------------------
CREATE FUNCTION vb_subject_json(p_id bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT jsonb_build_object('id', id, 'site_id', site_id, 'name', name,
	    'queue_id', queue_id, 'active', active, 'sort', sort) FROM subjects WHERE id = p_id);
END $$;

-- Creates (p_id NULL, on site p_site) or updates a subject.
CREATE FUNCTION vb_subject_save(p_id bigint, p_site bigint, p_name text, p_queue bigint,
    p_active boolean) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb; sid bigint;
BEGIN
	IF p_id IS NULL AND NOT EXISTS (SELECT 1 FROM sites WHERE id = p_site) THEN
		PERFORM vb_fail(404, 'not_found', 'No such site');
	END IF;
	IF p_id IS NOT NULL THEN
		before := vb_subject_json(p_id);
		IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such subject'); END IF;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM queues WHERE id = p_queue) THEN
		PERFORM vb_fail_field(422, 'invalid', 'Unknown queue', 'queue_id');
	END IF;
	BEGIN
		IF p_id IS NULL THEN
			INSERT INTO subjects (site_id, name, queue_id, active, sort)
			VALUES (p_site, btrim(p_name), p_queue, coalesce(p_active, true),
			    coalesce((SELECT max(sort) + 1 FROM subjects WHERE site_id = p_site), 0))
			RETURNING id INTO sid;
		ELSE
			UPDATE subjects SET name = btrim(p_name), queue_id = p_queue,
			    active = coalesce(p_active, active) WHERE id = p_id;
			sid := p_id;
		END IF;
	EXCEPTION WHEN unique_violation THEN
		PERFORM vb_fail_field(409, 'conflict', 'This site already has a subject with this name', 'name');
	END;
	PERFORM vb_audit(CASE WHEN p_id IS NULL THEN 'subject.create' ELSE 'subject.update' END,
	    'subject', sid::text, before, vb_subject_json(sid));
	RETURN vb_subject_json(sid);
END $$;

CREATE FUNCTION vb_subject_delete(p_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb;
BEGIN
	before := vb_subject_json(p_id);
	IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such subject'); END IF;
	DELETE FROM subjects WHERE id = p_id;
	PERFORM vb_audit('subject.delete', 'subject', p_id::text, before, NULL);
	RETURN '{}';
END $$;

-- The site's subjects in the given order; the list must name each exactly once.
CREATE FUNCTION vb_subjects_order(p_site bigint, p_ids bigint[]) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE before jsonb;
BEGIN
	before := vb_site_routing(p_site);
	IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such site'); END IF;
	IF (SELECT array_agg(id ORDER BY id) FROM subjects WHERE site_id = p_site) IS DISTINCT FROM
	    (SELECT array_agg(DISTINCT x ORDER BY x) FROM unnest(p_ids) x)
	    OR cardinality(p_ids) <> (SELECT count(*) FROM subjects WHERE site_id = p_site) THEN
		PERFORM vb_fail_field(422, 'invalid', 'ids must list each of the site''s subjects once', 'ids');
	END IF;
	UPDATE subjects s SET sort = o.n - 1 FROM unnest(p_ids) WITH ORDINALITY o(id, n) WHERE s.id = o.id;
	PERFORM vb_audit('subject.order', 'site', p_site::text, before -> 'subjects',
	    vb_site_routing(p_site) -> 'subjects');
	RETURN vb_site_routing(p_site);
END $$;

-- What the widget learns with its session: the active subjects of the site,
-- each saying whether its queue is open now, and whether the default queue
-- is. No tenant is known yet: SECURITY DEFINER, reached by site key only.
CREATE FUNCTION vb_widget_routing(p_key text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
DECLARE s sites;
BEGIN
	SELECT * INTO s FROM sites WHERE site_key = p_key;
	IF NOT FOUND THEN RETURN '{"subjects":[],"open":false}'; END IF;
	RETURN jsonb_build_object('subjects', coalesce((SELECT jsonb_agg(jsonb_build_object('id', j.id,
	    'name', j.name, 'open', vb_queue_open(j.queue_id, now())) ORDER BY j.sort, j.id)
	    FROM subjects j WHERE j.site_id = s.id AND j.tenant_id = s.tenant_id AND j.active), '[]'),
	    'open', s.default_queue_id IS NOT NULL AND vb_queue_open(s.default_queue_id, now()));
END $$;
REVOKE EXECUTE ON FUNCTION vb_widget_routing(text) FROM PUBLIC;

-- Stores one message (see 0006/0009), with the customer's chosen subject:
-- the first words of a conversation queue it in the subject's queue, or in
-- the site's default queue without one. A subject of another site (or
-- organisation) is refused and nothing is stored. Resends with a known
-- client id return the stored message, as before.
CREATE FUNCTION vb_message_post(p_conv bigint, p_kind text, p_sender bigint, p_client text,
    p_body text, p_subject bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE c conversations; m messages; q bigint; subj subjects;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_conv FOR UPDATE;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such conversation'); END IF;
	IF p_kind = 'customer' AND c.customer_id <> p_sender THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation');
	END IF;
	IF p_kind = 'staff' AND NOT EXISTS (SELECT 1 FROM conversation_staff
	    WHERE conversation_id = p_conv AND user_id = p_sender)
	    AND NOT ('console.supervisor' = ANY (vb_perms_of(p_sender))) THEN
		PERFORM vb_fail(403, 'forbidden', 'You are not in this conversation');
	END IF;
	SELECT * INTO m FROM messages WHERE conversation_id = p_conv AND client_id = p_client;
	IF FOUND THEN
		RETURN vb_message_json(m);
	END IF;
	IF c.status = 'closed' THEN
		PERFORM vb_fail(409, 'closed', 'This conversation has ended');
	END IF;
	IF p_subject IS NOT NULL THEN
		IF p_kind <> 'customer' THEN
			PERFORM vb_fail(422, 'invalid_subject', 'Only the customer chooses a subject');
		END IF;
		SELECT * INTO subj FROM subjects WHERE id = p_subject AND tenant_id = c.tenant_id
		    AND site_id = c.site_id;
		IF NOT FOUND OR (c.subject_id IS NULL AND NOT subj.active) THEN
			PERFORM vb_fail(422, 'invalid_subject', 'This subject is not offered here');
		END IF;
	END IF;
	m := vb_message_add(p_conv, p_kind, p_sender, p_client, p_body);
	-- The customer's first words put the chat in its subject's queue, or
	-- else in its site's default queue.
	IF p_kind = 'customer' AND c.routing = 'none' THEN
		IF subj.id IS NOT NULL AND c.subject_id IS NULL THEN
			UPDATE conversations SET subject_id = subj.id WHERE id = p_conv;
			q := subj.queue_id;
		ELSE
			SELECT default_queue_id INTO q FROM sites WHERE id = c.site_id;
		END IF;
		IF q IS NOT NULL THEN
			PERFORM vb_acd_enqueue(p_conv, q, 0, NULL);
		END IF;
	END IF;
	RETURN vb_message_json(m);
END $$;

CREATE OR REPLACE FUNCTION vb_message_post(p_conv bigint, p_kind text, p_sender bigint, p_client text,
    p_body text) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	RETURN vb_message_post(p_conv, p_kind, p_sender, p_client, p_body, NULL);
END $$;

-- Console lists ---------------------------------------------------------------
-- One pair of functions serves wrap-up codes and not-ready reasons: the
-- tables have the same shape.
CREATE FUNCTION vb_codelist_json(p_table text, p_id bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE j jsonb;
BEGIN
	IF p_table NOT IN ('wrapup_codes', 'notready_reasons') THEN
		RAISE EXCEPTION 'vb_codelist_json: bad table';
	END IF;
	EXECUTE format('SELECT jsonb_build_object(''id'', id, ''name'', name, ''active'', active, '
	    '''sort'', sort) FROM %I WHERE id = $1', p_table) INTO j USING p_id;
	RETURN j;
END $$;

CREATE FUNCTION vb_codelist(p_table text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE j jsonb;
BEGIN
	IF p_table NOT IN ('wrapup_codes', 'notready_reasons') THEN
		RAISE EXCEPTION 'vb_codelist: bad table';
	END IF;
	EXECUTE format('SELECT coalesce(jsonb_agg(jsonb_build_object(''id'', id, ''name'', name, '
	    '''active'', active, ''sort'', sort) ORDER BY sort, lower(name), id), ''[]'') FROM %I', p_table)
	    INTO j;
	RETURN jsonb_build_object('items', j);
END $$;

CREATE FUNCTION vb_codelist_save(p_table text, p_id bigint, p_name text, p_active boolean,
    p_sort int) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb; rid bigint; kind text;
BEGIN
	IF p_table NOT IN ('wrapup_codes', 'notready_reasons') THEN
		RAISE EXCEPTION 'vb_codelist_save: bad table';
	END IF;
	kind := CASE p_table WHEN 'wrapup_codes' THEN 'wrapup_code' ELSE 'notready_reason' END;
	IF p_id IS NOT NULL THEN
		before := vb_codelist_json(p_table, p_id);
		IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'Not found'); END IF;
	END IF;
	IF length(btrim(p_name)) = 0 THEN
		PERFORM vb_fail_field(422, 'invalid', 'name must not be blank', 'name');
	END IF;
	BEGIN
		IF p_id IS NULL THEN
			EXECUTE format('INSERT INTO %I (name, active, sort) VALUES ($1, $2, $3) RETURNING id', p_table)
			INTO rid USING btrim(p_name), coalesce(p_active, true), coalesce(p_sort, 0);
		ELSE
			EXECUTE format('UPDATE %I SET name = $1, active = coalesce($2, active), '
			    'sort = coalesce($3, sort) WHERE id = $4', p_table)
			USING btrim(p_name), p_active, p_sort, p_id;
			rid := p_id;
		END IF;
	EXCEPTION WHEN unique_violation THEN
		PERFORM vb_fail_field(409, 'conflict', 'This name is taken', 'name');
	END;
	PERFORM vb_audit(kind || CASE WHEN p_id IS NULL THEN '.create' ELSE '.update' END, kind,
	    rid::text, before, vb_codelist_json(p_table, rid));
	RETURN vb_codelist_json(p_table, rid);
END $$;

CREATE FUNCTION vb_codelist_delete(p_table text, p_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb; kind text;
BEGIN
	IF p_table NOT IN ('wrapup_codes', 'notready_reasons') THEN
		RAISE EXCEPTION 'vb_codelist_delete: bad table';
	END IF;
	kind := CASE p_table WHEN 'wrapup_codes' THEN 'wrapup_code' ELSE 'notready_reason' END;
	before := vb_codelist_json(p_table, p_id);
	IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'Not found'); END IF;
	EXECUTE format('DELETE FROM %I WHERE id = $1', p_table) USING p_id;
	PERFORM vb_audit(kind || '.delete', kind, p_id::text, before, NULL);
	RETURN '{}';
END $$;

CREATE FUNCTION vb_canned_json(p_id bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT jsonb_build_object('id', id, 'title', title, 'shortcut', shortcut, 'body', body,
	    'active', active) FROM canned_replies WHERE id = p_id);
END $$;

CREATE FUNCTION vb_canned_list() RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('items', coalesce((SELECT jsonb_agg(vb_canned_json(id)
	    ORDER BY lower(title), id) FROM canned_replies), '[]'));
END $$;

CREATE FUNCTION vb_canned_save(p_id bigint, p_title text, p_shortcut text, p_body text,
    p_active boolean) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb; rid bigint; sc text := lower(btrim(p_shortcut));
BEGIN
	IF p_id IS NOT NULL THEN
		before := vb_canned_json(p_id);
		IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such canned reply'); END IF;
	END IF;
	IF length(btrim(p_title)) = 0 THEN
		PERFORM vb_fail_field(422, 'invalid', 'title must not be blank', 'title');
	END IF;
	IF length(btrim(p_body)) = 0 THEN
		PERFORM vb_fail_field(422, 'invalid', 'body must not be blank', 'body');
	END IF;
	IF sc = '' THEN sc := NULL; END IF;
	IF sc IS NOT NULL AND sc !~ '^[a-z0-9][a-z0-9_-]{0,49}$' THEN
		PERFORM vb_fail_field(422, 'invalid',
		    'shortcut uses letters, digits, hyphens and underscores (at most 50)', 'shortcut');
	END IF;
	BEGIN
		IF p_id IS NULL THEN
			INSERT INTO canned_replies (title, shortcut, body, active)
			VALUES (btrim(p_title), sc, p_body, coalesce(p_active, true)) RETURNING id INTO rid;
		ELSE
			UPDATE canned_replies SET title = btrim(p_title), shortcut = sc, body = p_body,
			    active = coalesce(p_active, active) WHERE id = p_id;
			rid := p_id;
		END IF;
	EXCEPTION WHEN unique_violation THEN
		PERFORM vb_fail_field(409, 'conflict', 'Another canned reply has this shortcut', 'shortcut');
	END;
	PERFORM vb_audit(CASE WHEN p_id IS NULL THEN 'canned_reply.create' ELSE 'canned_reply.update' END,
	    'canned_reply', rid::text, before, vb_canned_json(rid));
	RETURN vb_canned_json(rid);
END $$;

CREATE FUNCTION vb_canned_delete(p_id bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb;
BEGIN
	before := vb_canned_json(p_id);
	IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such canned reply'); END IF;
	DELETE FROM canned_replies WHERE id = p_id;
	PERFORM vb_audit('canned_reply.delete', 'canned_reply', p_id::text, before, NULL);
	RETURN '{}';
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;
GRANT EXECUTE ON FUNCTION vb_widget_routing(text) TO vb_app;
