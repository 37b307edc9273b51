-- A conversation's importance (VIP value from the host site's signed token,
-- 0013) raises its priority in the queue (A2): priority = the queue's
-- priority + the caller's importance + the conversation's own.
CREATE OR REPLACE FUNCTION vb_acd_enqueue(p_conv bigint, p_queue bigint, p_importance int,
    p_preferred bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE q queues;
BEGIN
	SELECT * INTO q FROM queues WHERE id = p_queue;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such queue'); END IF;
	UPDATE conversations SET queue_id = p_queue, routing = 'queued', queued_at = now(),
	    priority = q.priority + coalesce(p_importance, 0) + importance,
	    preferred_user_id = p_preferred,
	    declined = '{}', offered_user_id = NULL, offer_expires_at = NULL
	WHERE id = p_conv AND status = 'open' AND routing IN ('none', 'queued');
	IF NOT FOUND THEN PERFORM vb_fail(409, 'conflict', 'The conversation cannot be queued now'); END IF;
END $$;
