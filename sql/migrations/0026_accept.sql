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
