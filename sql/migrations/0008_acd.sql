-- The ACD's routing core: queues, agent states, and the functions that offer
-- waiting contacts to agents. Atomic by construction: a router locks the
-- contact and the agent row it picks (FOR UPDATE SKIP LOCKED), so two
-- workers or two nodes routing at once never offer one contact twice nor push
-- an agent past capacity. Offers count against capacity until answered.

CREATE TABLE queues (
	id			bigserial PRIMARY KEY,
	tenant_id		bigint NOT NULL DEFAULT vb_tenant() REFERENCES organisations(id),
	name			text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	strategy		text NOT NULL DEFAULT 'longest_idle'
				    CHECK (strategy IN ('round_robin', 'longest_idle', 'least_occupied')),
	priority		int NOT NULL DEFAULT 0 CHECK (priority BETWEEN -100 AND 100),
	capacity		int NOT NULL DEFAULT 3 CHECK (capacity BETWEEN 1 AND 50),
	offer_timeout_s		int NOT NULL DEFAULT 20 CHECK (offer_timeout_s BETWEEN 5 AND 300),
	wrapup_s		int NOT NULL DEFAULT 30 CHECK (wrapup_s BETWEEN 0 AND 3600),
	preferred_s		int NOT NULL DEFAULT 30 CHECK (preferred_s BETWEEN 0 AND 3600),
	overflow_queue_id	bigint,
	overflow_after_s	int CHECK (overflow_after_s > 0),
	overflow_waiting	int CHECK (overflow_waiting > 0),
	relax_after_s		int CHECK (relax_after_s > 0),
	rr_last_user		bigint NOT NULL DEFAULT 0,
	created_at		timestamptz NOT NULL DEFAULT now(),
	UNIQUE (tenant_id, id),
	FOREIGN KEY (tenant_id, overflow_queue_id) REFERENCES queues(tenant_id, id)
);
CREATE UNIQUE INDEX queues_name ON queues (tenant_id, lower(name));

CREATE TABLE queue_skills (
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	queue_id	bigint NOT NULL,
	skill_id	bigint NOT NULL,
	min_level	smallint NOT NULL CHECK (min_level BETWEEN 1 AND 5),
	PRIMARY KEY (queue_id, skill_id),
	FOREIGN KEY (tenant_id, queue_id) REFERENCES queues(tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, skill_id) REFERENCES skills(tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE agent_states (
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	user_id		bigint PRIMARY KEY,
	state		text NOT NULL DEFAULT 'offline'
			    CHECK (state IN ('offline', 'ready', 'not_ready', 'wrapup')),
	reason		text CHECK (length(reason) <= 100),
	since		timestamptz NOT NULL DEFAULT now(),
	capacity	int CHECK (capacity BETWEEN 1 AND 50),
	wrapup_until	timestamptz,
	last_assigned_at timestamptz,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
);

ALTER TABLE conversations
	ADD COLUMN queue_id bigint,
	ADD COLUMN routing text NOT NULL DEFAULT 'none'
	    CHECK (routing IN ('none', 'queued', 'offered', 'assigned', 'abandoned')),
	ADD COLUMN priority int NOT NULL DEFAULT 0,
	ADD COLUMN queued_at timestamptz,
	ADD COLUMN preferred_user_id bigint,
	ADD COLUMN offered_user_id bigint,
	ADD COLUMN offer_expires_at timestamptz,
	ADD COLUMN declined bigint[] NOT NULL DEFAULT '{}',
	ADD COLUMN assigned_user_id bigint,
	ADD COLUMN assigned_at timestamptz,
	ADD COLUMN abandoned_at timestamptz,
	ADD FOREIGN KEY (tenant_id, queue_id) REFERENCES queues(tenant_id, id),
	ADD FOREIGN KEY (tenant_id, preferred_user_id) REFERENCES users(tenant_id, id),
	ADD FOREIGN KEY (tenant_id, assigned_user_id) REFERENCES users(tenant_id, id);
CREATE INDEX conversations_waiting ON conversations (tenant_id, priority DESC, queued_at)
	WHERE routing = 'queued';
CREATE INDEX conversations_agent ON conversations (assigned_user_id)
	WHERE routing IN ('offered', 'assigned') AND status = 'open';
CREATE INDEX conversations_offered ON conversations (offered_user_id)
	WHERE routing = 'offered';

DO $$
DECLARE t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['queues', 'queue_skills', 'agent_states']
	LOOP
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = vb_tenant()) '
		    'WITH CHECK (tenant_id = vb_tenant())', t);
		EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO vb_app', t);
	END LOOP;
