/*
 * The route table and the table-driven SQL call.
 *
 * Most administrative endpoints are "validate typed parameters, call one SQL
 * function, answer its JSON". Those are rows in this table with
 * route_sqlcall as handler: the parameters' sources and types are declared,
 * validated here before anything reaches the database, and passed as text
 * parameters to the named query. The permission column is enforced by the
 * dispatcher (auth.c) before any handler runs.
 */

#include <math.h>

#include "vb.h"
#include "queries.h"

#define B(n, t, lo, hi)	{ S_BODY, n, t, lo, hi }
#define PATH_ID		{ S_PATH, "id", P_ID, 0, 0 }
#define Q(n, t, lo, hi)	{ S_QUERY, n, t, lo, hi }
#define GEN(t)		{ S_GEN, NULL, t, 0, 0 }
#define SQL		route_sqlcall

static struct vb_route routes[] = {
	/* Pages */
	{ "GET", "/", RT_PAGE, NULL, page_root },
	{ "GET", "/login", RT_PUBLIC | RT_PAGE, NULL, page_serve },
	{ "GET", "/password", RT_HALFAUTH | RT_PAGE, NULL, page_serve },
	{ "GET", "/account", RT_PAGE, NULL, page_serve },
	{ "GET", "/admin/users", RT_PAGE, "users.read", page_serve },
	{ "GET", "/admin/units", RT_PAGE, "units.read", page_serve },
	{ "GET", "/admin/roles", RT_PAGE, "roles.read", page_serve },
	{ "GET", "/admin/skills", RT_PAGE, "users.read", page_serve },
	{ "GET", "/admin/sites", RT_PAGE, "sites.read", page_serve },
	{ "GET", "/admin/audit", RT_PAGE, "audit.read", page_serve },
	{ "GET", "/platform/orgs", RT_PAGE, "platform.orgs", page_serve },
	{ "GET", "/console", RT_PAGE, "console.agent", page_serve },
	{ "GET", "/supervisor", RT_PAGE, "console.supervisor", page_serve },
	{ "GET", "/static/*", RT_PUBLIC, NULL, page_static },
	{ "GET", "/healthz", RT_PUBLIC, NULL, ops_healthz },
	{ "GET", "/ws", RT_PUBLIC, NULL, hub_ws },
	{ "GET", "/widget/panel", RT_PUBLIC, NULL, page_widget_panel },
	{ "GET", "/widget/loader.js", RT_PUBLIC, NULL, page_loader },
	{ "POST", "/api/widget/session", RT_PUBLIC | RT_NOCSRF, NULL, widget_session },
	{ "OPTIONS", "/api/widget/session", RT_PUBLIC | RT_NOCSRF, NULL, hub_widget_preflight },
	{ "GET", "/metrics", RT_PUBLIC, NULL, ops_metrics },

	/* Sign-in and the current user */
	{ "POST", "/api/auth/login", RT_PUBLIC, NULL, auth_login },
	{ "POST", "/api/auth/totp", RT_HALFAUTH, NULL, auth_totp },
	{ "POST", "/api/auth/logout", RT_HALFAUTH, NULL, auth_logout },
	{ "GET", "/api/me", RT_HALFAUTH, NULL, auth_me },
	{ "POST", "/api/me/password", RT_HALFAUTH, NULL, auth_password },
	{ "POST", "/api/me/totp/setup", 0, NULL, auth_totp_setup },
	{ "POST", "/api/me/totp/enable", 0, NULL, auth_totp_enable },
	{ "POST", "/api/me/totp/disable", 0, NULL, auth_totp_disable },

	/* Users */
	{ "GET", "/api/users", 0, "users.read", SQL, Q_USERS_LIST, 200, NULL,
	    { Q("q", P_OSTR, 0, 100), Q("status", P_OSTR, 0, 10) } },
	{ "POST", "/api/users", 0, "users.write", SQL, Q_USER_CREATE, 201, "user",
	    { B("email", P_EMAIL, 3, 254), B("name", P_STR, 1, 200), GEN(P_TEMPPW),
	      B("role_ids", P_IDS, 0, 50), B("unit_ids", P_IDS, 0, 200),
	      B("skills", P_SKILLS, 0, 200) } },
	{ "GET", "/api/users/:id", 0, "users.read", SQL, Q_USER_GET, 200, "user",
	    { PATH_ID } },
	{ "PUT", "/api/users/:id", 0, "users.write", SQL, Q_USER_UPDATE, 200, "user",
	    { PATH_ID, B("name", P_STR, 1, 200), B("role_ids", P_IDS, 0, 50),
	      B("unit_ids", P_IDS, 0, 200), B("skills", P_SKILLS, 0, 200) } },
	{ "POST", "/api/users/:id/disable", 0, "users.write", SQL, Q_USER_DISABLE, 200,
	    "user", { PATH_ID } },
	{ "POST", "/api/users/:id/enable", 0, "users.write", SQL, Q_USER_ENABLE, 200,
	    "user", { PATH_ID } },
	{ "POST", "/api/users/:id/reset-password", 0, "users.write", SQL,
	    Q_USER_RESET_PASSWORD, 200, NULL, { PATH_ID, GEN(P_TEMPPW) } },

