-- Widget customer authorisation (W3), per-site appearance (W1) and context
-- relay (W19), issue 3.
--
--  * sites.settings->'appearance' {position, colour, logo_url, language,
--    greeting} and ->'auth' {mode, alg, public_key, audience, complexity},
--    each written by its own audited function; the HS256 secret lives in
--    sites.token_secret (never in settings, never answered after creation).
--  * server_secrets: the master secret every worker and node derives its
--    keys from (ALTCHA signing, …) unless VB_SECRET_KEY is set. The first
--    worker to ask offers a libsodium-random value; the first offer wins.
--  * customers.external_id is unique per organisation (tokenised
--    customers); conversations carry context (what the customer's browser
--    told us, ≤ 8 KB), importance (0–100 VIP value from the host's token,
--    for the queue priority) and auth_mode (how the customer was admitted).
--  * smtp_settings: one outgoing mail server per organisation (one-time
--    codes); the password is sealed by the C side (libsodium secretbox under
--    a key derived from the master secret) and never leaves the server.
--  * widget_otps: one-time codes for e-mail sign-in, stored as HMACs, valid
--    10 minutes, 5 attempts, single use.

CREATE TABLE server_secrets (
	name		text PRIMARY KEY CHECK (name ~ '^[a-z_]{1,40}$'),
	value		bytea NOT NULL CHECK (length(value) = 32),
	created_at	timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON server_secrets FROM PUBLIC;

CREATE FUNCTION vb_server_secret(p_name text, p_offer bytea) RETURNS bytea
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE v bytea;
BEGIN
	INSERT INTO server_secrets (name, value) VALUES (p_name, p_offer) ON CONFLICT (name) DO NOTHING;
	SELECT value INTO v FROM server_secrets WHERE name = p_name;
	RETURN v;
END $$;
REVOKE EXECUTE ON FUNCTION vb_server_secret(text, bytea) FROM PUBLIC;

ALTER TABLE sites ADD COLUMN token_secret bytea CHECK (token_secret IS NULL OR length(token_secret) = 32);

ALTER TABLE customers ADD COLUMN importance int NOT NULL DEFAULT 0 CHECK (importance BETWEEN 0 AND 100);
CREATE UNIQUE INDEX customers_external ON customers (tenant_id, external_id) WHERE external_id IS NOT NULL;

ALTER TABLE conversations
	ADD COLUMN context jsonb CHECK (context IS NULL OR (jsonb_typeof(context) = 'object'
	    AND octet_length(context::text) <= 8192)),
	ADD COLUMN importance int NOT NULL DEFAULT 0 CHECK (importance BETWEEN 0 AND 100),
	ADD COLUMN auth_mode text NOT NULL DEFAULT 'anonymous'
	    CHECK (auth_mode IN ('anonymous', 'captcha', 'email_otp', 'token'));

-- Site widget settings: what the admin page shows. No secret, only whether
-- one exists.
CREATE FUNCTION vb_site_widget_json(p_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT jsonb_build_object('id', id, 'site_key', site_key,
	    'appearance', coalesce(settings->'appearance', '{}'),
	    'auth', coalesce(settings->'auth', '{"mode":"anonymous"}') ||
		jsonb_build_object('has_secret', token_secret IS NOT NULL))
	    FROM sites WHERE id = p_id);
END $$;

CREATE FUNCTION vb_site_widget_get(p_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE j jsonb;
BEGIN
	j := vb_site_widget_json(p_id);
	IF j IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such site'); END IF;
	RETURN j;
END $$;

-- The C handler validated every field (contrast, URL forms); the checks
-- here keep the stored shape whoever calls.
CREATE FUNCTION vb_site_appearance_save(p_id bigint, p_appearance jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE before jsonb; after jsonb;
BEGIN
	before := vb_site_widget_json(p_id);
	IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such site'); END IF;
	IF jsonb_typeof(p_appearance) <> 'object'
	    OR NOT coalesce(p_appearance->>'position', 'right') IN ('right', 'left')
	    OR NOT coalesce(p_appearance->>'colour', '#0b5cad') ~ '^#[0-9a-f]{6}$'
	    OR length(coalesce(p_appearance->>'logo_url', '')) > 500
	    OR length(coalesce(p_appearance->>'greeting', '')) > 300
	    OR NOT coalesce(p_appearance->>'language', 'en') ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$' THEN
		PERFORM vb_fail(422, 'invalid', 'The appearance settings are not valid');
	END IF;
	UPDATE sites SET settings = settings || jsonb_build_object('appearance', p_appearance),
	    updated_at = now() WHERE id = p_id;
	after := vb_site_widget_json(p_id);
	PERFORM vb_audit('site.appearance', 'site', p_id::text, before->'appearance', after->'appearance');
	RETURN after;
END $$;

CREATE FUNCTION vb_site_auth_save(p_id bigint, p_auth jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE before jsonb; after jsonb;
BEGIN
	before := vb_site_widget_json(p_id);
	IF before IS NULL THEN PERFORM vb_fail(404, 'not_found', 'No such site'); END IF;
	IF jsonb_typeof(p_auth) <> 'object'
	    OR NOT coalesce(p_auth->>'mode', '') IN ('anonymous', 'captcha', 'email_otp', 'token')
	    OR NOT coalesce(p_auth->>'alg', 'EdDSA') IN ('EdDSA', 'HS256') THEN
		PERFORM vb_fail(422, 'invalid', 'The authorisation settings are not valid');
	END IF;
	IF p_auth->>'mode' = 'token' AND p_auth->>'alg' = 'EdDSA' AND p_auth->>'public_key' IS NULL THEN
		PERFORM vb_fail(422, 'invalid', 'Token mode with EdDSA needs the public key');
	END IF;
	IF p_auth->>'mode' = 'token' AND p_auth->>'alg' = 'HS256'
	    AND (SELECT token_secret IS NULL FROM sites WHERE id = p_id) THEN
		PERFORM vb_fail(422, 'no_secret', 'Generate the HS256 secret first');
	END IF;
	UPDATE sites SET settings = settings || jsonb_build_object('auth', p_auth),
	    updated_at = now() WHERE id = p_id;
	after := vb_site_widget_json(p_id);
	PERFORM vb_audit('site.auth', 'site', p_id::text, before->'auth', after->'auth');
	RETURN after;
END $$;

-- A new HS256 secret (generated by the server); the audit records that it
-- changed, never the value.
CREATE FUNCTION vb_site_token_secret(p_id bigint, p_secret bytea) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE had boolean;
BEGIN
	SELECT token_secret IS NOT NULL INTO had FROM sites WHERE id = p_id;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such site'); END IF;
	UPDATE sites SET token_secret = p_secret, updated_at = now() WHERE id = p_id;
	PERFORM vb_audit(CASE WHEN had THEN 'site.token_secret_rotate' ELSE 'site.token_secret_create' END,
	    'site', p_id::text, jsonb_build_object('has_secret', had), jsonb_build_object('has_secret', true));
	RETURN vb_site_widget_json(p_id);
END $$;

-- What the widget of a page may know before any session: the site by key,
-- checked against the page's origin. SECURITY DEFINER: no tenant is known
-- yet. 'secret' (hex) is for the server only; the handlers never echo it.
CREATE FUNCTION vb_widget_site(p_key text, p_origin text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
DECLARE s sites;
BEGIN
	SELECT * INTO s FROM sites WHERE site_key = p_key;
	IF NOT FOUND THEN
		PERFORM vb_fail(404, 'unknown_site', 'Unknown site key');
	END IF;
	IF NOT (p_origin = ANY (s.allowed_origins)) THEN
		PERFORM vb_fail(403, 'origin_not_allowed', 'This page may not use this site key');
	END IF;
	RETURN jsonb_build_object('site_id', s.id, 'site_key', s.site_key,
	    'auth', coalesce(s.settings->'auth', '{"mode":"anonymous"}'),
	    'appearance', coalesce(s.settings->'appearance', '{}'),
	    'secret', encode(s.token_secret, 'hex'));
END $$;

-- Opens a widget session once the C side has checked the site's mode
-- (CAPTCHA solution, signed token, one-time code). p_identity:
-- {mode, external_id?, name?, email?, importance?}. A tokenised customer is
-- found by (organisation, external id) and their name and e-mail updated;
-- otherwise a correlation id the browser kept is honoured only for a
-- customer without an external id (it must not open a verified identity).
CREATE FUNCTION vb_widget_session_open(p_site bigint, p_origin text, p_hash bytea,
    p_correlation uuid, p_identity jsonb, p_context jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE s sites; cid bigint; conv bigint; corr uuid; ext text; imp int;
BEGIN
	SELECT * INTO s FROM sites WHERE id = p_site;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'unknown_site', 'Unknown site key'); END IF;
	IF NOT (p_origin = ANY (s.allowed_origins)) THEN
		PERFORM vb_fail(403, 'origin_not_allowed', 'This page may not use this site key');
	END IF;
	ext := p_identity->>'external_id';
	imp := coalesce((p_identity->>'importance')::int, 0);
	IF ext IS NOT NULL THEN
		INSERT INTO customers (tenant_id, site_id, external_id, display_name, email, importance)
		VALUES (s.tenant_id, s.id, ext, p_identity->>'name', p_identity->>'email', imp)
		ON CONFLICT (tenant_id, external_id) WHERE external_id IS NOT NULL DO UPDATE
		SET display_name = coalesce(EXCLUDED.display_name, customers.display_name),
		    email = coalesce(EXCLUDED.email, customers.email), importance = EXCLUDED.importance
		RETURNING id, correlation_id INTO cid, corr;
	ELSE
		IF p_correlation IS NOT NULL THEN
			SELECT id, correlation_id INTO cid, corr FROM customers
			WHERE tenant_id = s.tenant_id AND correlation_id = p_correlation
			  AND external_id IS NULL;
		END IF;
		IF cid IS NULL THEN
			INSERT INTO customers (tenant_id, site_id) VALUES (s.tenant_id, s.id)
			RETURNING id, correlation_id INTO cid, corr;
		END IF;
		IF p_identity->>'email' IS NOT NULL THEN
			UPDATE customers SET email = p_identity->>'email' WHERE id = cid;
		END IF;
	END IF;
	INSERT INTO conversations (tenant_id, site_id, customer_id, context, importance, auth_mode)
	VALUES (s.tenant_id, s.id, cid, p_context, imp, coalesce(p_identity->>'mode', 'anonymous'))
	RETURNING id INTO conv;
	INSERT INTO widget_sessions (token_hash, tenant_id, site_id, customer_id, origin, expires_at)
	VALUES (p_hash, s.tenant_id, s.id, cid, p_origin, now() + interval '12 hours');
	RETURN jsonb_build_object('customer_id', cid, 'correlation_id', corr, 'conversation_id', conv,
	    'appearance', coalesce(s.settings->'appearance', '{}'));
END $$;

-- The customer's browser reports a page change: the context of their
-- conversation is replaced (the widget sends the whole, bounded, picture).
CREATE FUNCTION vb_widget_context(p_hash bytea, p_conv bigint, p_context jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE w widget_sessions;
BEGIN
	SELECT * INTO w FROM widget_sessions WHERE token_hash = p_hash AND expires_at > now();
	IF NOT FOUND THEN PERFORM vb_fail(401, 'unauthenticated', 'The widget token is unknown or expired'); END IF;
	UPDATE conversations SET context = p_context
	WHERE id = p_conv AND tenant_id = w.tenant_id AND customer_id = w.customer_id AND status = 'open';
	IF NOT FOUND THEN PERFORM vb_fail(404, 'not_found', 'No such conversation'); END IF;
	RETURN jsonb_build_object('conversation_id', p_conv);
END $$;

-- Outgoing mail (e-mail one-time codes) ----------------------------------------

CREATE TABLE smtp_settings (
	tenant_id	bigint PRIMARY KEY DEFAULT vb_tenant() REFERENCES organisations(id),
	host		text NOT NULL CHECK (host ~ '^[A-Za-z0-9.-]{1,253}$'),
	port		int NOT NULL CHECK (port BETWEEN 1 AND 65535),
	starttls	boolean NOT NULL DEFAULT true,
	username	text CHECK (length(username) <= 254),
	password_sealed	bytea CHECK (length(password_sealed) <= 600),
	from_address	text NOT NULL CHECK (length(from_address) <= 254),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE widget_otps (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL,
	site_id		bigint NOT NULL,
	email		text NOT NULL CHECK (length(email) <= 254),
	code_hash	bytea NOT NULL,
	attempts	int NOT NULL DEFAULT 0,
	expires_at	timestamptz NOT NULL,
	used_at		timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (tenant_id, site_id) REFERENCES sites(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX widget_otps_lookup ON widget_otps (site_id, email, id DESC);

DO $$
DECLARE t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['smtp_settings', 'widget_otps']
	LOOP
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = vb_tenant()) '
		    'WITH CHECK (tenant_id = vb_tenant())', t);
		EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO vb_app', t);
	END LOOP;
END $$;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO vb_app;

CREATE FUNCTION vb_smtp_json() RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN coalesce((SELECT jsonb_build_object('host', host, 'port', port, 'starttls', starttls,
	    'username', username, 'has_password', password_sealed IS NOT NULL,
	    'from_address', from_address, 'updated_at', updated_at)
	    FROM smtp_settings WHERE tenant_id = vb_tenant()), '{}');
END $$;

-- p_password: NULL keeps the stored one, an empty value removes it.
CREATE FUNCTION vb_smtp_save(p_host text, p_port int, p_starttls boolean, p_username text,
    p_password bytea, p_from text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE before jsonb; after jsonb;
BEGIN
	before := vb_smtp_json();
	INSERT INTO smtp_settings (tenant_id, host, port, starttls, username, password_sealed, from_address)
	VALUES (vb_tenant(), p_host, p_port, p_starttls, p_username, nullif(p_password, ''), p_from)
	ON CONFLICT (tenant_id) DO UPDATE SET host = EXCLUDED.host, port = EXCLUDED.port,
	    starttls = EXCLUDED.starttls, username = EXCLUDED.username,
	    password_sealed = CASE WHEN p_password IS NULL THEN smtp_settings.password_sealed
		ELSE nullif(p_password, '') END,
	    from_address = EXCLUDED.from_address, updated_at = now();
	after := vb_smtp_json();
	PERFORM vb_audit('smtp.update', 'smtp', vb_tenant()::text,
	    CASE WHEN before = '{}' THEN NULL ELSE before - 'updated_at' END, after - 'updated_at');
	RETURN after;
END $$;

-- A new code for (site, e-mail): earlier unused ones die; at most 3 a
-- 10 minutes per address. Answers what the C side needs to send it.
CREATE FUNCTION vb_widget_otp_create(p_site bigint, p_email text, p_hash bytea) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE s sites; m smtp_settings;
BEGIN
	SELECT * INTO s FROM sites WHERE id = p_site;
	IF NOT FOUND THEN PERFORM vb_fail(404, 'unknown_site', 'Unknown site key'); END IF;
	SELECT * INTO m FROM smtp_settings WHERE tenant_id = s.tenant_id;
	IF NOT FOUND THEN
		PERFORM vb_fail(503, 'mail_not_configured', 'E-mail codes are not set up for this site');
	END IF;
	IF (SELECT count(*) FROM widget_otps WHERE site_id = p_site AND email = p_email
	    AND created_at > now() - interval '10 minutes') >= 3 THEN
		PERFORM vb_fail(429, 'too_many_codes', 'Too many codes for this address; wait a few minutes');
	END IF;
	UPDATE widget_otps SET used_at = now() WHERE site_id = p_site AND email = p_email AND used_at IS NULL;
	INSERT INTO widget_otps (tenant_id, site_id, email, code_hash, expires_at)
	VALUES (s.tenant_id, p_site, p_email, p_hash, now() + interval '10 minutes');
	RETURN jsonb_build_object('host', m.host, 'port', m.port, 'starttls', m.starttls,
	    'username', m.username, 'password', encode(m.password_sealed, 'hex'),
	    'from', m.from_address, 'site_name', s.name);
END $$;

-- Checks a code. Answers ok (and spends it), wrong (one attempt more),
-- too_many, expired or none; never raises, so a wrong attempt is counted.
CREATE FUNCTION vb_widget_otp_check(p_site bigint, p_email text, p_hash bytea) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE o widget_otps;
BEGIN
	SELECT * INTO o FROM widget_otps WHERE site_id = p_site AND email = p_email
	ORDER BY id DESC LIMIT 1 FOR UPDATE;
	IF NOT FOUND OR o.used_at IS NOT NULL THEN RETURN 'none'; END IF;
	IF o.expires_at <= now() THEN RETURN 'expired'; END IF;
	IF o.attempts >= 5 THEN RETURN 'too_many'; END IF;
	IF o.code_hash <> p_hash THEN
		UPDATE widget_otps SET attempts = attempts + 1 WHERE id = o.id;
		RETURN CASE WHEN o.attempts + 1 >= 5 THEN 'too_many' ELSE 'wrong' END;
	END IF;
	UPDATE widget_otps SET used_at = now() WHERE id = o.id;
	RETURN 'ok';
END $$;

REVOKE EXECUTE ON FUNCTION vb_widget_otp_create(bigint, text, bytea) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vb_widget_otp_check(bigint, text, bytea) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vb_widget_site(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vb_widget_session_open(bigint, text, bytea, uuid, jsonb, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION vb_widget_context(bytea, bigint, jsonb) FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO vb_app;
