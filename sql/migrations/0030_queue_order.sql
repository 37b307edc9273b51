-- A5/W5: queue positions for one row per queue, not one per contact.
--
-- 0029 kept each waiting contact's last told place in queue_positions and
-- upserted all of them on every computation; when the head of a queue
-- moves, every place behind it changes, so with 4,000 contacts waiting a
-- computation rewrote 4,000 rows (about 1 s of PostgreSQL time), and the
-- trigger that removed a contact's row as it left the queue cost each
-- offer another delete. Measured in the end-to-end routing bench (4,000
-- contacts, 400 agents): half of PostgreSQL's CPU per routing decision.
--
-- The last told order of a queue is now one array per queue, rewritten
-- only when it differs; the places that changed are found by comparing the
-- new order with the old one place by place. A contact that leaves the queue drops out of
-- the next computation's array (no trigger), so one that comes back (a
-- transfer, a decline) is told its place again unless it is at the very
-- place it was last told.

DROP TRIGGER conversations_queue_left ON conversations;
DROP FUNCTION vb_queue_left();
DROP TABLE queue_positions;

CREATE TABLE queue_order (
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	queue_id	bigint PRIMARY KEY,
	ids		bigint[] NOT NULL,
	FOREIGN KEY (tenant_id, queue_id) REFERENCES queues(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX queue_order_tenant ON queue_order (tenant_id);
ALTER TABLE queue_order ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON queue_order USING (tenant_id = vb_tenant())
    WITH CHECK (tenant_id = vb_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON queue_order TO vb_app;

-- The places that changed since last told, with an estimate from the
-- queue's last 20 answers; at most every 500 ms per organisation (acd_clock,
-- as in 0029). A computation running for the organisation holds its clock
-- row: another skips rather than waits (the next routing pass, at most a
-- second away while anyone waits, computes again). A queue's new order is
-- compared with the last told one place by place: a contact's place
-- changed exactly when the old order does not have it at its new index.
CREATE OR REPLACE FUNCTION vb_acd_positions() RETURNS TABLE (conversation_id bigint, pos int, wait_s int)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE ready int; at timestamptz; l record; old bigint[]; w numeric;
	seen bigint[] := '{}';
BEGIN
	SELECT k.positions_at INTO at FROM acd_clock k WHERE k.tenant_id = vb_tenant()
	FOR UPDATE SKIP LOCKED;
	IF NOT FOUND THEN
		INSERT INTO acd_clock (tenant_id, positions_at) VALUES (vb_tenant(), clock_timestamp())
		ON CONFLICT DO NOTHING;
		IF NOT FOUND THEN
			RETURN;		/* a computation is running */
		END IF;
	ELSIF at > clock_timestamp() - interval '500 milliseconds' THEN
		RETURN;
	ELSE
		UPDATE acd_clock SET positions_at = clock_timestamp() WHERE tenant_id = vb_tenant();
	END IF;
	SELECT greatest(count(*), 1) INTO ready FROM agent_states
	WHERE tenant_id = vb_tenant() AND state = 'ready';
	FOR l IN SELECT c.queue_id, array_agg(c.id ORDER BY c.priority DESC, c.queued_at, c.id) AS ids
	    FROM conversations c WHERE c.tenant_id = vb_tenant() AND c.routing = 'queued'
	      AND c.queue_id IS NOT NULL
	    GROUP BY c.queue_id
	LOOP
		seen := seen || l.queue_id;
		SELECT o.ids INTO old FROM queue_order o WHERE o.queue_id = l.queue_id;
		CONTINUE WHEN old = l.ids;
		INSERT INTO queue_order (queue_id, ids) VALUES (l.queue_id, l.ids)
		ON CONFLICT (queue_id) DO UPDATE SET ids = EXCLUDED.ids;
		SELECT coalesce(avg(extract(epoch FROM x.assigned_at - x.queued_at)), 30) INTO w
		FROM (SELECT y.assigned_at, y.queued_at FROM conversations y WHERE y.queue_id = l.queue_id
		    AND y.assigned_at IS NOT NULL ORDER BY y.assigned_at DESC LIMIT 20) x;
		RETURN QUERY SELECT x.id, x.p::int, round(w * x.p / ready)::int
		FROM unnest(l.ids) WITH ORDINALITY x(id, p)
		WHERE old IS NULL OR old[x.p] IS DISTINCT FROM x.id;
	END LOOP;
	DELETE FROM queue_order o WHERE o.tenant_id = vb_tenant() AND NOT (o.queue_id = ANY (seen));
END $$;
GRANT EXECUTE ON FUNCTION vb_acd_positions() TO vb_app;

-- The pass as in 0029, with the agents' load counted once, before the
-- agents are read, into a map the agents' query looks up. Counted in a
-- subquery joined to the agents, the planner, whose estimate for open
-- contacts is often one row (they change faster than statistics), chose a
-- nested loop that re-aggregated every open contact once per agent: 100 ms
-- of a pass's 110 with 4,000 open contacts and 400 agents (a materialised
-- CTE still compared every agent with every count: 160,000 comparisons).
CREATE OR REPLACE FUNCTION vb_acd_route() RETURNS TABLE (conversation_id bigint, user_id bigint,
    expires_at timestamptz) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE c conversations; q queues; agent bigint; cap int; relaxed boolean; skilled boolean;
	ids bigint[]; loads int[]; caps int[]; idles timestamptz[]; free int; n int; i int;
	head int := 1; k int;
	o_conv bigint[] := '{}'; o_user bigint[] := '{}'; o_exp timestamptz[] := '{}';
	loadmap jsonb; ringing bigint[];
BEGIN
	PERFORM vb_acd_lock();
	PERFORM vb_acd_overflow();
	SELECT max(capacity) INTO cap FROM queues WHERE tenant_id = vb_tenant();
	-- Open contacts per agent (answered or ringing), and who is ringing.
	SELECT coalesce(jsonb_object_agg(x.uid, x.n), '{}'), coalesce(array_agg(x.uid) FILTER (WHERE x.ringing), '{}')
	INTO loadmap, ringing
	FROM (SELECT CASE l.routing WHEN 'assigned' THEN l.assigned_user_id ELSE l.offered_user_id END AS uid,
		count(*) AS n, bool_or(l.routing = 'offered') AS ringing
	    FROM conversations l WHERE l.tenant_id = vb_tenant() AND l.status = 'open'
	      AND l.routing IN ('offered', 'assigned')
	    GROUP BY 1) x
	WHERE x.uid IS NOT NULL;
	SELECT array_agg(f.user_id ORDER BY f.idle, f.user_id), array_agg(f.n ORDER BY f.idle, f.user_id),
	    array_agg(f.capacity ORDER BY f.idle, f.user_id), array_agg(f.idle ORDER BY f.idle, f.user_id)
	INTO ids, loads, caps, idles
	FROM (SELECT a.user_id, coalesce((loadmap->>a.user_id::text)::int, 0) AS n, a.capacity,
		coalesce(a.last_assigned_at, a.since) AS idle
	    FROM agent_states a JOIN users u ON u.id = a.user_id
	    WHERE a.tenant_id = vb_tenant() AND u.status = 'active'
	      AND (a.state = 'ready' OR (a.state = 'wrapup' AND a.wrapup_until <= now()))
	      AND (a.seen_at IS NULL OR a.seen_at > now() - interval '90 seconds')
	      AND NOT (a.user_id = ANY (ringing))
	      AND EXISTS (SELECT 1 FROM user_roles ur JOIN role_permissions rp ON rp.role_id = ur.role_id
		    WHERE ur.user_id = a.user_id AND rp.permission = 'console.agent')
	      AND coalesce((loadmap->>a.user_id::text)::int, 0) < coalesce(a.capacity, cap, 0)
	    FOR UPDATE OF a SKIP LOCKED) f;
	n := coalesce(array_length(ids, 1), 0);
	IF n = 0 THEN
		RETURN;
	END IF;
	free := n;
	FOR c IN SELECT * FROM conversations w WHERE w.routing = 'queued'
	    AND w.tenant_id = vb_tenant()
	    ORDER BY w.priority DESC, w.queued_at, w.id FOR NO KEY UPDATE SKIP LOCKED
	LOOP
		IF q.id IS DISTINCT FROM c.queue_id THEN
			SELECT * INTO q FROM queues WHERE id = c.queue_id;
			skilled := EXISTS (SELECT 1 FROM queue_skills qs WHERE qs.queue_id = q.id);
		END IF;
		agent := NULL;
		IF q.strategy = 'longest_idle' AND NOT skilled AND (c.preferred_user_id IS NULL
		    OR c.queued_at < now() - make_interval(secs => q.preferred_s)) THEN
			WHILE head <= n AND ids[head] IS NULL LOOP
				head := head + 1;
			END LOOP;
			i := head;
			WHILE i <= n LOOP
				IF ids[i] IS NOT NULL AND NOT (ids[i] = ANY (c.declined))
				    AND loads[i] < coalesce(caps[i], q.capacity) THEN
					agent := ids[i];
					k := i;
					EXIT;
				END IF;
				i := i + 1;
			END LOOP;
		ELSE
			relaxed := q.relax_after_s IS NOT NULL
			    AND c.queued_at < now() - make_interval(secs => q.relax_after_s);
			SELECT x.id, x.k INTO agent, k
			FROM unnest(ids, loads, caps, idles) WITH ORDINALITY x(id, n, cap, idle, k)
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
			  x.idle, x.id
			LIMIT 1;
		END IF;
		CONTINUE WHEN agent IS NULL;
		o_conv := o_conv || c.id;
		o_user := o_user || agent;
		o_exp := o_exp || (now() + make_interval(secs => q.offer_timeout_s));
		-- The round-robin cursor moves on the offer, under this pass's lock,
		-- not on the accept (where every agent's accept would queue on the
		-- queue's row).
		IF q.strategy = 'round_robin' THEN
			UPDATE queues SET rr_last_user = agent WHERE id = q.id;
			q.rr_last_user := agent;
		END IF;
		ids[k] := NULL;
		free := free - 1;
		EXIT WHEN free <= 0;
	END LOOP;
	UPDATE conversations w SET routing = 'offered', offered_user_id = o.uid, offer_expires_at = o.exp
	FROM unnest(o_conv, o_user, o_exp) o(cid, uid, exp) WHERE w.id = o.cid;
	-- Locked by this pass already (above): the accept need not wait for it.
	UPDATE agent_states a SET last_assigned_at = now() WHERE a.user_id = ANY (o_user);
	RETURN QUERY SELECT o.cid, o.uid, o.exp FROM unnest(o_conv, o_user, o_exp) o(cid, uid, exp);
END $$;