END $$;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO vb_app;

-- Contacts an agent holds: assigned and open, plus offers not yet answered.
CREATE FUNCTION vb_acd_load(p_user bigint) RETURNS int LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT count(*) FROM conversations
	    WHERE status = 'open' AND ((routing = 'assigned' AND assigned_user_id = p_user)
	       OR (routing = 'offered' AND offered_user_id = p_user)));
END $$;

-- Puts a conversation in a queue. Priority = queue priority + customer
-- importance (VIP from the token or the address book, passed by the caller).
-- A preferred agent (relationship manager) is offered it first, for the
-- queue's preferred_s seconds.
CREATE FUNCTION vb_acd_enqueue(p_conv bigint, p_queue bigint, p_importance int,
    p_preferred bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE q queues;
BEGIN
	SELECT * INTO q FROM queues WHERE id = p_queue;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such queue'); END IF;
	UPDATE conversations SET queue_id = p_queue, routing = 'queued', queued_at = now(),
	    priority = q.priority + coalesce(p_importance, 0), preferred_user_id = p_preferred,
	    declined = '{}', offered_user_id = NULL, offer_expires_at = NULL
	WHERE id = p_conv AND status = 'open' AND routing IN ('none', 'queued');
	IF NOT FOUND THEN PERFORM vb_fail(409, 'conflict', 'The conversation cannot be queued now'); END IF;
END $$;

-- Agent state changes (ready / not ready with reason / offline). Wrap-up is
-- entered by vb_acd_finish and ends by itself.
CREATE FUNCTION vb_acd_set_state(p_state text, p_reason text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF p_state NOT IN ('offline', 'ready', 'not_ready') THEN
		PERFORM vb_fail(422, 'invalid', 'State must be ready, not_ready or offline');
	END IF;
	INSERT INTO agent_states (user_id, state, reason, since)
	VALUES (vb_actor(), p_state, CASE WHEN p_state = 'not_ready' THEN p_reason END, now())
	ON CONFLICT (user_id) DO UPDATE SET state = EXCLUDED.state, reason = EXCLUDED.reason,
	    since = now(), wrapup_until = NULL;
END $$;

-- Moves contacts on by the queues' overflow rules, keeping their place
-- (queued_at is not touched).
CREATE FUNCTION vb_acd_overflow() RETURNS int LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
	UPDATE conversations c SET queue_id = q.overflow_queue_id
	FROM queues q
	WHERE c.routing = 'queued' AND c.queue_id = q.id AND q.overflow_queue_id IS NOT NULL
	  AND ((q.overflow_after_s IS NOT NULL AND c.queued_at < now() - make_interval(secs => q.overflow_after_s))
	    OR (q.overflow_waiting IS NOT NULL AND (SELECT count(*) FROM conversations w
		WHERE w.queue_id = q.id AND w.routing = 'queued') > q.overflow_waiting));
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END $$;

-- The best agent for one waiting contact, locked, or NULL.
CREATE FUNCTION vb_acd_pick(c conversations, q queues) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE pick bigint; relaxed boolean;
BEGIN
	relaxed := q.relax_after_s IS NOT NULL AND c.queued_at < now() - make_interval(secs => q.relax_after_s);
	SELECT a.user_id INTO pick
	FROM agent_states a JOIN users u ON u.id = a.user_id
	WHERE a.tenant_id = c.tenant_id AND u.status = 'active'
	  AND (a.state = 'ready' OR (a.state = 'wrapup' AND a.wrapup_until <= now()))
	  AND 'console.agent' = ANY (vb_perms_of(a.user_id))
	  AND NOT (a.user_id = ANY (c.declined))
	  AND (c.preferred_user_id IS NULL OR c.queued_at < now() - make_interval(secs => q.preferred_s)
	       OR a.user_id = c.preferred_user_id)
	  AND NOT EXISTS (SELECT 1 FROM queue_skills qs WHERE qs.queue_id = q.id AND NOT EXISTS (
		SELECT 1 FROM user_skills us WHERE us.user_id = a.user_id AND us.skill_id = qs.skill_id
		  AND us.level >= CASE WHEN relaxed THEN 1 ELSE qs.min_level END))
	  AND NOT EXISTS (SELECT 1 FROM conversations o WHERE o.routing = 'offered'
		AND o.offered_user_id = a.user_id)
	  AND vb_acd_load(a.user_id) < coalesce(a.capacity, q.capacity)
	ORDER BY
	  (a.user_id = c.preferred_user_id) DESC,
	  CASE q.strategy WHEN 'least_occupied'
	      THEN vb_acd_load(a.user_id)::float / coalesce(a.capacity, q.capacity) END,
	  CASE q.strategy WHEN 'round_robin' THEN (a.user_id <= q.rr_last_user) END,
	  CASE q.strategy WHEN 'round_robin' THEN a.user_id END,
	  coalesce(a.last_assigned_at, a.since)
	LIMIT 1
	FOR UPDATE OF a SKIP LOCKED;
	RETURN pick;
END $$;

-- One routing pass: every waiting contact in order (priority, then time in
-- queue) that some agent can take gets one offer. Returns the offers made.
-- Driven by events (contact queued, agent ready, offer answered or expired),
-- not by clients polling.
CREATE FUNCTION vb_acd_route() RETURNS TABLE (conversation_id bigint, user_id bigint,
    expires_at timestamptz) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE c conversations; q queues; agent bigint;
BEGIN
	PERFORM vb_acd_overflow();
	FOR c IN SELECT * FROM conversations w WHERE w.routing = 'queued'
	    AND w.tenant_id = vb_tenant()
	    ORDER BY w.priority DESC, w.queued_at, w.id FOR UPDATE SKIP LOCKED
	LOOP
		SELECT * INTO q FROM queues WHERE id = c.queue_id;
		agent := vb_acd_pick(c, q);
		CONTINUE WHEN agent IS NULL;
		UPDATE conversations SET routing = 'offered', offered_user_id = agent,
		    offer_expires_at = now() + make_interval(secs => q.offer_timeout_s)
		WHERE id = c.id;
		conversation_id := c.id;
		user_id := agent;
		expires_at := now() + make_interval(secs => q.offer_timeout_s);
		RETURN NEXT;
	END LOOP;
END $$;

-- The offered agent takes the contact.
CREATE FUNCTION vb_acd_accept(p_conv bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE c conversations;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_conv FOR UPDATE;
	IF NOT FOUND OR c.routing <> 'offered' OR c.offered_user_id IS DISTINCT FROM vb_actor()
	    OR c.offer_expires_at < now() THEN
		PERFORM vb_fail(409, 'offer_gone', 'This offer is no longer yours');
	END IF;
	UPDATE conversations SET routing = 'assigned', assigned_user_id = vb_actor(),
	    assigned_at = now(), offered_user_id = NULL, offer_expires_at = NULL WHERE id = p_conv;
	INSERT INTO conversation_staff (conversation_id, user_id) VALUES (p_conv, vb_actor())
	ON CONFLICT DO NOTHING;
	UPDATE agent_states SET last_assigned_at = now() WHERE user_id = vb_actor();
	UPDATE queues SET rr_last_user = vb_actor() WHERE id = c.queue_id;
END $$;

-- The offered agent declines: back in the queue, never offered to them again.
CREATE FUNCTION vb_acd_decline(p_conv bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	UPDATE conversations SET routing = 'queued', declined = declined || vb_actor(),
	    offered_user_id = NULL, offer_expires_at = NULL
	WHERE id = p_conv AND routing = 'offered' AND offered_user_id = vb_actor();
	IF NOT FOUND THEN PERFORM vb_fail(409, 'offer_gone', 'This offer is no longer yours'); END IF;
END $$;

-- Offers nobody answered in time go back to the queue; the agent who let one
-- ring out is set not ready, as a missing agent should not get the next one.
CREATE FUNCTION vb_acd_expire() RETURNS int LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
	WITH gone AS (
		SELECT id, offered_user_id FROM conversations
		WHERE routing = 'offered' AND offer_expires_at < now() FOR UPDATE SKIP LOCKED
	), back AS (
		UPDATE conversations c SET routing = 'queued', declined = c.declined || g.offered_user_id,
		    offered_user_id = NULL, offer_expires_at = NULL
		FROM gone g WHERE c.id = g.id
		RETURNING g.offered_user_id AS uid
	), away AS (
		UPDATE agent_states a SET state = 'not_ready', reason = 'Missed offer', since = now()
		WHERE a.state = 'ready' AND a.user_id IN (SELECT uid FROM back)
		RETURNING 1
	)
	SELECT count(*) INTO n FROM back;
	RETURN n;
END $$;

-- The agent finishes a contact: it closes, and the agent is in wrap-up for
-- the queue's wrap-up time.
CREATE FUNCTION vb_acd_finish(p_conv bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE c conversations; wrap int;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_conv FOR UPDATE;
	IF NOT FOUND OR c.assigned_user_id IS DISTINCT FROM vb_actor() OR c.status <> 'open' THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation of yours');
	END IF;
	UPDATE conversations SET status = 'closed', closed_at = now() WHERE id = p_conv;
	SELECT wrapup_s INTO wrap FROM queues WHERE id = c.queue_id;
	UPDATE agent_states SET state = 'wrapup', since = now(),
	    wrapup_until = now() + make_interval(secs => coalesce(wrap, 0))
	WHERE user_id = vb_actor() AND state = 'ready';
END $$;

-- The customer left before anyone answered: kept for follow-up (A7).
CREATE FUNCTION vb_acd_abandon(p_conv bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	UPDATE conversations SET routing = 'abandoned', abandoned_at = now(),
	    offered_user_id = NULL, offer_expires_at = NULL
	WHERE id = p_conv AND routing IN ('queued', 'offered');
END $$;

-- Place in the queue (1 = next) and an estimated wait: the recent average
-- wait in this queue, scaled by the place, spread over the ready agents.
CREATE FUNCTION vb_acd_position(p_conv bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE c conversations; pos int; avg_wait float; ready int;
BEGIN
	SELECT * INTO c FROM conversations WHERE id = p_conv;
	IF NOT FOUND OR c.routing NOT IN ('queued', 'offered') THEN
		RETURN jsonb_build_object('position', NULL, 'estimated_wait_s', NULL);
	END IF;
	SELECT count(*) + 1 INTO pos FROM conversations w
	WHERE w.queue_id = c.queue_id AND w.routing = 'queued' AND w.id <> c.id
	  AND (w.priority > c.priority OR (w.priority = c.priority AND
	       (w.queued_at, w.id) < (c.queued_at, c.id)));
	SELECT avg(extract(epoch FROM assigned_at - queued_at)) INTO avg_wait FROM (
		SELECT assigned_at, queued_at FROM conversations
		WHERE queue_id = c.queue_id AND assigned_at IS NOT NULL
		ORDER BY assigned_at DESC LIMIT 20) recent;
	SELECT count(*) INTO ready FROM agent_states WHERE state = 'ready';
	RETURN jsonb_build_object('position', CASE WHEN c.routing = 'offered' THEN 0 ELSE pos END,
	    'estimated_wait_s', round(coalesce(avg_wait, 30) * pos / greatest(ready, 1)));
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;
