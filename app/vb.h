/*
 * Virtual Branch application module: shared declarations.
 *
 * Ownership in one paragraph: Kore owns connections and http_requests. For
 * each request the dispatcher (req.c) allocates a struct vbreq hung off
 * req->hdlr_extra and freed by req->onfree. Route handlers are continuations:
 * they are called with r->step, and either answer (VB_DONE) or start one
 * asynchronous operation (a database job or a Redis command) and return
 * VB_WAIT; the operation's completion wakes the request and the handler runs
 * again with the result in r->job or r->reply. A job whose request went away
 * is orphaned (its arg cleared) and finishes silently.
 */

#ifndef VB_H
#define VB_H

#include <sys/types.h>
#include <stdint.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <libpq-fe.h>

#include "util.h"

#define VB_DONE		0
#define VB_WAIT		1

#define VB_ID_LEN	32		/* bytes of random in a session id */
#define VB_REQID_MAX	40

/* Database jobs (db.c) */
#define DB_STMT_MAX	8
#define DB_PARAM_MAX	12

struct db_job;
typedef void	(*db_cb)(struct db_job *, void *);

struct db_stmt {
	const char	*sql;
	int		nparams;
	int		param_off[DB_PARAM_MAX];	/* offsets into arena, -1 = NULL */
};

struct db_job {
	int			nstmt;
	struct db_stmt		stmt[DB_STMT_MAX];
	struct sbuf		arena;
	int			preamble;	/* stmt[0] sets the tenant */

	PGresult		*res[DB_STMT_MAX];
	int			state;
	int			failed;
	char			sqlstate[6];
	char			*errmsg;	/* primary message */
	char			*errhint;
	char			*errfield;	/* form field of the error, or NULL */

	db_cb			cb;
	void			*arg;
	TAILQ_ENTRY(db_job)	list;
};

struct db_job	*db_job_new(void);
void		 db_job_free(struct db_job *);
void		 db_job_tenant(struct db_job *, int64_t, int64_t, const char *,
		    const char *);
void		 db_add(struct db_job *, const char *, int, ...);
void		 db_addv(struct db_job *, const char *, int, const char **);
int		 db_submit(struct db_job *, db_cb, void *);
PGresult	*db_result(struct db_job *, int);
const char	*db_value(struct db_job *, int, int, int);
int		 db_rows(struct db_job *, int);
void		 db_init(const char *, int);
void		 db_stats(int *, int *, int *);
void		 db_orphan(struct db_job *);
void		 db_shutdown(void);

/* Redis (rds.c) */
#define RDS_INTS	4
struct rds_result {
	int		ok;		/* 0: Redis down or error reply */
	long long	ints[RDS_INTS];	/* integer reply, or array of integers */
	int		nints;
};
struct rds_pending;
typedef void	(*rds_cb)(struct rds_result *, void *);
void			 rds_init(const char *);
int			 rds_up(void);
struct rds_pending	*rds_commandv(rds_cb, void *, const char *, va_list);
void			 rds_orphan(struct rds_pending *);
void			 rds_listen(const char *, void (*)(const char *, size_t));
int			 rds_publish(const char *, const char *, size_t);

/* Routes (route.c) */
struct vbreq;
typedef int	(*vb_handler)(struct vbreq *);

#define RT_PUBLIC	0x01	/* no session needed */
#define RT_HALFAUTH	0x02	/* reachable before password change / TOTP */
#define RT_PAGE		0x04	/* HTML page: redirect instead of JSON 401 */
#define RT_NOCSRF	0x08

/* Parameters of table-driven SQL calls. */
enum vb_ptype {
	P_NONE = 0,
	P_STR,		/* string, min..max characters */
	P_OSTR,		/* optional string: absent or "" is NULL */
	P_ID,		/* positive integer id */
	P_OID,		/* optional id (null or absent is NULL) */
	P_INT,		/* integer min..max */
	P_EMAIL,
	P_IDS,		/* array of ids -> '{1,2}' */
	P_PERMS,	/* array of permission codes -> '{a,b}' */
	P_ORIGINS,	/* array of origins -> '{...}' */
	P_SKILLS,	/* [{skill_id, level}] -> JSON text */
	P_TIME,		/* optional ISO date/time */
	P_SLUG,
	P_TEMPPW,	/* generated: hash of a new temporary password */
	P_SITEKEY,	/* generated: a new site key */
	P_BODY,		/* the whole JSON body as text, at most max bytes */
	P_BOOL,		/* optional true/false -> 't'/'f' (absent is NULL) */
	P_OINT,		/* optional integer min..max (absent is NULL) */
};

