-- Expired sessions are removed when presented; this sweeps the ones nobody
-- presents again. SECURITY DEFINER: it spans all tenants.
CREATE FUNCTION vb_sessions_sweep(p_idle interval) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE n integer;
BEGIN
	DELETE FROM sessions WHERE expires_at < now() OR last_seen_at < now() - p_idle;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END $$;
REVOKE EXECUTE ON FUNCTION vb_sessions_sweep(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vb_sessions_sweep(interval) TO vb_app;
