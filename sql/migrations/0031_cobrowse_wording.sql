-- W10: the conversation's co-browse lines spoke of the customer's
-- "screen", the word the product uses for screen sharing in calls (W13);
-- co-browsing shares the web page. The function is rewritten from its own
-- definition with only those strings changed; lines already stored keep
-- their words.
DO $do$
DECLARE def text := pg_get_functiondef('vb_cobrowse_op(text, bigint, jsonb)'::regprocedure);
BEGIN
	IF position($x$customer''s screen$x$ IN def) = 0 OR position($x$sharing their screen$x$ IN def) = 0 THEN
		RAISE EXCEPTION '0031: vb_cobrowse_op is not the expected one';
	END IF;
	def := replace(def, $x$asked to see the customer''s screen$x$, $x$asked to see the customer''s page$x$);
	def := replace(def, $x$The customer is sharing their screen$x$, $x$The customer is sharing their page$x$);
	EXECUTE def;
END $do$;
