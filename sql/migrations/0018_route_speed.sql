-- Routing speed and concurrency (issue 3, "Scale, reliability, performance").
-- Measured with tests/bench/route.sh (make bench); see BENCHMARKS.md.
--
-- 1. vb_acd_pick asked vb_perms_of() (an aggregate over roles) for every
--    agent, for every waiting contact: ~40 µs each, 10,000 times per pass
--    with 200 contacts and 50 agents. It now asks for the one permission
--    with an EXISTS on the role tables (same rule, same result), and counts
--    an agent's load (vb_acd_load) inline instead of through a PL/pgSQL call
--    per agent, twice for least_occupied.
-- 2. vb_acd_route ran vb_acd_pick, a query over all the organisation's
--    agents, for every waiting contact, even when no agent could take one
--    more offer. It now reads the agents who could get an offer once per
--    pass, matches each contact against that list in vb_acd_pick's order,
--    confirms the choice by every rule on that one agent, and stops when
--    every listed agent has an offer (each agent holds at most one).
--    Which contact gets which agent is unchanged. vb_acd_pick stays, faster,
--    for any other caller.
-- 3. Two passes for one organisation at once (two workers, two nodes, the
--    once-a-second tick and an event) deadlocked in vb_acd_positions(), and
--    each pass locked contacts the other then skipped. Passes for one
--    organisation now take turns on a transaction-level advisory lock;
--    vb_acd_positions() takes it too.
-- 4. vb_acd_positions() worked out a queue's recent average wait again for
--    every waiting contact whose place changed (all of them, after each
--    pass), each time reading the queue's conversations without an index:
--    540 ms per pass with 800 waiting. It now does so once per queue, on an
--    index.

CREATE OR REPLACE FUNCTION vb_acd_lock() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	-- 0x5642 ('VB') names the ACD's locks; the key is the organisation.
	PERFORM pg_advisory_xact_lock(22082, (vb_tenant() % 2147483647)::int);
END $$;

CREATE OR REPLACE FUNCTION vb_acd_pick(c conversations, q queues) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE pick bigint; relaxed boolean;
BEGIN
	relaxed := q.relax_after_s IS NOT NULL AND c.queued_at < now() - make_interval(secs => q.relax_after_s);
	SELECT a.user_id INTO pick
	FROM agent_states a JOIN users u ON u.id = a.user_id
	CROSS JOIN LATERAL (SELECT count(*) AS n FROM conversations l WHERE l.status = 'open'
	    AND ((l.routing = 'assigned' AND l.assigned_user_id = a.user_id)
	      OR (l.routing = 'offered' AND l.offered_user_id = a.user_id))) load
	WHERE a.tenant_id = c.tenant_id AND u.status = 'active'
	  AND (a.state = 'ready' OR (a.state = 'wrapup' AND a.wrapup_until <= now()))
	  AND (a.seen_at IS NULL OR a.seen_at > now() - interval '90 seconds')
	  AND NOT (a.user_id = ANY (c.declined))
	  AND (c.preferred_user_id IS NULL OR c.queued_at < now() - make_interval(secs => q.preferred_s)
	       OR a.user_id = c.preferred_user_id)
	  AND NOT EXISTS (SELECT 1 FROM conversations o WHERE o.routing = 'offered'
		AND o.offered_user_id = a.user_id)
	  AND EXISTS (SELECT 1 FROM user_roles ur JOIN role_permissions rp ON rp.role_id = ur.role_id
		WHERE ur.user_id = a.user_id AND rp.permission = 'console.agent')
	  AND NOT EXISTS (SELECT 1 FROM queue_skills qs WHERE qs.queue_id = q.id AND NOT EXISTS (
		SELECT 1 FROM user_skills us WHERE us.user_id = a.user_id AND us.skill_id = qs.skill_id
		  AND us.level >= CASE WHEN relaxed THEN 1 ELSE qs.min_level END))
	  AND load.n < coalesce(a.capacity, q.capacity)
	ORDER BY
	  (a.user_id = c.preferred_user_id) DESC,
	  CASE q.strategy WHEN 'least_occupied'
	      THEN load.n::float / coalesce(a.capacity, q.capacity) END,
	  CASE q.strategy WHEN 'round_robin' THEN (a.user_id <= q.rr_last_user) END,
	  CASE q.strategy WHEN 'round_robin' THEN a.user_id END,
	  coalesce(a.last_assigned_at, a.since)
	LIMIT 1
	FOR UPDATE OF a SKIP LOCKED;
	RETURN pick;
END $$;

