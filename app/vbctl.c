/*
 * vbctl: operator commands that run beside the server, straight on libpq.
 *
 *   vbctl seed                 first run: platform operator + demo organisation
 *   vbctl create-org NAME SLUG ADMIN_EMAIL ADMIN_NAME
 *   vbctl set-password EMAIL   (password on stdin; no forced change)
 *   vbctl demo-site ORIGIN     the demo bank's widget site, allowed from ORIGIN
 *   vbctl hash                 (password on stdin) prints an argon2id hash
 *   vbctl totp-code HEXSECRET  prints the current TOTP code
 *   vbctl sweep-files [AGE_S]  removes stored files no conversation refers to
 *                              any more and stale upload left-overs, older
 *                              than AGE_S seconds (default 3600)
 */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "fileutil.h"
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

/*
 * sweep-files. Uploads are stored under their content address,
 * $VB_VAR/files/<tenant>/<sha[0:2]>/<sha256>, renamed into place before
 * their row is committed; a blob may be shared by several rows of its
 * organisation. A blob no row names (the commit failed, or the conversation
 * was deleted) is an orphan. Only blobs older than AGE_S are looked at: an
 * upload renames a fresh file into place (new mtime) seconds before it
 * commits, so a blob whose row is on its way is always young. Between the
 * check and the unlink a new upload of the same bytes could still land on
 * the path: the blob is first renamed aside and its age checked again, and a
 * young one is put back.
 */
#define SWEEP_BATCH	256

struct sweep {
	PGconn		*pg;
	time_t		 now, age;
	char		 dir[PATH_MAX];		/* <root>/<tenant> */
	const char	*tenant;
	char		 sha[SWEEP_BATCH][65];
	char		 sub[SWEEP_BATCH][3];
	int		 n;
	long long	 removed, bytes, kept, tmp;
};

static int
ctl_hex(const char *s, size_t len)
{
	return (strlen(s) == len && strspn(s, "0123456789abcdef") == len);
}

static int
ctl_digits(const char *s)
{
	size_t	len = strlen(s);

	return (len > 0 && len < 20 && strspn(s, "0123456789") == len);
}

/* The blob renamed aside, checked old again, then removed (or put back). */
static void
ctl_sweep_unlink(struct sweep *sw, const char *sub, const char *sha)
{
	char		path[PATH_MAX], aside[PATH_MAX];
	struct stat	st;

	if (snprintf(path, sizeof(path), "%s/%s/%s", sw->dir, sub, sha) >= (int)sizeof(path) ||
	    snprintf(aside, sizeof(aside), "%s.sweep", path) >= (int)sizeof(aside))
		return;
	if (rename(path, aside) == -1)
		return;
	if (stat(aside, &st) == 0 && S_ISREG(st.st_mode) && sw->now - st.st_mtime >= sw->age) {
		if (unlink(aside) == 0) {
			sw->removed++;
			sw->bytes += st.st_size;
		}
		return;
	}
	/* Fresh: an upload just stored these bytes. Back, unless it is there. */
	if (link(aside, path) == -1 && errno != EEXIST)
		fprintf(stderr, "vbctl: sweep-files: cannot restore %s: %s\n", path, strerror(errno));
	(void)unlink(aside);
	sw->kept++;
}

/* Which of the batch's blobs no file row of the organisation names. */
static void
ctl_sweep_batch(struct sweep *sw)
{
	PGresult	*res;
	char		*arr, *p;
	const char	*v[2];
	int		 i, k;

	if (sw->n == 0)
		return;
	if ((arr = malloc((size_t)sw->n * 66 + 3)) == NULL) {
		fprintf(stderr, "vbctl: out of memory\n");
		exit(1);
	}
	p = arr;
	*p++ = '{';
	for (i = 0; i < sw->n; i++) {
		if (i > 0)
			*p++ = ',';
		memcpy(p, sw->sha[i], 64);
		p += 64;
	}
	*p++ = '}';
	*p = '\0';
	v[0] = sw->tenant;
	v[1] = arr;
	res = ctl_exec(sw->pg, "SELECT x FROM unnest($2::text[]) x WHERE NOT EXISTS "
	    "(SELECT 1 FROM files f WHERE f.tenant_id = $1::bigint AND f.sha256 = x)", 2, v);
	for (k = 0; k < PQntuples(res); k++) {
		for (i = 0; i < sw->n; i++) {
			if (strcmp(sw->sha[i], PQgetvalue(res, k, 0)) == 0) {
				ctl_sweep_unlink(sw, sw->sub[i], sw->sha[i]);
				break;
			}
		}
	}
	PQclear(res);
	free(arr);
	sw->n = 0;
}

