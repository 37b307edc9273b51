-- Live queue position for waiting customers (W5). After each routing pass
-- the hub asks for the positions that changed since they were last told,
-- with an estimated wait: the queue's recent average wait, scaled by the
-- place, spread over the ready agents.
ALTER TABLE conversations ADD COLUMN last_position int;

CREATE FUNCTION vb_acd_positions() RETURNS TABLE (conversation_id bigint, pos int, wait_s int)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE ready int;
BEGIN
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
	)
	SELECT ch.id, ch.p, round(coalesce((SELECT avg(extract(epoch FROM x.assigned_at - x.queued_at))
	    FROM (SELECT assigned_at, queued_at FROM conversations y WHERE y.queue_id = ch.queue_id
		AND y.assigned_at IS NOT NULL ORDER BY y.assigned_at DESC LIMIT 20) x), 30)
	    * ch.p / ready)::int
	FROM changed ch;
END $$;
GRANT EXECUTE ON FUNCTION vb_acd_positions() TO vb_app;
