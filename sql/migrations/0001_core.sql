-- Core schema: organisations (tenants), widget sites, staff users, units, roles
-- and permissions, skills, sessions, audit log.
--
-- Tenancy: every tenant-owned row has tenant_id, guarded by row-level security
-- against the transaction-local setting vb.tenant_id. The application runs as
-- the role vb_app (SET ROLE after connecting), which owns nothing, so policies
-- always apply to it. Foreign keys are composite (tenant_id, id) because
-- foreign-key checks bypass RLS: a row can never point into another tenant.

DO $$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vb_app') THEN
		CREATE ROLE vb_app NOLOGIN;
	END IF;
END $$;
GRANT vb_app TO CURRENT_USER;

CREATE FUNCTION vb_tenant() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('vb.tenant_id', true), '')::bigint $$;
CREATE FUNCTION vb_actor() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('vb.user_id', true), '')::bigint $$;

-- Errors raised for the API: SQLSTATE 'V' + HTTP status + '0'; HINT carries the code.
CREATE FUNCTION vb_fail(status int, code text, msg text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION USING ERRCODE = 'V' || status::text || '0', MESSAGE = msg, HINT = code;
END $$;

CREATE TABLE organisations (
	id		bigserial PRIMARY KEY,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	slug		text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
	is_platform	boolean NOT NULL DEFAULT false,
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE permissions (
	code		text PRIMARY KEY,
	area		text NOT NULL,
	platform_only	boolean NOT NULL DEFAULT false,
	sort		int NOT NULL
);
INSERT INTO permissions (code, area, platform_only, sort) VALUES
	('users.read', 'users', false, 10), ('users.write', 'users', false, 11),
	('units.read', 'units', false, 20), ('units.write', 'units', false, 21),
	('roles.read', 'roles', false, 30), ('roles.write', 'roles', false, 31),
	('sites.read', 'sites', false, 40), ('sites.write', 'sites', false, 41),
	('audit.read', 'audit', false, 50),
	('console.agent', 'console', false, 60), ('console.supervisor', 'console', false, 61),
	('platform.orgs', 'platform', true, 90);

CREATE TABLE sites (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant() REFERENCES organisations(id),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	site_key	text NOT NULL UNIQUE,
	allowed_origins	text[] NOT NULL DEFAULT '{}',
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (tenant_id, id)
);

CREATE TABLE users (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant() REFERENCES organisations(id),
	email		text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	password_hash	text NOT NULL,
	status		text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
	must_change_password boolean NOT NULL DEFAULT true,
	totp_secret	bytea,
	totp_pending	bytea,
	last_login_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (tenant_id, id)
);
-- Staff sign in with their e-mail alone, so it is unique across the installation.
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE units (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant() REFERENCES organisations(id),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	parent_id	bigint,
	manager_id	bigint,
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (tenant_id, id),
	FOREIGN KEY (tenant_id, parent_id) REFERENCES units(tenant_id, id),
	FOREIGN KEY (tenant_id, manager_id) REFERENCES users(tenant_id, id)
);

CREATE TABLE user_units (
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	user_id		bigint NOT NULL,
	unit_id		bigint NOT NULL,
	PRIMARY KEY (user_id, unit_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, unit_id) REFERENCES units(tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE roles (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant() REFERENCES organisations(id),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	builtin		text CHECK (builtin IN ('administrator', 'supervisor', 'agent')),
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (tenant_id, id),
	UNIQUE (tenant_id, builtin)
);
CREATE UNIQUE INDEX roles_name ON roles (tenant_id, lower(name));

CREATE TABLE role_permissions (
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	role_id		bigint NOT NULL,
	permission	text NOT NULL REFERENCES permissions(code),
	PRIMARY KEY (role_id, permission),
	FOREIGN KEY (tenant_id, role_id) REFERENCES roles(tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE user_roles (
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	user_id		bigint NOT NULL,
	role_id		bigint NOT NULL,
	PRIMARY KEY (user_id, role_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, role_id) REFERENCES roles(tenant_id, id)
);

CREATE TABLE skills (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL DEFAULT vb_tenant() REFERENCES organisations(id),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX skills_name ON skills (tenant_id, lower(name));

CREATE TABLE user_skills (
	tenant_id	bigint NOT NULL DEFAULT vb_tenant(),
	user_id		bigint NOT NULL,
	skill_id	bigint NOT NULL,
	level		smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
	PRIMARY KEY (user_id, skill_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, skill_id) REFERENCES skills(tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE sessions (
	id_hash		bytea PRIMARY KEY,
	tenant_id	bigint NOT NULL,
	user_id		bigint NOT NULL,
	csrf		text NOT NULL,
	mfa_ok		boolean NOT NULL,
	address		text,
	user_agent	text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_seen_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit_log (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL REFERENCES organisations(id),
	at		timestamptz NOT NULL DEFAULT now(),
	actor_id	bigint,
	action		text NOT NULL,
	object_type	text NOT NULL,
	object_id	text,
	before		jsonb,
	after		jsonb,
	address		text,
	request_id	text
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id DESC);

-- Row-level security on every tenant-owned table.
DO $$
DECLARE t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['sites', 'users', 'units', 'user_units', 'roles',
	    'role_permissions', 'user_roles', 'skills', 'user_skills', 'sessions', 'audit_log']
	LOOP
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = vb_tenant()) '
		    'WITH CHECK (tenant_id = vb_tenant())', t);
		EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO vb_app', t);
	END LOOP;
END $$;
ALTER TABLE organisations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organisations USING (id = vb_tenant());
GRANT SELECT ON organisations, permissions TO vb_app;
-- The audit log is append-only for the application.
REVOKE UPDATE, DELETE ON audit_log FROM vb_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO vb_app;