	/* Organisational units */
	{ "GET", "/api/units", 0, "units.read", SQL, Q_UNITS_LIST, 200, NULL, { } },
	{ "POST", "/api/units", 0, "units.write", SQL, Q_UNIT_CREATE, 201, "unit",
	    { B("name", P_STR, 1, 200), B("parent_id", P_OID, 0, 0),
	      B("manager_id", P_OID, 0, 0) } },
	{ "PUT", "/api/units/:id", 0, "units.write", SQL, Q_UNIT_UPDATE, 200, "unit",
	    { PATH_ID, B("name", P_STR, 1, 200), B("parent_id", P_OID, 0, 0),
	      B("manager_id", P_OID, 0, 0) } },
	{ "DELETE", "/api/units/:id", 0, "units.write", SQL, Q_UNIT_DELETE, 204, NULL,
	    { PATH_ID } },

	/* Roles and permissions */
	{ "GET", "/api/roles", 0, "roles.read", SQL, Q_ROLES_LIST, 200, NULL, { } },
	{ "POST", "/api/roles", 0, "roles.write", SQL, Q_ROLE_CREATE, 201, "role",
	    { B("name", P_STR, 1, 100), B("permissions", P_PERMS, 0, 64) } },
	{ "PUT", "/api/roles/:id", 0, "roles.write", SQL, Q_ROLE_UPDATE, 200, "role",
	    { PATH_ID, B("name", P_STR, 1, 100), B("permissions", P_PERMS, 0, 64) } },
	{ "DELETE", "/api/roles/:id", 0, "roles.write", SQL, Q_ROLE_DELETE, 204, NULL,
	    { PATH_ID } },

	/* Skills */
	{ "GET", "/api/skills", 0, "users.read", SQL, Q_SKILLS_LIST, 200, NULL, { } },
	{ "POST", "/api/skills", 0, "users.write", SQL, Q_SKILL_CREATE, 201, "skill",
	    { B("name", P_STR, 1, 100) } },
	{ "PUT", "/api/skills/:id", 0, "users.write", SQL, Q_SKILL_UPDATE, 200, "skill",
	    { PATH_ID, B("name", P_STR, 1, 100) } },
	{ "DELETE", "/api/skills/:id", 0, "users.write", SQL, Q_SKILL_DELETE, 204, NULL,
	    { PATH_ID } },

	/* Widget sites */
	{ "GET", "/api/sites", 0, "sites.read", SQL, Q_SITES_LIST, 200, NULL, { } },
	{ "POST", "/api/sites", 0, "sites.write", SQL, Q_SITE_CREATE, 201, "site",
	    { B("name", P_STR, 1, 200), B("allowed_origins", P_ORIGINS, 0, 50),
	      GEN(P_SITEKEY) } },
	{ "PUT", "/api/sites/:id", 0, "sites.write", SQL, Q_SITE_UPDATE, 200, "site",
	    { PATH_ID, B("name", P_STR, 1, 200), B("allowed_origins", P_ORIGINS, 0, 50) } },
	{ "POST", "/api/sites/:id/rotate-key", 0, "sites.write", SQL, Q_SITE_ROTATE, 200,
	    "site", { PATH_ID, GEN(P_SITEKEY) } },
	{ "DELETE", "/api/sites/:id", 0, "sites.write", SQL, Q_SITE_DELETE, 204, NULL,
	    { PATH_ID } },

	/* Audit log */
	{ "GET", "/api/audit", 0, "audit.read", SQL, Q_AUDIT_LIST, 200, NULL,
	    { Q("actor_id", P_OID, 0, 0), Q("action", P_OSTR, 0, 100),
	      Q("object_type", P_OSTR, 0, 50), Q("from", P_TIME, 0, 0),
	      Q("to", P_TIME, 0, 0), Q("before_id", P_OID, 0, 0),
	      Q("limit", P_INT, 1, 200) } },

	/* Platform operators */
	{ "GET", "/api/platform/orgs", 0, "platform.orgs", SQL, Q_ORGS_LIST, 200, NULL, { } },
	{ "POST", "/api/platform/orgs", 0, "platform.orgs", SQL, Q_ORG_CREATE, 201, NULL,
	    { B("name", P_STR, 1, 200), B("slug", P_SLUG, 2, 63),
	      B("admin_email", P_EMAIL, 3, 254), B("admin_name", P_STR, 1, 200),
	      GEN(P_TEMPPW) } },

