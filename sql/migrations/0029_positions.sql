-- A5/W5: queue positions no longer hold up routing. vb_acd_positions ran
-- inside the routing transaction, under the organisation's routing lock,
-- and wrote conversations.last_position on every waiting contact: while it
-- ran (tens to hundreds of milliseconds with a long queue) no other pass
-- could start, and its row locks made concurrent passes skip those
-- contacts. Positions now live in a narrow table of their own, are
-- computed in a job of their own after the pass commits, and take no
-- routing lock; a contact's row leaves the table as it leaves the queue, so
-- one that comes back (a transfer to a queue) is told its place again.

CREATE TABLE queue_positions (
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	conversation_id	bigint PRIMARY KEY,
	position	int NOT NULL,
	FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX queue_positions_tenant ON queue_positions (tenant_id);
ALTER TABLE queue_positions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON queue_positions USING (tenant_id = vb_tenant())
    WITH CHECK (tenant_id = vb_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON queue_positions TO vb_app;

INSERT INTO queue_positions (tenant_id, conversation_id, position)
SELECT tenant_id, id, last_position FROM conversations
WHERE routing = 'queued' AND last_position IS NOT NULL;

CREATE FUNCTION vb_queue_left() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM queue_positions WHERE conversation_id = NEW.id;
	RETURN NULL;
END $$;
CREATE TRIGGER conversations_queue_left AFTER UPDATE OF routing ON conversations
	FOR EACH ROW WHEN (OLD.routing = 'queued' AND NEW.routing IS DISTINCT FROM 'queued')
	EXECUTE FUNCTION vb_queue_left();

-- The positions that changed since last told (at most every 500 ms per
-- organisation: acd_clock), with an estimate from the queue's last 20
-- answers. Concurrent callers queue on the organisation's acd_clock row, and
-- the second finds the clock fresh.
CREATE OR REPLACE FUNCTION vb_acd_positions() RETURNS TABLE (conversation_id bigint, pos int, wait_s int)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE ready int;
BEGIN
	INSERT INTO acd_clock AS k (tenant_id, positions_at) VALUES (vb_tenant(), clock_timestamp())
	ON CONFLICT (tenant_id) DO UPDATE SET positions_at = EXCLUDED.positions_at
	WHERE k.positions_at <= clock_timestamp() - interval '500 milliseconds';
	IF NOT FOUND THEN
		RETURN;
	END IF;
	SELECT greatest(count(*), 1) INTO ready FROM agent_states
	WHERE tenant_id = vb_tenant() AND state = 'ready';
	RETURN QUERY
	WITH ranked AS (
		SELECT c.id, c.queue_id, row_number() OVER (PARTITION BY c.queue_id
		    ORDER BY c.priority DESC, c.queued_at, c.id)::int AS p
		FROM conversations c WHERE c.tenant_id = vb_tenant() AND c.routing = 'queued'
	), changed AS (
		INSERT INTO queue_positions AS q (conversation_id, position)
		SELECT r.id, r.p FROM ranked r
		ON CONFLICT (conversation_id) DO UPDATE SET position = EXCLUDED.position
		WHERE q.position <> EXCLUDED.position
		RETURNING q.conversation_id AS id, q.position AS p
	), waits AS (
		SELECT d.queue_id, coalesce((SELECT avg(extract(epoch FROM x.assigned_at - x.queued_at))
		    FROM (SELECT assigned_at, queued_at FROM conversations y WHERE y.queue_id = d.queue_id
			AND y.assigned_at IS NOT NULL ORDER BY y.assigned_at DESC LIMIT 20) x), 30) AS w
		FROM (SELECT DISTINCT r.queue_id FROM changed ch JOIN ranked r ON r.id = ch.id) d
	)
	SELECT ch.id, ch.p, round(wt.w * ch.p / ready)::int
	FROM changed ch JOIN ranked r ON r.id = ch.id JOIN waits wt ON wt.queue_id = r.queue_id;
END $$;
GRANT EXECUTE ON FUNCTION vb_acd_positions() TO vb_app;

-- The pass as in 0026, locking waiting contacts FOR NO KEY UPDATE: it never
-- changes their keys, and the stronger lock conflicted with the key-share
-- locks of foreign keys (a new position row, a customer's message while
-- waiting), so such a contact was skipped by the pass.
CREATE OR REPLACE FUNCTION vb_acd_route() RETURNS TABLE (conversation_id bigint, user_id bigint,
    expires_at timestamptz) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE c conversations; q queues; agent bigint; cap int; relaxed boolean; skilled boolean;
	ids bigint[]; loads int[]; caps int[]; idles timestamptz[]; free int; n int; i int;
	head int := 1; k int;
	o_conv bigint[] := '{}'; o_user bigint[] := '{}'; o_exp timestamptz[] := '{}';
BEGIN
	PERFORM vb_acd_lock();
	PERFORM vb_acd_overflow();
	SELECT max(capacity) INTO cap FROM queues WHERE tenant_id = vb_tenant();
	SELECT array_agg(f.user_id ORDER BY f.idle, f.user_id), array_agg(f.n ORDER BY f.idle, f.user_id),
	    array_agg(f.capacity ORDER BY f.idle, f.user_id), array_agg(f.idle ORDER BY f.idle, f.user_id)
	INTO ids, loads, caps, idles
	FROM (SELECT a.user_id, coalesce(load.n, 0)::int AS n, a.capacity,
		coalesce(a.last_assigned_at, a.since) AS idle
	    FROM agent_states a JOIN users u ON u.id = a.user_id
	    LEFT JOIN (SELECT CASE l.routing WHEN 'assigned' THEN l.assigned_user_id
			ELSE l.offered_user_id END AS uid,
		    count(*) AS n, bool_or(l.routing = 'offered') AS ringing
		FROM conversations l WHERE l.tenant_id = vb_tenant() AND l.status = 'open'
		  AND l.routing IN ('offered', 'assigned')
		GROUP BY 1) load ON load.uid = a.user_id
	    WHERE a.tenant_id = vb_tenant() AND u.status = 'active'
	      AND (a.state = 'ready' OR (a.state = 'wrapup' AND a.wrapup_until <= now()))
	      AND (a.seen_at IS NULL OR a.seen_at > now() - interval '90 seconds')
	      AND NOT coalesce(load.ringing, false)
	      AND EXISTS (SELECT 1 FROM user_roles ur JOIN role_permissions rp ON rp.role_id = ur.role_id
		    WHERE ur.user_id = a.user_id AND rp.permission = 'console.agent')
	      AND coalesce(load.n, 0) < coalesce(a.capacity, cap, 0)
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
