/*
 * vbctl: operator commands that run beside the server, straight on libpq.
 *
 *   vbctl seed                 first run: platform operator + demo organisation
 *   vbctl create-org NAME SLUG ADMIN_EMAIL ADMIN_NAME
 *   vbctl set-password EMAIL   (password on stdin; no forced change)
 *   vbctl demo-site ORIGIN     the demo bank's widget site, allowed from ORIGIN
 *   vbctl hash                 (password on stdin) prints an argon2id hash
 *   vbctl totp-code HEXSECRET  prints the current TOTP code
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "util.h"

static PGconn *
ctl_connect(void)
{
	const char	*url = getenv("VB_DATABASE_URL");
	PGconn		*pg;

	if (url == NULL) {
		fprintf(stderr, "vbctl: VB_DATABASE_URL is not set\n");
		exit(1);
	}
	pg = PQconnectdb(url);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "vbctl: %s", PQerrorMessage(pg));
		exit(1);
	}
	return (pg);
}

static PGresult *
ctl_exec(PGconn *pg, const char *sql, int n, const char **p)
{
	PGresult	*res;

	res = PQexecParams(pg, sql, n, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK &&
	    PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "vbctl: %s", PQerrorMessage(pg));
		exit(1);
	}
	return (res);
}

static void
ctl_org(PGconn *pg, const char *name, const char *slug, const char *email,
    const char *admin, int platform, char *pw, size_t pwlen)
{
	char		 hash[256];
	const char	*p[6];

	util_temp_password(pw, pwlen);
	if (!pwd_hash(pw, hash, sizeof(hash)))
		exit(1);
	p[0] = name;
	p[1] = slug;
	p[2] = email;
	p[3] = admin;
	p[4] = hash;
	p[5] = platform ? "true" : "false";
	PQclear(ctl_exec(pg, "SELECT vb_org_create($1, $2, $3, $4, $5, $6::boolean)", 6, p));
}

static int
ctl_seed(void)
{
	PGconn		*pg = ctl_connect();
	PGresult	*res;
	char		 opw[32], apw[32];
	const char	*url = getenv("VB_PUBLIC_URL");
	int		 n;

	res = ctl_exec(pg, "SELECT count(*) FROM organisations", 0, NULL);
	n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (n > 0) {
		PQfinish(pg);
		return (0);
	}
	PQclear(ctl_exec(pg, "BEGIN", 0, NULL));
	ctl_org(pg, "Platform", "platform", "operator@platform.invalid", "Platform Operator",
	    1, opw, sizeof(opw));
	ctl_org(pg, "Demo Bank", "demo", "admin@demo.invalid", "Demo Administrator",
	    0, apw, sizeof(apw));
	PQclear(ctl_exec(pg, "COMMIT", 0, NULL));
	printf("\n  Virtual Branch is set up. Sign in at %s/login\n\n"
	    "  Demo Bank administrator:  admin@demo.invalid      one-time password: %s\n"
	    "  Platform operator:        operator@platform.invalid  one-time password: %s\n\n"
	    "  Each password must be changed at first sign-in. This is shown only once.\n\n",
	    url ? url : "http://127.0.0.1:8888", apw, opw);
	PQfinish(pg);
	return (0);
}

static int
ctl_create_org(int argc, char **argv)
{
	PGconn	*pg;
	char	 pw[32];

	if (argc != 6) {
		fprintf(stderr, "usage: vbctl create-org NAME SLUG ADMIN_EMAIL ADMIN_NAME\n");
		return (2);
	}
	pg = ctl_connect();
	ctl_org(pg, argv[2], argv[3], argv[4], argv[5], 0, pw, sizeof(pw));
	printf("%s\n", pw);
	PQfinish(pg);
	return (0);
}

/*
 * demo-site ORIGIN: the Demo Bank's "Harbour Bank demo" widget site, created
 * if missing, with ORIGIN added to its allowed origins (several nodes may
 * share one database); prints its key (nothing when there is no Demo Bank).
 */