	/* Agent console and supervisor (C1–C5, S1) */
	{ "GET", "/api/console/waiting", 0, "console.agent", SQL, Q_CONSOLE_WAITING, 200, NULL, { } },
	{ "GET", "/api/console/mine", 0, "console.agent", SQL, Q_CONSOLE_MINE, 200, NULL, { } },
	{ "GET", "/api/console/queues", 0, "console.agent", SQL, Q_CONSOLE_QUEUES, 200, NULL, { } },
	{ "GET", "/api/console/conversations/:id", 0, "console.agent", SQL,
	    Q_CONSOLE_CONVERSATION, 200, NULL, { PATH_ID } },
	{ "GET", "/api/console/conversations/:id/transcript", 0, "console.agent", SQL,
	    Q_CONSOLE_TRANSCRIPT, 200, NULL, { PATH_ID } },
	{ "GET", "/api/console/directory", 0, "console.agent", SQL, Q_CONSOLE_DIRECTORY, 200,
	    NULL, { Q("q", P_OSTR, 0, 100) } },
	{ "GET", "/api/console/dm/:id", 0, "console.agent", SQL, Q_CONSOLE_DM, 200, NULL,
	    { PATH_ID } },
	{ "GET", "/api/supervisor/board", 0, "console.supervisor", SQL, Q_SUPERVISOR_BOARD, 200,
	    NULL, { } },
	/*
	 * Queue administration (A1-A6), business hours, subjects (W4) and the
	 * lists the agent console reads (wrap-up codes, not-ready reasons,
	 * canned replies). Queue and site forms are validated field by field in
	 * SQL (0012_queue_admin.sql). The console reads the lists under
	 * /api/console/... with console.agent; admins under /api/... with
	 * queues.read.
	 */
	{ "GET", "/admin/queues", RT_PAGE, "queues.read", page_serve },
	{ "GET", "/admin/contact-settings", RT_PAGE, "queues.read", page_serve },
	{ "GET", "/api/queues", 0, "queues.read", SQL, Q_QUEUES_LIST, 200, NULL, { } },
	{ "GET", "/api/queues/:id", 0, "queues.read", SQL, Q_QUEUE_GET, 200, "queue",
	    { PATH_ID } },
	{ "POST", "/api/queues", 0, "queues.write", SQL, Q_QUEUE_CREATE, 201, "queue",
	    { B("body", P_BODY, 0, 65536) } },
	{ "PUT", "/api/queues/:id", 0, "queues.write", SQL, Q_QUEUE_UPDATE, 200, "queue",
	    { PATH_ID, B("body", P_BODY, 0, 65536) } },
	{ "DELETE", "/api/queues/:id", 0, "queues.write", SQL, Q_QUEUE_DELETE, 204, NULL,
	    { PATH_ID } },
	{ "GET", "/api/sites/:id/routing", 0, "sites.read", SQL, Q_SITE_ROUTING, 200, NULL,
	    { PATH_ID } },
	{ "PUT", "/api/sites/:id/default-queue", 0, "sites.write", SQL, Q_SITE_DEFAULT_QUEUE,
	    200, NULL, { PATH_ID, B("queue_id", P_OID, 0, 0) } },
	{ "POST", "/api/sites/:id/subjects", 0, "sites.write", SQL, Q_SUBJECT_CREATE, 201,
	    "subject", { PATH_ID, B("name", P_STR, 1, 100), B("queue_id", P_ID, 0, 0),
	      B("active", P_BOOL, 0, 0) } },
	{ "PUT", "/api/sites/:id/subjects/order", 0, "sites.write", SQL, Q_SUBJECTS_ORDER, 200,
	    NULL, { PATH_ID, B("ids", P_IDS, 0, 100) } },
	{ "PUT", "/api/subjects/:id", 0, "sites.write", SQL, Q_SUBJECT_UPDATE, 200, "subject",
	    { PATH_ID, B("name", P_STR, 1, 100), B("queue_id", P_ID, 0, 0),
	      B("active", P_BOOL, 0, 0) } },
	{ "DELETE", "/api/subjects/:id", 0, "sites.write", SQL, Q_SUBJECT_DELETE, 204, NULL,
	    { PATH_ID } },
	{ "GET", "/api/wrapup-codes", 0, "queues.read", SQL, Q_WRAPUP_CODES_LIST, 200, NULL, { } },
	{ "GET", "/api/console/wrapup-codes", 0, "console.agent", SQL, Q_WRAPUP_CODES_LIST, 200,
	    NULL, { } },
	{ "POST", "/api/wrapup-codes", 0, "queues.write", SQL, Q_WRAPUP_CODE_CREATE, 201, "item",
	    { B("name", P_STR, 1, 100), B("active", P_BOOL, 0, 0),
	      B("sort", P_OINT, -100000, 100000) } },
	{ "PUT", "/api/wrapup-codes/:id", 0, "queues.write", SQL, Q_WRAPUP_CODE_UPDATE, 200,
	    "item", { PATH_ID, B("name", P_STR, 1, 100), B("active", P_BOOL, 0, 0),
	      B("sort", P_OINT, -100000, 100000) } },
	{ "DELETE", "/api/wrapup-codes/:id", 0, "queues.write", SQL, Q_WRAPUP_CODE_DELETE, 204,
	    NULL, { PATH_ID } },
	{ "GET", "/api/notready-reasons", 0, "queues.read", SQL, Q_NOTREADY_REASONS_LIST, 200,
	    NULL, { } },
	{ "GET", "/api/console/notready-reasons", 0, "console.agent", SQL,
	    Q_NOTREADY_REASONS_LIST, 200, NULL, { } },
	{ "POST", "/api/notready-reasons", 0, "queues.write", SQL, Q_NOTREADY_REASON_CREATE,
	    201, "item", { B("name", P_STR, 1, 100), B("active", P_BOOL, 0, 0),
	      B("sort", P_OINT, -100000, 100000) } },
	{ "PUT", "/api/notready-reasons/:id", 0, "queues.write", SQL, Q_NOTREADY_REASON_UPDATE,
	    200, "item", { PATH_ID, B("name", P_STR, 1, 100), B("active", P_BOOL, 0, 0),
	      B("sort", P_OINT, -100000, 100000) } },
	{ "DELETE", "/api/notready-reasons/:id", 0, "queues.write", SQL,
	    Q_NOTREADY_REASON_DELETE, 204, NULL, { PATH_ID } },
	{ "GET", "/api/canned-replies", 0, "queues.read", SQL, Q_CANNED_LIST, 200, NULL, { } },
	{ "GET", "/api/console/canned-replies", 0, "console.agent", SQL, Q_CANNED_LIST, 200,
	    NULL, { } },
	{ "POST", "/api/canned-replies", 0, "queues.write", SQL, Q_CANNED_CREATE, 201, "item",
	    { B("title", P_STR, 1, 200), B("shortcut", P_OSTR, 0, 50),
	      B("body", P_STR, 1, 4000), B("active", P_BOOL, 0, 0) } },
	{ "PUT", "/api/canned-replies/:id", 0, "queues.write", SQL, Q_CANNED_UPDATE, 200, "item",
	    { PATH_ID, B("title", P_STR, 1, 200), B("shortcut", P_OSTR, 0, 50),
	      B("body", P_STR, 1, 4000), B("active", P_BOOL, 0, 0) } },
	{ "DELETE", "/api/canned-replies/:id", 0, "queues.write", SQL, Q_CANNED_DELETE, 204,
	    NULL, { PATH_ID } },
	/* Widget authorisation, appearance and context (W1, W3, W19; app/widget.c) */
	{ "GET", "/api/widget/config", RT_PUBLIC | RT_NOCSRF, NULL, widget_config },
	{ "GET", "/api/widget/challenge", RT_PUBLIC | RT_NOCSRF, NULL, widget_challenge },
	{ "POST", "/api/widget/context", RT_PUBLIC | RT_NOCSRF, NULL, widget_context },
	{ "OPTIONS", "/api/widget/context", RT_PUBLIC | RT_NOCSRF, NULL, hub_widget_preflight },
	{ "GET", "/api/sites/:id/widget", 0, "sites.read", SQL, Q_SITE_WIDGET_GET, 200, NULL,
	    { PATH_ID } },
	{ "PUT", "/api/sites/:id/appearance", 0, "sites.write", widget_appearance },
	{ "PUT", "/api/sites/:id/auth", 0, "sites.write", widget_auth },
	{ "POST", "/api/sites/:id/token-secret", 0, "sites.write", widget_token_secret },
	{ "POST", "/api/widget/otp", RT_PUBLIC | RT_NOCSRF, NULL, widget_otp },
	{ "OPTIONS", "/api/widget/otp", RT_PUBLIC | RT_NOCSRF, NULL, hub_widget_preflight },
	{ "GET", "/api/smtp", 0, "sites.read", SQL, Q_SMTP_GET, 200, "smtp", { } },
	{ "PUT", "/api/smtp", 0, "sites.write", widget_smtp_save },
	/* File transfer in chats (W7) and transcripts (W8): files.c finds out
	 * who asks (widget token or staff session, CSRF for POST) itself. */
	{ "GET", "/api/sites/:id/files", 0, "sites.read", SQL, Q_SITE_FILES_GET, 200, "files",
	    { PATH_ID } },
	{ "PUT", "/api/sites/:id/files", 0, "sites.write", files_settings_put },
	{ "POST", "/api/conversations/:id/files", RT_PUBLIC | RT_NOCSRF, NULL, files_upload },
	{ "GET", "/api/conversations/:id/files", RT_PUBLIC, NULL, files_list },
	{ "GET", "/api/conversations/:id/transcript", RT_PUBLIC, NULL, files_transcript },
	{ "GET", "/api/files/:id", RT_PUBLIC, NULL, files_download },
	/* Messages left when nobody can answer (W18; app/offline.c, widget token)
	 * and the agents' follow-up list of those and abandoned contacts (A7). */
	{ "GET", "/api/widget/status", RT_PUBLIC | RT_NOCSRF, NULL, offline_status },
	{ "POST", "/api/widget/offline", RT_PUBLIC | RT_NOCSRF, NULL, offline_post },
	{ "GET", "/api/console/followups", 0, "console.agent", SQL, Q_CONSOLE_FOLLOWUPS, 200,
	    NULL, { } },
	{ "POST", "/api/console/followups/:id/done", 0, "console.agent", followmail_done },
	/* Direct messages for signed-in customers (W15) and unread (W2). */
	{ "POST", "/api/widget/read", RT_PUBLIC | RT_NOCSRF, NULL, offline_read },
	{ "POST", "/api/console/followups/:id/reply", 0, "console.agent", SQL, Q_FOLLOWUP_REPLY,
	    200, NULL, { PATH_ID } },
	/*
	 * Calls (issue 4; app/calls.c, 0022_calls.sql): TURN credentials for
	 * staff and for widget customers with an open conversation, the
	 * recording policy of sites and queues (S5), and the recordings archive
	 * for supervisors: search, play with byte ranges, download (audited).
	 */
	{ "GET", "/api/turn", 0, "console.agent", calls_turn },
	{ "GET", "/api/widget/turn", RT_PUBLIC | RT_NOCSRF, NULL, calls_widget_turn },
	{ "GET", "/api/sites/:id/recording", 0, "sites.read", SQL, Q_SITE_RECORDING_GET, 200,
	    "recording", { PATH_ID } },
	{ "PUT", "/api/sites/:id/recording", 0, "sites.write", SQL, Q_SITE_RECORDING_SAVE, 200,
	    "recording", { PATH_ID, B("body", P_BODY, 0, 4096) } },
	{ "GET", "/api/queues/:id/recording", 0, "queues.read", SQL, Q_QUEUE_RECORDING_GET, 200,
	    "recording", { PATH_ID } },
	{ "PUT", "/api/queues/:id/recording", 0, "queues.write", SQL, Q_QUEUE_RECORDING_SAVE, 200,
	    "recording", { PATH_ID, B("body", P_BODY, 0, 4096) } },
	{ "GET", "/api/console/conversations/:id/recording-policy", 0, "console.agent", SQL,
	    Q_CONSOLE_RECORDING_POLICY, 200, "recording", { PATH_ID } },
	{ "GET", "/api/widget/recording-policy", RT_PUBLIC | RT_NOCSRF, NULL, calls_widget_recording },
	{ "GET", "/console/recordings", RT_PAGE, "recordings.read", page_serve },
	{ "GET", "/api/recordings", 0, "recordings.read", SQL, Q_RECORDINGS_SEARCH, 200, NULL,
	    { Q("customer", P_OSTR, 0, 100), Q("agent_id", P_OID, 0, 0),
	      Q("queue_id", P_OID, 0, 0), Q("from", P_TIME, 0, 0), Q("to", P_TIME, 0, 0),
	      Q("cursor", P_OSTR, 0, 100), Q("limit", P_INT, 1, 100) } },
	{ "GET", "/api/recordings/filters", 0, "recordings.read", SQL, Q_RECORDINGS_FILTERS, 200,
	    NULL, { } },
	{ "GET", "/api/recordings/:id/media", 0, "recordings.read", calls_recording_media },
	{ "GET", "/api/recordings/:id/download", 0, "recordings.read", calls_recording_download },
	/* Co-browsing (issue 5; app/cobrowse.c, the WebSocket side in hub.c):
	 * the agent's replay viewer and the site's co-browse settings. */
	{ "GET", "/console/cobrowse-view", RT_PAGE, "console.agent", cobrowse_view },
	{ "GET", "/api/cobrowse/proxy", 0, "console.agent", cobrowse_proxy },
	{ "GET", "/widget/cb.js", RT_PUBLIC, NULL, cobrowse_script },
	{ "GET", "/api/sites/:id/cobrowse", 0, "sites.read", SQL, Q_SITE_COBROWSE_GET, 200,
	    "cobrowse", { PATH_ID } },
	{ "PUT", "/api/sites/:id/cobrowse", 0, "sites.write", SQL, Q_SITE_COBROWSE_SAVE, 200,
	    "cobrowse", { PATH_ID, B("enabled", P_BOOL, 0, 0), B("mask_selectors", P_OSTR, 0, 2000),
	      B("block_selectors", P_OSTR, 0, 2000), B("remote_control", P_BOOL, 0, 0),
	      B("max_snapshot_bytes", P_OINT, 65536, 33554432) } },
	/*
	 * Follow-ups answered by e-mail (W18, A7; app/followmail.c,
	 * 0023_followup_email.sql): sent through the organisation's SMTP
	 * server, stored in the conversation only once sent.
	 */
	{ "POST", "/api/console/followups/:id/email", 0, "console.agent", followmail_email },
	/*
	 * Co-browsing, stored sessions (issue 5; 0025_cobrowse_storage.sql,
	 * app/cobrowse.c): the site's storage setting and the replay of a
	 * stored session (recordings.read or staff of the chat; audited).
	 */
	{ "GET", "/api/sites/:id/cobrowse-storage", 0, "sites.read", SQL, Q_SITE_COBROWSE_STORAGE_GET,
	    200, "storage", { PATH_ID } },
	{ "PUT", "/api/sites/:id/cobrowse-storage", 0, "sites.write", SQL, Q_SITE_COBROWSE_STORAGE_SAVE,
	    200, "storage", { PATH_ID, B("enabled", P_BOOL, 0, 0), B("retention_days", P_OINT, 1, 3650) } },
	{ "GET", "/api/cobrowse/sessions/:id/recording", 0, "console.agent", cobrowse_recording },
};