enum vb_psrc { S_BODY = 0, S_PATH, S_QUERY, S_GEN };

struct vb_param {
	enum vb_psrc	src;
	const char	*name;
	enum vb_ptype	type;
	int		min;
	int		max;
};

struct vb_route {
	const char		*method;
	const char		*path;		/* segments; ":id" matches a number */
	int			flags;
	const char		*perm;		/* permission needed, or NULL */
	vb_handler		handler;
	/* Table-driven SQL call when handler is route_sqlcall */
	const char		*sql;
	int			status;		/* success status */
	const char		*wrap;		/* answer {"wrap": result} */
	struct vb_param		params[DB_PARAM_MAX];
	/* Filled at start-up */
	int			index;
};

#define ROUTE_PATH_PARAMS	4

struct vb_session {
	int		valid;
	int64_t		user_id;
	int64_t		tenant_id;
	char		csrf[64];
	int		mfa_ok;
	int		must_change;
	int		has_totp;
	char		**perms;
	int		nperms;
	char		hash_hex[65];
};

struct vbreq {
	struct http_request	*req;
	const struct vb_route	*route;
	int			step;
	int			auth_step;
	u_int64_t		start_us;
	char			reqid[VB_REQID_MAX];
	char			addr[64];
	char			cors_origin[256];	/* set: answer CORS for it */
	int64_t			path_id[ROUTE_PATH_PARAMS];
	int			npath_id;

	struct vb_session	sess;
	struct sbuf		body;
	struct kore_json	json;
	int			json_ok;

	struct db_job		*job;
	struct pwtask		*pw;
	struct rds_pending	*rds;
	struct rds_result	rres;

	/* Sign-in state carried across steps (auth.c). */
	struct {
		int64_t		uid;
		int		totp, must_change, disabled, pw_ok;
		char		token[64];
		char		hash[65];
		char		csrf[48];
		char		email_key[65];
	} login;
	unsigned char		totp_secret[64];
	size_t			totp_len;

	/* Scratch for handlers that need to carry values across steps. */
	char			scratch[512];
	char			scratch2[128];
	int64_t			scratch_id;
	int			status;
	struct sbuf		ext;		/* handlers' own buffer, freed with r */
	struct wmail		*mail;		/* wmail.c task, freed with r */
	struct files_req	*files;		/* files.c */
	struct cbproxy		*cbproxy;	/* cobrowse.c asset proxy task */
};

/* req.c */
int		 vb_dispatch(struct http_request *);
void		 vb_json(struct vbreq *, int, const char *, size_t);
void		 vb_error(struct vbreq *, int, const char *, const char *);
void		 vb_error_field(struct vbreq *, int, const char *, const char *,
		    const char *);
void		 vb_redirect(struct vbreq *, const char *);
int		 vb_db_submit(struct vbreq *, struct db_job *, int);
int		 vb_rds(struct vbreq *, int, const char *, ...);
int		 vb_db_error(struct vbreq *);
struct db_job	*vb_job(struct vbreq *);
int		 vb_has_perm(struct vbreq *, const char *);
struct kore_json_item *vb_field(struct vbreq *, const char *, u_int32_t);
const char	*vb_str_field(struct vbreq *, const char *, size_t, size_t);
int		 vb_body_json(struct vbreq *);
void		 vb_set_cookie(struct vbreq *, const char *, const char *, int, int);
int		 vb_secure_cookies(void);
const char	*vb_public_url(void);
const char	*vb_root(void);

/* route.c */
const struct vb_route	*route_find(const char *, const char *, int64_t *,
			    int *, int *);
int			 route_sqlcall(struct vbreq *);
int			 route_query(struct vbreq *, const char *, char *, size_t);
const struct vb_route	*route_at(int);

/* auth.c */
int	auth_session(struct vbreq *);
int	auth_login(struct vbreq *);
int	auth_totp(struct vbreq *);
int	auth_logout(struct vbreq *);
int	auth_me(struct vbreq *);
int	auth_password(struct vbreq *);
int	auth_totp_setup(struct vbreq *);
int	auth_totp_enable(struct vbreq *);
int	auth_totp_disable(struct vbreq *);
void	auth_init(void);