static int
ctl_demo_site(int argc, char **argv)
{
	PGconn		*pg;
	PGresult	*res;
	const char	*p[2];
	char		 key[64], tok[40];

	if (argc != 3) {
		fprintf(stderr, "usage: vbctl demo-site ORIGIN\n");
		return (2);
	}
	pg = ctl_connect();
	util_random_token(tok, 18);
	(void)snprintf(key, sizeof(key), "pk_%s", tok);
	p[0] = argv[2];
	p[1] = key;
	res = ctl_exec(pg,
	    "WITH org AS (SELECT id FROM organisations WHERE slug = 'demo'), "
	    "upd AS (UPDATE sites SET allowed_origins = CASE WHEN $1 = ANY (allowed_origins) "
	    "THEN allowed_origins ELSE allowed_origins || ARRAY[$1] END "
	    "WHERE tenant_id = (SELECT id FROM org) "
	    "AND name = 'Harbour Bank demo' RETURNING site_key), "
	    "ins AS (INSERT INTO sites (tenant_id, name, allowed_origins, site_key) "
	    "SELECT id, 'Harbour Bank demo', ARRAY[$1], $2 FROM org WHERE NOT EXISTS (SELECT 1 FROM upd) "
	    "RETURNING site_key) SELECT site_key FROM upd UNION ALL SELECT site_key FROM ins", 2, p);
	if (PQntuples(res) == 1)
		printf("%s\n", PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(pg);
	return (0);
}

static int
ctl_read_password(char *buf, size_t len)
{
	size_t	n;

	if (fgets(buf, (int)len, stdin) == NULL)
		return (0);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	return (n > 0);
}

static int
ctl_set_password(int argc, char **argv)
{
	PGconn		*pg;
	PGresult	*res;
	char		 pw[256], hash[256];
	const char	*p[2];

	if (argc != 3 || !ctl_read_password(pw, sizeof(pw)) || !pwd_hash(pw, hash, sizeof(hash))) {
		fprintf(stderr, "usage: echo PASSWORD | vbctl set-password EMAIL\n");
		return (2);
	}
	pg = ctl_connect();
	p[0] = hash;
	p[1] = argv[2];
	res = ctl_exec(pg, "UPDATE users SET password_hash = $1, must_change_password = false "
	    "WHERE lower(email) = lower($2)", 2, p);
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		fprintf(stderr, "vbctl: no such user\n");
		return (1);
	}
	PQclear(res);
	PQfinish(pg);
	return (0);
}

static int
ctl_hash(void)
{
	char	pw[256], hash[256];

	if (!ctl_read_password(pw, sizeof(pw)) || !pwd_hash(pw, hash, sizeof(hash)))
		return (1);
	printf("%s\n", hash);
	return (0);
}

static int
ctl_totp(int argc, char **argv)
{
	unsigned char	s[64];
	size_t		len;
	char		code[16];

	if (argc != 3 || sodium_hex2bin(s, sizeof(s), argv[2], strlen(argv[2]), NULL,
	    &len, NULL) != 0 || !totp_code(s, len, (int64_t)time(NULL), code))
		return (2);
	printf("%s\n", code);
	return (0);
}

int
main(int argc, char **argv)
{
	if (!pwd_init())
		return (1);
	if (argc >= 2 && strcmp(argv[1], "seed") == 0)
		return (ctl_seed());
	if (argc >= 2 && strcmp(argv[1], "create-org") == 0)
		return (ctl_create_org(argc, argv));
	if (argc >= 2 && strcmp(argv[1], "set-password") == 0)
		return (ctl_set_password(argc, argv));
	if (argc >= 2 && strcmp(argv[1], "demo-site") == 0)
		return (ctl_demo_site(argc, argv));
	if (argc >= 2 && strcmp(argv[1], "hash") == 0)
		return (ctl_hash());
	if (argc >= 2 && strcmp(argv[1], "totp-code") == 0)
		return (ctl_totp(argc, argv));
	fprintf(stderr, "usage: vbctl seed | create-org | set-password | hash | totp-code\n");
	return (2);
}
