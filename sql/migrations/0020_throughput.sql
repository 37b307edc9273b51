-- Chat and routing throughput (issue 3). Part 1: several chat messages per transaction.
--
-- A Kore worker gathers the sends that arrive while its earlier batches are
-- being committed and stores them with one call, one transaction and one
-- commit. Each item carries its own tenant, user, address and request id,
-- set with set_config(..., true) before its own call, so row-level security
-- and the audit log see exactly what they would for a single send. Each item
-- runs in its own subtransaction (the EXCEPTION block): one refused message
-- (closed conversation, another tenant's id) is answered with its error and
-- leaves the others stored. Items are taken in conversation order, so two
-- batches lock conversation rows in the same order and cannot deadlock each
-- other; within one conversation the order of arrival is kept.
--
-- Input: a JSON array of {t, u, a, r, conv, kind, sender, client, body,
-- subject}; output: one row per item, by its index in the array, with either
-- the stored message frame (and whether it put the chat in a queue) or the
-- error's SQLSTATE, message and hint.
-- One send, as vb_message_post (0012), also saying whether this message put
-- the chat in a queue: the hub then runs a routing pass for the organisation.
CREATE FUNCTION vb_message_post_x(p_conv bigint, p_kind text, p_sender bigint, p_client text,
    p_body text, p_subject bigint, OUT frame jsonb, OUT enqueued boolean) LANGUAGE plpgsql AS $$
DECLARE c conversations; m messages; q bigint; subj subjects;
BEGIN
	enqueued := false;
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
		frame := vb_message_json(m);
		RETURN;
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
	m := vb_message_add(p_conv, p_kind, p_sender, p_client, p_body, NULL);
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
			enqueued := true;
		END IF;
	END IF;
	frame := vb_message_json(m);
END $$;

CREATE OR REPLACE FUNCTION vb_message_post(p_conv bigint, p_kind text, p_sender bigint, p_client text,
    p_body text, p_subject bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	RETURN (SELECT x.frame FROM vb_message_post_x(p_conv, p_kind, p_sender, p_client, p_body,
	    p_subject) x);
END $$;

-- A customer writing again reopens a handled follow-up (A7). That was a
-- trigger on messages, with its own UPDATE of the conversation for every
-- customer message; the conversation's row is updated here anyway.
CREATE OR REPLACE FUNCTION vb_message_add(p_conv bigint, p_kind text, p_sender bigint, p_client text,
    p_body text, p_meta jsonb) RETURNS messages LANGUAGE plpgsql AS $$
DECLARE seq bigint; m messages;
BEGIN
	IF p_kind = 'customer' THEN
		UPDATE conversations SET last_seq = last_seq + 1, handled_at = NULL, handled_by = NULL
		WHERE id = p_conv RETURNING last_seq INTO seq;
	ELSE
		UPDATE conversations SET last_seq = last_seq + 1 WHERE id = p_conv
		RETURNING last_seq INTO seq;
	END IF;
	INSERT INTO messages (conversation_id, seq, sender_kind, sender_id, client_id, body, meta)
	VALUES (p_conv, seq, p_kind, p_sender, p_client, p_body, p_meta) RETURNING * INTO m;
	RETURN m;
END $$;

DROP TRIGGER messages_followup_reopen ON messages;

CREATE FUNCTION vb_message_post_batch(p jsonb)
RETURNS TABLE (o_index int, o_frame text, o_seq bigint, o_queued boolean, o_state text,
    o_message text, o_hint text)
LANGUAGE plpgsql AS $$
DECLARE e jsonb; k bigint; f jsonb; q boolean; who text := '';
BEGIN
	IF jsonb_typeof(p) IS DISTINCT FROM 'array' THEN
		RAISE EXCEPTION 'vb_message_post_batch: not an array';
	END IF;
	FOR e, k IN SELECT x.value, x.ordinality FROM jsonb_array_elements(p) WITH ORDINALITY x
	    ORDER BY (x.value->>'conv')::bigint, x.ordinality LOOP
		o_index := k - 1;
		o_frame := NULL; o_seq := NULL; o_queued := NULL;
		o_state := NULL; o_message := NULL; o_hint := NULL;
		-- Most neighbours in a batch share the organisation, the user and
		-- the address: the settings change only when those do.
		IF who IS DISTINCT FROM concat_ws('|', e->>'t', e->>'u', e->>'a') THEN
			who := concat_ws('|', e->>'t', e->>'u', e->>'a');
			PERFORM set_config('vb.tenant_id', coalesce(e->>'t', ''), true),
			    set_config('vb.user_id', coalesce(e->>'u', ''), true),
			    set_config('vb.addr', coalesce(e->>'a', ''), true),
			    set_config('vb.request_id', coalesce(e->>'r', ''), true);
		END IF;
		BEGIN
			SELECT x.frame, x.enqueued INTO f, q FROM vb_message_post_x((e->>'conv')::bigint,
			    e->>'kind', (e->>'sender')::bigint, e->>'client', e->>'body',
			    (e->>'subject')::bigint) x;
			o_frame := f::text;
			o_seq := (f->>'seq')::bigint;
			o_queued := q;
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS o_state = RETURNED_SQLSTATE, o_message = MESSAGE_TEXT,
			    o_hint = PG_EXCEPTION_HINT;
		END;
		RETURN NEXT;
	END LOOP;
END $$;

GRANT EXECUTE ON FUNCTION vb_message_post_batch(jsonb), vb_message_post_x(bigint, text, bigint, text, text, bigint),
    vb_message_post(bigint, text, bigint, text, text, bigint),
    vb_message_add(bigint, text, bigint, text, text, jsonb) TO vb_app;

-- Routing speed, part 2 (issue 3: 1,000 routing decisions per second).
--
-- 1. Every accept updated its queue's round-robin cursor (queues.rr_last_user),
--    so all the accepts of one queue waited for each other on that row, each
--    until the one before had committed: eight consoles accepting at once saw
--    33 ms per accept. The cursor now moves when the offer is made, inside the
--    routing pass that already runs alone per organisation; the accept no
--    longer touches the queue.
-- 2. The pass confirmed each choice with every rule of vb_acd_pick again
--    (roles, skills, preferred agent: all read moments before in the same
--    pass). It now locks the agent's state row and checks only what another
--    transaction can change meanwhile: the agent's state and presence, an
--    offer made elsewhere (a transfer) and the load against capacity.

CREATE OR REPLACE FUNCTION vb_acd_accept(p_conv bigint) RETURNS void LANGUAGE plpgsql AS $$
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
END $$;

-- Whether an agent chosen in this pass may still be offered a contact: the
-- state row locked (or no, if another transaction has it), then what may have
-- changed since the pass read its list of agents.
CREATE FUNCTION vb_acd_claim(p_agent bigint, p_cap int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM agent_states a WHERE a.user_id = p_agent
	  AND (a.state = 'ready' OR (a.state = 'wrapup' AND a.wrapup_until <= now()))
	  AND (a.seen_at IS NULL OR a.seen_at > now() - interval '90 seconds')
	FOR UPDATE SKIP LOCKED;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	RETURN NOT EXISTS (SELECT 1 FROM conversations o WHERE o.routing = 'offered'
	    AND o.offered_user_id = p_agent) AND vb_acd_load(p_agent) < p_cap;
END $$;

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
			EXIT WHEN agent IS NULL OR vb_acd_claim(agent, (SELECT coalesce(x.cap, q.capacity)
			    FROM unnest(ids, caps) x(id, cap) WHERE x.id = agent));
			-- Changed since the list was read, or locked by another: not now.
			ids[array_position(ids, agent)] := NULL;
			free := free - 1;
		END LOOP;
		CONTINUE WHEN agent IS NULL;
		UPDATE conversations SET routing = 'offered', offered_user_id = agent,
		    offer_expires_at = now() + make_interval(secs => q.offer_timeout_s)
		WHERE id = c.id;
		-- The round-robin cursor moves on the offer, under this pass's lock,
		-- not on the accept (where every agent's accept would queue on the
		-- queue's row).
		IF q.strategy = 'round_robin' THEN
			UPDATE queues SET rr_last_user = agent WHERE id = q.id;
		END IF;
		conversation_id := c.id;
		user_id := agent;
		expires_at := now() + make_interval(secs => q.offer_timeout_s);
		RETURN NEXT;
		ids[array_position(ids, agent)] := NULL;
		free := free - 1;
		EXIT WHEN free <= 0;
	END LOOP;
END $$;

GRANT EXECUTE ON FUNCTION vb_acd_claim(bigint, int), vb_acd_accept(bigint), vb_acd_route() TO vb_app;