/* hub.c */
int	hub_ws(struct vbreq *);
int	hub_widget_preflight(struct vbreq *);
void	hub_init(void);
void	hub_publish(int64_t, const char *, size_t, int);
void	hub_publish_user(int64_t, const char *, size_t);
void	hub_route_tenant(int64_t);
void	hub_followups(int64_t);

/* widget.c: customer authorisation, appearance, context (W1, W3, W19) */
int	widget_config(struct vbreq *);
int	widget_challenge(struct vbreq *);
int	widget_session(struct vbreq *);
int	widget_context(struct vbreq *);
int	widget_appearance(struct vbreq *);
int	widget_auth(struct vbreq *);
int	widget_token_secret(struct vbreq *);
int	widget_otp(struct vbreq *);
int	widget_smtp_save(struct vbreq *);
/* The organisation's SMTP settings, password unsealed (widget_smtp_open). */
#define WIDGET_KEY_STEP	50	/* a handler's step while widget_keys() loads */
struct widget_smtp {
	char	host[256];
	int	port;
	int	starttls;
	char	user[256];
	char	pass[300];
	char	from[256];
	char	site[256];
};
int	widget_keys(struct vbreq *, int *);
int	widget_keys_loaded(struct vbreq *);
int	widget_smtp_open(struct vbreq *, const char *, struct widget_smtp *);
void	widget_smtp_clear(struct widget_smtp *);

/* wmail.c: SMTP (libcurl) on a task thread */
struct wmail;
int	wmail_start(struct vbreq *, const char *, int, int, const char *,
	    const char *, const char *, const char *, const struct sbuf *, int);
int	wmail_result(struct vbreq *, int *, char *, size_t);
void	wmail_free(struct vbreq *);
void	wmail_init(void);

/* pwtask.c */
#define PWTASK_VERIFY	1
#define PWTASK_HASH	2
struct pwtask;
int	pwtask_start(struct vbreq *, int, const char *, const char *, int);
int	pwtask_result(struct vbreq *, int *, char *, size_t);
void	pwtask_free(struct vbreq *);

/* page.c */
int	page_serve(struct vbreq *);
int	page_root(struct vbreq *);
int	page_static(struct vbreq *);
int	page_forbidden(struct vbreq *);
int	page_widget_panel(struct vbreq *);
int	page_demo(struct vbreq *);
int	page_loader(struct vbreq *);

/* ops.c */
int	ops_healthz(struct vbreq *);
int	ops_metrics(struct vbreq *);
void	ops_init(void);
void	ops_observe(int, int, u_int64_t);
void	ops_websockets(int);
void	ops_log(struct vbreq *, int);
void	vb_log(int, const char *, ...) __attribute__((format(printf, 2, 3)));

/* files.c: file transfer in chats (W7) and transcripts (W8) */
void	files_init(void);
void	files_free(struct vbreq *);
int	files_upload(struct vbreq *);
int	files_download(struct vbreq *);
int	files_list(struct vbreq *);
int	files_transcript(struct vbreq *);
int	files_settings_put(struct vbreq *);

/* offline.c */
int	offline_status(struct vbreq *);
int	offline_post(struct vbreq *);
int	offline_read(struct vbreq *);

/* followmail.c: follow-ups answered by e-mail, the live follow-up list */
int	followmail_email(struct vbreq *);
int	followmail_done(struct vbreq *);

/* calls.c: TURN credentials and recording playback (issue 4, S5) */
int	calls_turn(struct vbreq *);
int	calls_widget_turn(struct vbreq *);
int	calls_widget_recording(struct vbreq *);
int	calls_recording_media(struct vbreq *);
int	calls_recording_download(struct vbreq *);

/* cobrowse.c: co-browsing (issue 5) */
int	cobrowse_view(struct vbreq *);
int	cobrowse_script(struct vbreq *);
int	cobrowse_proxy(struct vbreq *);
void	cobrowse_free(struct vbreq *);
int	cobrowse_recording(struct vbreq *);
void	cobrowse_init(void);

/* media.c: the media relay's control socket (issue 4, docs/media.md) */
struct json_t;
typedef void	(*media_cb)(struct json_t *, void *);
void		 media_init(void);
int		 media_request(struct json_t *, media_cb, void *);
void		 media_command(int64_t, int64_t, const char *);
const char	*media_epoch(void);
/* hub.c, "Calls": what the relay tells */
void		 hub_media_event(struct json_t *);
void		 hub_media_restart(void);

#endif