#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

const struct vb_route *
route_at(int i)
{
	if (i < 0 || i >= (int)NROUTES)
		return (NULL);
	routes[i].index = i;
	return (&routes[i]);
}

const struct vb_route *
route_find(const char *method, const char *path, int64_t *ids, int *nids,
    int *path_known)
{
	size_t	i;

	*path_known = 0;
	if (strlen(path) > 1024)
		return (NULL);
	for (i = 0; i < NROUTES; i++) {
		if (!util_path_match(routes[i].path, path, ids, nids, ROUTE_PATH_PARAMS))
			continue;
		*path_known = 1;
		if (strcmp(routes[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
			routes[i].index = (int)i;
			return (&routes[i]);
		}
	}
	return (NULL);
}

/* Query-string value, URL-decoded into buf; 0 when absent or too long. */
int
route_query(struct vbreq *r, const char *name, char *buf, size_t len)
{
	const char	*q = r->req->query_string, *amp, *eq;
	size_t		 nlen = strlen(name), vlen;

	while (q != NULL && *q != '\0') {
		amp = strchr(q, '&');
		eq = strchr(q, '=');
		if (eq != NULL && (amp == NULL || eq < amp) &&
		    (size_t)(eq - q) == nlen && strncmp(q, name, nlen) == 0) {
			vlen = amp ? (size_t)(amp - eq - 1) : strlen(eq + 1);
			if (vlen >= len)
				return (-1);
			memcpy(buf, eq + 1, vlen);
			buf[vlen] = '\0';
			if (http_argument_urldecode(buf) != KORE_RESULT_OK)
				return (-1);
			return (buf[0] != '\0');
		}
		q = amp ? amp + 1 : NULL;
	}
	return (0);
}

static int
route_int(struct kore_json_item *it, int64_t *out)
{
	if (it->type == KORE_JSON_TYPE_INTEGER) {
		*out = it->data.s64;
		return (1);
	}
	if (it->type == KORE_JSON_TYPE_INTEGER_U64 && it->data.u64 <= INT64_MAX) {
		*out = (int64_t)it->data.u64;
		return (1);
	}
	if (it->type == KORE_JSON_TYPE_NUMBER && it->data.number == floor(it->data.number) &&
	    fabs(it->data.number) < 9e15) {
		*out = (int64_t)it->data.number;
		return (1);
	}
	return (0);
}

/* JSON array of ids or strings into a PostgreSQL array literal. */
static int
route_array(const struct vb_param *p, struct kore_json_item *it, struct sbuf *out)
{
	struct kore_json_item	*e;
	int64_t			 id;
	int			 n = 0;

	if (it == NULL) {
		sbuf_adds(out, "{}");
		return (1);
	}
	if (it->type != KORE_JSON_TYPE_ARRAY)
		return (0);
	sbuf_addc(out, '{');
	TAILQ_FOREACH(e, &it->data.items, list) {
		if (++n > p->max)
			return (0);
		if (n > 1)
			sbuf_addc(out, ',');
		if (p->type == P_IDS) {
			if (!route_int(e, &id) || id <= 0)
				return (0);
			sbuf_addf(out, "%lld", (long long)id);
			continue;
		}
		if (e->type != KORE_JSON_TYPE_STRING)
			return (0);
		if (p->type == P_PERMS && !util_perm_valid(e->data.string))
			return (0);
		if (p->type == P_ORIGINS && !util_origin_valid(e->data.string))
			return (0);
		sbuf_pg_elem(out, e->data.string);
	}
	sbuf_addc(out, '}');
	return (1);
}

/* [{skill_id, level}] re-serialised from validated values only. */
static int
route_skills(const struct vb_param *p, struct kore_json_item *it, struct sbuf *out)
{
	struct kore_json_item	*e, *f;
	int64_t			 id, level;
	int			 n = 0, have;

	sbuf_addc(out, '[');
	if (it != NULL) {
		if (it->type != KORE_JSON_TYPE_ARRAY)
			return (0);
		TAILQ_FOREACH(e, &it->data.items, list) {
			if (++n > p->max || e->type != KORE_JSON_TYPE_OBJECT)
				return (0);
			id = level = 0;
			have = 0;
			TAILQ_FOREACH(f, &e->data.items, list) {
				if (f->name == NULL)
					continue;
				if (strcmp(f->name, "skill_id") == 0 && route_int(f, &id))
					have |= 1;
				else if (strcmp(f->name, "level") == 0 && route_int(f, &level))
					have |= 2;
			}
			if (have != 3 || id <= 0 || level < 1 || level > 5)
				return (0);
			sbuf_addf(out, "%s{\"skill_id\":%lld,\"level\":%lld}",
			    n > 1 ? "," : "", (long long)id, (long long)level);
		}
	}
	sbuf_addc(out, ']');
	return (1);
}

/*
 * Converts one declared parameter to its text form. Returns 1 with *isnull
 * set for SQL NULL, 0 with an error already sent.
 */
static int
route_param(struct vbreq *r, const struct vb_param *p, struct sbuf *out,
    int *isnull)
{
	struct kore_json_item	*it = NULL;
	char			 q[256], msg[160];
	const char		*s = NULL;
	int64_t			 v;
	int			 rc;

	*isnull = 0;
	if (p->src == S_BODY) {
		it = vb_field(r, p->name, 0);
		if (it != NULL && it->type == KORE_JSON_TYPE_STRING)
			s = it->data.string;
	} else if (p->src == S_QUERY) {
		if ((rc = route_query(r, p->name, q, sizeof(q))) < 0)
			goto bad;
		s = rc ? q : NULL;
	} else if (p->src == S_PATH) {
		sbuf_addf(out, "%lld", (long long)r->path_id[0]);
		return (1);
	}

	switch (p->type) {
	case P_STR:
	case P_OSTR:
	case P_EMAIL:
	case P_SLUG:
		if (s == NULL || *s == '\0') {
			if (p->type == P_OSTR && (it == NULL || s != NULL)) {
				*isnull = 1;
				return (1);
			}
			goto bad;
		}
		if (!util_utf8_valid(s, strlen(s)) || util_utf8_chars(s) > (size_t)p->max ||
		    util_utf8_chars(s) < (size_t)p->min)
			goto bad;
		if (p->type == P_EMAIL && !util_email_valid(s))
			goto bad;
		if (p->type == P_SLUG && !util_slug_valid(s))
			goto bad;
		sbuf_adds(out, s);
		return (1);
	case P_ID:
	case P_OID:
	case P_INT:
		if (p->src == S_QUERY) {
			if (s == NULL) {
				*isnull = 1;
				return (1);
			}
			if (strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
				goto bad;
			v = strtoll(s, NULL, 10);
		} else if (it == NULL) {
			if (p->type == P_OID) {
				*isnull = 1;
				return (1);
			}
			goto bad;
		} else if (!route_int(it, &v)) {
			goto bad;
		}
		if (p->type == P_INT ? (v < p->min || v > p->max) : v <= 0)
			goto bad;
		sbuf_addf(out, "%lld", (long long)v);
		return (1);
	case P_IDS:
	case P_PERMS:
	case P_ORIGINS:
		if (!route_array(p, it, out))
			goto bad;
		return (1);
	case P_SKILLS:
		if (!route_skills(p, it, out))
			goto bad;
		return (1);
	case P_TIME:
		if (s == NULL) {
			*isnull = 1;
			return (1);
		}
		if (!util_time_valid(s))
			goto bad;
		sbuf_adds(out, s);
		return (1);
	case P_BODY:
		/* An object already parsed by vb_body_json; checked field by field in SQL. */
		if (r->body.len > (size_t)p->max) {
			vb_error(r, 413, "too_large", "The request body is too large");
			return (0);
		}
		sbuf_add(out, r->body.data, r->body.len);
		return (1);
	case P_BOOL:
		if (it == NULL) {
			*isnull = 1;
			return (1);
		}
		if (it->type != KORE_JSON_TYPE_LITERAL || (it->data.literal != KORE_JSON_TRUE &&
		    it->data.literal != KORE_JSON_FALSE))
			goto bad;
		sbuf_adds(out, it->data.literal == KORE_JSON_TRUE ? "t" : "f");
		return (1);
	case P_OINT:
		if (it == NULL) {
			*isnull = 1;
			return (1);
		}
		if (!route_int(it, &v) || v < p->min || v > p->max)
			goto bad;
		sbuf_addf(out, "%lld", (long long)v);
		return (1);
	case P_TEMPPW:
		/* Hashed beforehand on a task thread (route_sqlcall step 0). */
		sbuf_adds(out, r->scratch);
		return (1);
	case P_SITEKEY:
		util_random_token(q, 18);
		sbuf_addf(out, "pk_%s", q);
		return (1);
	default:
		fatal("route_param: bad type %d", p->type);
	}
bad:
	(void)snprintf(msg, sizeof(msg), "The value of %s is missing or not valid",
	    p->name);
	vb_error_field(r, 422, "invalid", msg, p->name);
	return (0);
}

static int
route_sqlcall_start(struct vbreq *r)
{
	const struct vb_route	*rt = r->route;
	const char		*vals[DB_PARAM_MAX];
	struct sbuf		 bufs[DB_PARAM_MAX];
	struct db_job		*j;
	int			 i, n, isnull, ok = 1;

	for (n = 0; n < DB_PARAM_MAX && rt->params[n].type != P_NONE; n++)
		if (rt->params[n].src == S_BODY && !vb_body_json(r))
			return (VB_DONE);
	for (i = 0; i < n; i++) {
		sbuf_init(&bufs[i]);
		if (ok && !route_param(r, &rt->params[i], &bufs[i], &isnull))
			ok = 0;
		vals[i] = isnull ? NULL : bufs[i].data;
	}
	if (ok) {
		j = vb_job(r);
		db_addv(j, rt->sql, n, vals);
	}
	for (i = 0; i < n; i++)
		sbuf_free(&bufs[i]);
	if (!ok)
		return (VB_DONE);
	return (vb_db_submit(r, j, 1));
}

static void
route_sqlcall_answer(struct vbreq *r)
{
	const struct vb_route	*rt = r->route;
	const char		*res;
	struct sbuf		 b;

	if ((res = db_value(r->job, 0, 0, 0)) == NULL) {
		vb_error(r, 404, "not_found", "Not found");
		return;
	}
	if (rt->status == 204) {
		vb_json(r, 204, NULL, 0);
		return;
	}
	sbuf_init(&b);
	if (rt->wrap != NULL) {
		sbuf_addc(&b, '{');
		sbuf_json_str(&b, rt->wrap);
		sbuf_addc(&b, ':');
		sbuf_adds(&b, res);
		sbuf_addc(&b, '}');
	} else {
		sbuf_adds(&b, res);
	}
	/* A generated password is shown once, in this answer only. */
	if (r->scratch2[0] != '\0' && b.len >= 2 && b.data[b.len - 1] == '}') {
		b.len--;
		sbuf_adds(&b, b.len > 1 ? ",\"temporary_password\":" :
		    "\"temporary_password\":");
		sbuf_json_str(&b, r->scratch2);
		sbuf_addc(&b, '}');
	}
	vb_json(r, rt->status, b.data, b.len);
	sbuf_free(&b);
}

static int
route_needs_temppw(const struct vb_route *rt)
{
	int	i;

	for (i = 0; i < DB_PARAM_MAX && rt->params[i].type != P_NONE; i++)
		if (rt->params[i].type == P_TEMPPW)
			return (1);
	return (0);
}

/*
 * Steps: 0 validates and, when the call hands out a temporary password,
 * hashes it on a task thread (2); 1 answers the database's result.
 */
int
route_sqlcall(struct vbreq *r)
{
	int	ok;

	switch (r->step) {
	case 0:
		if (!route_needs_temppw(r->route))
			return (route_sqlcall_start(r));
		util_temp_password(r->scratch2, sizeof(r->scratch2));
		return (pwtask_start(r, PWTASK_HASH, NULL, r->scratch2, 2));
	case 2:
		if (!pwtask_result(r, &ok, r->scratch, sizeof(r->scratch)))
			return (VB_WAIT);
		if (!ok)
			fatal("pwd_hash failed");
		return (route_sqlcall_start(r));
	case 1:
		if (!vb_db_error(r))
			route_sqlcall_answer(r);
		return (VB_DONE);
	}
	fatal("route_sqlcall: step %d", r->step);
}