-- Whether one agent may be offered one contact now, by every rule of
-- vb_acd_pick; locks the agent's row (or says no if another has it).
CREATE OR REPLACE FUNCTION vb_acd_pick_ok(c conversations, q queues, p_agent bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE relaxed boolean;
BEGIN
	relaxed := q.relax_after_s IS NOT NULL AND c.queued_at < now() - make_interval(secs => q.relax_after_s);
	PERFORM 1
	FROM agent_states a JOIN users u ON u.id = a.user_id
	WHERE a.user_id = p_agent AND a.tenant_id = c.tenant_id AND u.status = 'active'
	  AND (a.state = 'ready' OR (a.state = 'wrapup' AND a.wrapup_until <= now()))
	  AND (a.seen_at IS NULL OR a.seen_at > now() - interval '90 seconds')
	  AND NOT (a.user_id = ANY (c.declined))
	  AND (c.preferred_user_id IS NULL OR c.queued_at < now() - make_interval(secs => q.preferred_s)
	       OR a.user_id = c.preferred_user_id)
	  AND NOT EXISTS (SELECT 1 FROM conversations o WHERE o.routing = 'offered'
		AND o.offered_user_id = a.user_id)
	  AND EXISTS (SELECT 1 FROM user_roles ur JOIN role_permissions rp ON rp.role_id = ur.role_id
		WHERE ur.user_id = a.user_id AND rp.permission = 'console.agent')
	  AND NOT EXISTS (SELECT 1 FROM queue_skills qs WHERE qs.queue_id = q.id AND NOT EXISTS (
		SELECT 1 FROM user_skills us WHERE us.user_id = a.user_id AND us.skill_id = qs.skill_id
		  AND us.level >= CASE WHEN relaxed THEN 1 ELSE qs.min_level END))
	  AND vb_acd_load(a.user_id) < coalesce(a.capacity, q.capacity)
	FOR UPDATE OF a SKIP LOCKED;
	RETURN FOUND;
END $$;

-- One routing pass. The agents who could get an offer at all (the rules of
-- vb_acd_pick that do not depend on the contact, with the largest capacity
-- of the organisation's queues) are read once, with their load and idle
-- time; each waiting contact in order is then matched against that list in
-- vb_acd_pick's order, and the choice confirmed by every rule on that one
-- agent (vb_acd_pick_ok, which also locks the agent). An agent offered a
-- contact leaves the list; the pass ends when the list is empty.
CREATE OR REPLACE FUNCTION vb_acd_route() RETURNS TABLE (conversation_id bigint, user_id bigint,
    expires_at timestamptz) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE c conversations; q queues; agent bigint; cap int; relaxed boolean; skilled boolean;
	ids bigint[]; loads int[]; caps int[]; idles timestamptz[]; free int;
BEGIN
	PERFORM vb_acd_lock();
	PERFORM vb_acd_overflow();
	SELECT max(capacity) INTO cap FROM queues WHERE tenant_id = vb_tenant();
	SELECT array_agg(f.user_id), array_agg(f.n), array_agg(f.capacity), array_agg(f.idle),
	    count(*)
	INTO ids, loads, caps, idles, free
	FROM (SELECT a.user_id, load.n::int AS n, a.capacity,
		coalesce(a.last_assigned_at, a.since) AS idle
	    FROM agent_states a JOIN users u ON u.id = a.user_id
	    CROSS JOIN LATERAL (SELECT count(*) AS n FROM conversations l WHERE l.status = 'open'
		AND ((l.routing = 'assigned' AND l.assigned_user_id = a.user_id)
		  OR (l.routing = 'offered' AND l.offered_user_id = a.user_id))) load
	    WHERE a.tenant_id = vb_tenant() AND u.status = 'active'
	      AND (a.state = 'ready' OR (a.state = 'wrapup' AND a.wrapup_until <= now()))
	      AND (a.seen_at IS NULL OR a.seen_at > now() - interval '90 seconds')
	      AND NOT EXISTS (SELECT 1 FROM conversations o WHERE o.routing = 'offered'
		    AND o.offered_user_id = a.user_id)
	      AND EXISTS (SELECT 1 FROM user_roles ur JOIN role_permissions rp ON rp.role_id = ur.role_id
		    WHERE ur.user_id = a.user_id AND rp.permission = 'console.agent')
	      AND load.n < coalesce(a.capacity, cap, 0)) f;
	IF free = 0 THEN
		RETURN;
	END IF;
	FOR c IN SELECT * FROM conversations w WHERE w.routing = 'queued'
	    AND w.tenant_id = vb_tenant()
	    ORDER BY w.priority DESC, w.queued_at, w.id FOR UPDATE SKIP LOCKED
	LOOP
		SELECT * INTO q FROM queues WHERE id = c.queue_id;
		relaxed := q.relax_after_s IS NOT NULL AND c.queued_at < now() - make_interval(secs => q.relax_after_s);
		skilled := EXISTS (SELECT 1 FROM queue_skills qs WHERE qs.queue_id = q.id);
		LOOP
			SELECT x.id INTO agent FROM unnest(ids, loads, caps, idles) x(id, n, cap, idle)
			WHERE x.id IS NOT NULL AND NOT (x.id = ANY (c.declined))
			  AND (c.preferred_user_id IS NULL OR c.queued_at < now() - make_interval(secs => q.preferred_s)
			       OR x.id = c.preferred_user_id)
			  AND x.n < coalesce(x.cap, q.capacity)
			  AND (NOT skilled OR NOT EXISTS (SELECT 1 FROM queue_skills qs WHERE qs.queue_id = q.id
				AND NOT EXISTS (SELECT 1 FROM user_skills us WHERE us.user_id = x.id
				  AND us.skill_id = qs.skill_id
				  AND us.level >= CASE WHEN relaxed THEN 1 ELSE qs.min_level END)))
			ORDER BY
			  (x.id = c.preferred_user_id) DESC,
			  CASE q.strategy WHEN 'least_occupied' THEN x.n::float / coalesce(x.cap, q.capacity) END,
			  CASE q.strategy WHEN 'round_robin' THEN (x.id <= q.rr_last_user) END,
			  CASE q.strategy WHEN 'round_robin' THEN x.id END,
			  x.idle
			LIMIT 1;
			EXIT WHEN agent IS NULL OR vb_acd_pick_ok(c, q, agent);
			-- Changed since the list was read, or locked by another: not now.
			ids[array_position(ids, agent)] := NULL;
			free := free - 1;
		END LOOP;
		CONTINUE WHEN agent IS NULL;
		UPDATE conversations SET routing = 'offered', offered_user_id = agent,
		    offer_expires_at = now() + make_interval(secs => q.offer_timeout_s)
		WHERE id = c.id;
		conversation_id := c.id;
		user_id := agent;
		expires_at := now() + make_interval(secs => q.offer_timeout_s);
		RETURN NEXT;
		ids[array_position(ids, agent)] := NULL;
		free := free - 1;
		EXIT WHEN free <= 0;
	END LOOP;
END $$;

CREATE OR REPLACE FUNCTION vb_acd_positions() RETURNS TABLE (conversation_id bigint, pos int, wait_s int)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE ready int;
BEGIN
	PERFORM vb_acd_lock();
	SELECT greatest(count(*), 1) INTO ready FROM agent_states
	WHERE tenant_id = vb_tenant() AND state = 'ready';
	RETURN QUERY
	WITH ranked AS (
		SELECT c.id, c.queue_id, row_number() OVER (PARTITION BY c.queue_id
		    ORDER BY c.priority DESC, c.queued_at, c.id)::int AS p
		FROM conversations c WHERE c.tenant_id = vb_tenant() AND c.routing = 'queued'
	), changed AS (
		UPDATE conversations c SET last_position = r.p FROM ranked r
		WHERE c.id = r.id AND c.last_position IS DISTINCT FROM r.p
		RETURNING c.id, r.p, r.queue_id
	), waits AS (
		SELECT d.queue_id, coalesce((SELECT avg(extract(epoch FROM x.assigned_at - x.queued_at))
		    FROM (SELECT assigned_at, queued_at FROM conversations y WHERE y.queue_id = d.queue_id
			AND y.assigned_at IS NOT NULL ORDER BY y.assigned_at DESC LIMIT 20) x), 30) AS w
		FROM (SELECT DISTINCT queue_id FROM changed) d
	)
	SELECT ch.id, ch.p, round(wt.w * ch.p / ready)::int
	FROM changed ch JOIN waits wt ON wt.queue_id = ch.queue_id;
END $$;

-- The recent waits of a queue, read by vb_acd_positions and vb_acd_position.
CREATE INDEX conversations_queue_assigned ON conversations (queue_id, assigned_at DESC)
    WHERE assigned_at IS NOT NULL;

GRANT EXECUTE ON FUNCTION vb_acd_lock(), vb_acd_pick_ok(conversations, queues, bigint),
    vb_acd_pick(conversations, queues),
    vb_acd_route(), vb_acd_positions() TO vb_app;
