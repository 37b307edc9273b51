-- What a widget panel may learn about its site before any session exists:
-- the origins allowed to frame it. SECURITY DEFINER: no tenant is known yet.
CREATE FUNCTION vb_site_frame_origins(p_key text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
BEGIN
	RETURN (SELECT array_to_string(allowed_origins, ' ') FROM sites WHERE site_key = p_key);
END $$;
REVOKE EXECUTE ON FUNCTION vb_site_frame_origins(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vb_site_frame_origins(text) TO vb_app;
