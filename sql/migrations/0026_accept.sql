-- Routing speed, part 3 (issue 3: 1,000 routing decisions per second).
--
-- An accept took about 0.9 ms of PostgreSQL CPU, most of it spent on
-- updating the conversation twice in one transaction: once to assign it,
-- once (in vb_message_add) to number the "joined" line. The second update
-- of a row the transaction itself wrote re-runs every foreign-key check of
-- the row (organisation, customer, queue, agent: PostgreSQL cannot tell the
-- keys are unchanged from a tuple of its own transaction), evaluates every
-- check constraint again and writes one more row version. The accept now
-- assigns and numbers in one UPDATE, whose WHERE is the offer check (no
-- SELECT … FOR UPDATE before it: under READ COMMITTED a concurrent change
-- makes PostgreSQL re-check the WHERE on the newest version), and inserts
-- the line itself.
CREATE OR REPLACE FUNCTION vb_acd_accept_msg(p_conv bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE me bigint := vb_actor(); s bigint; m messages;
BEGIN
	UPDATE conversations SET routing = 'assigned', assigned_user_id = me, assigned_at = now(),
	    offered_user_id = NULL, offer_expires_at = NULL, last_seq = last_seq + 1
	WHERE id = p_conv AND routing = 'offered' AND offered_user_id = me
	  AND (offer_expires_at IS NULL OR offer_expires_at >= now())
	RETURNING last_seq INTO s;
	IF NOT FOUND THEN
		PERFORM vb_fail(409, 'offer_gone', 'This offer is no longer yours');
	END IF;
	INSERT INTO conversation_staff (conversation_id, user_id) VALUES (p_conv, me)
	ON CONFLICT DO NOTHING;
	UPDATE agent_states SET last_assigned_at = now() WHERE user_id = me;
	INSERT INTO messages (conversation_id, seq, sender_kind, sender_id, client_id, body)
	VALUES (p_conv, s, 'system', me, 'joined-' || me || '-' || s, vb_user_name(me) || ' joined the chat')
	RETURNING * INTO m;
	RETURN vb_message_json(m);
END $$;

-- Ending a chat tells the customer (W6): "NAME ended the chat" is a system
-- line with meta.event = "ended", stored with the close and delivered like
-- any message, so a customer who comes back later sees it in the replay too.
-- Answers the kind of finish (as vb_conversation_finish) and the line.
CREATE FUNCTION vb_conversation_end(p_conv bigint) RETURNS TABLE (o_kind text, o_frame text)
LANGUAGE plpgsql AS $$
DECLARE k text; m messages; me bigint := vb_actor();
BEGIN
	k := vb_conversation_finish(p_conv);
	m := vb_message_add(p_conv, 'system', me, 'ended-' || coalesce(me, 0) || '-' ||
	    (SELECT last_seq + 1 FROM conversations WHERE id = p_conv),
	    vb_user_name(me) || ' ended the chat', '{"event": "ended"}');
	RETURN QUERY SELECT k, vb_message_json(m)::text;
END $$;

GRANT EXECUTE ON FUNCTION vb_conversation_end(bigint), vb_acd_accept_msg(bigint) TO vb_app;

-- The customer ends the chat (W6, "finish" from the widget): while it waits
-- in a queue that is leaving the queue; with an agent, the chat closes, the
-- agent gets "finished" (by the customer) and goes to wrap-up as if they had
-- ended it, and everyone following sees "The customer ended the chat".
CREATE FUNCTION vb_customer_end(p_conv bigint, p_customer bigint)
RETURNS TABLE (target text, id bigint, frame text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE c conversations; m messages; wrap int;
BEGIN
	SELECT * INTO c FROM conversations WHERE conversations.id = p_conv FOR UPDATE;
	IF NOT FOUND OR c.customer_id <> p_customer THEN
		PERFORM vb_fail(404, 'not_found', 'No such conversation');
	END IF;
	IF c.status <> 'open' THEN
		PERFORM vb_fail(409, 'closed', 'This conversation has ended');
	END IF;
	IF c.routing IN ('queued', 'offered') THEN
		RETURN QUERY SELECT * FROM vb_customer_leave_queue(p_conv, p_customer);
		RETURN;
	END IF;
	UPDATE conversations SET status = 'closed', closed_at = now() WHERE conversations.id = p_conv;
	IF c.assigned_user_id IS NOT NULL THEN
		SELECT wrapup_s INTO wrap FROM queues WHERE queues.id = c.queue_id;
		UPDATE agent_states SET state = 'wrapup', since = now(),
		    wrapup_until = now() + make_interval(secs => coalesce(wrap, 0))
		WHERE user_id = c.assigned_user_id AND state = 'ready';
	END IF;
	m := vb_message_add(p_conv, 'system', NULL, 'ended-customer-' || p_conv,
	    'The customer ended the chat', '{"event": "ended", "by": "customer"}');
	RETURN QUERY VALUES ('conv', p_conv, vb_message_json(m)::text),
	    ('reply', p_conv, jsonb_build_object('type', 'ended', 'conversation_id', p_conv)::text);
	IF c.assigned_user_id IS NOT NULL THEN
		RETURN QUERY VALUES ('user', c.assigned_user_id, jsonb_build_object('type', 'finished',
		    'conversation_id', p_conv, 'by', 'customer')::text);
	END IF;
	RETURN QUERY VALUES ('route', NULL::bigint, NULL::text), ('board', NULL, NULL);
END $$;

GRANT EXECUTE ON FUNCTION vb_customer_end(bigint, bigint) TO vb_app;