static void
ctl_sweep_sub(struct sweep *sw, const char *sub)
{
	DIR		*d;
	struct dirent	*e;
	struct stat	 st;
	char		 p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s/%s", sw->dir, sub) >= (int)sizeof(p) ||
	    (d = opendir(p)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (!ctl_hex(e->d_name, 64) || strncmp(e->d_name, sub, 2) != 0)
			continue;
		if (snprintf(p, sizeof(p), "%s/%s/%s", sw->dir, sub, e->d_name) >= (int)sizeof(p) ||
		    stat(p, &st) == -1 || !S_ISREG(st.st_mode) || sw->now - st.st_mtime < sw->age)
			continue;
		memcpy(sw->sha[sw->n], e->d_name, 65);
		memcpy(sw->sub[sw->n], sub, 3);
		if (++sw->n == SWEEP_BATCH)
			ctl_sweep_batch(sw);
	}
	(void)closedir(d);
	ctl_sweep_batch(sw);
}

static void
ctl_sweep_tenant(struct sweep *sw, const char *root, const char *tenant)
{
	DIR		*d;
	struct dirent	*e;

	if (snprintf(sw->dir, sizeof(sw->dir), "%s/%s", root, tenant) >= (int)sizeof(sw->dir) ||
	    (d = opendir(sw->dir)) == NULL)
		return;
	sw->tenant = tenant;
	while ((e = readdir(d)) != NULL)
		if (ctl_hex(e->d_name, 2))
			ctl_sweep_sub(sw, e->d_name);
	(void)closedir(d);
}

static int
ctl_sweep_files(int argc, char **argv)
{
	static struct sweep	 sw;
	const char		*var = getenv("VB_VAR");
	char			 root[PATH_MAX], tmp[PATH_MAX], *end;
	DIR			*d;
	struct dirent		*e;
	long			 age = 3600;

	if (argc > 3)
		return (2);
	if (argc == 3) {
		errno = 0;
		age = strtol(argv[2], &end, 10);
		if (errno != 0 || *end != '\0' || age < 0 || age > 365L * 86400)
			return (2);
	}
	if (var == NULL || snprintf(root, sizeof(root), "%s/files", var) >= (int)sizeof(root)) {
		fprintf(stderr, "vbctl: VB_VAR is not set or too long\n");
		return (1);
	}
	sw.pg = ctl_connect();
	sw.now = time(NULL);
	sw.age = age;
	if (snprintf(tmp, sizeof(tmp), "%s/tmp", root) < (int)sizeof(tmp))
		sw.tmp = fileutil_tmp_sweep(tmp, sw.now, sw.age);
	if ((d = opendir(root)) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (ctl_digits(e->d_name))
				ctl_sweep_tenant(&sw, root, e->d_name);
		(void)closedir(d);
	}
	PQfinish(sw.pg);
	printf("sweep-files: removed %lld orphaned files (%lld bytes) and %lld temporaries; "
	    "kept %lld just stored again\n", sw.removed, sw.bytes, sw.tmp, sw.kept);
	return (0);
}

static int ctl_seed_cmd(int argc, char **argv) { (void)argc; (void)argv; return (ctl_seed()); }
static int ctl_hash_cmd(int argc, char **argv) { (void)argc; (void)argv; return (ctl_hash()); }

static const struct {
	const char	*name;
	int		 (*run)(int, char **);
} ctl_cmds[] = {
	{ "seed", ctl_seed_cmd },
	{ "create-org", ctl_create_org },
	{ "set-password", ctl_set_password },
	{ "demo-site", ctl_demo_site },
	{ "hash", ctl_hash_cmd },
	{ "totp-code", ctl_totp },
	{ "sweep-files", ctl_sweep_files },
};

int
main(int argc, char **argv)
{
	size_t	i;
	int	rc;

	if (!pwd_init())
		return (1);
	for (i = 0; argc >= 2 && i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		if (strcmp(argv[1], ctl_cmds[i].name) == 0)
			break;
	if (argc >= 2 && i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]) &&
	    (rc = ctl_cmds[i].run(argc, argv)) != 2)
		return (rc);
	fprintf(stderr, "usage: vbctl seed | create-org | set-password | demo-site | hash | "
	    "totp-code | sweep-files [AGE_S]\n");
	return (2);
}
