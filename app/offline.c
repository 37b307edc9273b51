/*
 * Leaving a message when nobody can answer (W18), from the widget panel.
 *
 *   GET  /api/widget/status    {subjects, open, agents}: may anyone answer now
 *   POST /api/widget/offline   {conversation_id, name, email, message,
 *                               client_id?, subject_id?}
 *   POST /api/widget/read      {conversation_id, seq}: the panel showed the
 *                               conversation up to seq (W2 unread count)
 *
 * Both are authorised by the widget token (Authorization: Bearer, as in
 * files.c). The message is validated here, counted per address and per
 * e-mail address (Redis; Redis down refuses), then stored by
 * vb_offline_leave (0017_offline_messages.sql) under the customer's
 * organisation: a customer message in the conversation, which is then kept
 * for follow-up and never queued. Bad input changes nothing.
 */

#include <ctype.h>

#include "vb.h"
#include "queries.h"

#define OFFLINE_NAME_MAX	200
#define OFFLINE_EMAIL_MAX	254
#define OFFLINE_TEXT_MAX	4000
#define OFFLINE_PER_ADDR	20	/* messages per network address per 10 min */
#define OFFLINE_PER_EMAIL	5	/* messages per e-mail address per hour */

/* The bearer token's hash (hex) into hash; 0 with an error sent. */
static int
offline_token(struct vbreq *r, char *hash)
{
	const char	*h;

	if (!http_request_header(r->req, "authorization", &h) ||
	    strncasecmp(h, "Bearer ", 7) != 0 || strlen(h + 7) > 64 ||
	    !util_token_valid(h + 7, 64)) {
		vb_error(r, 401, "unauthenticated", "A valid widget token is required");
		return (0);
	}
	util_sha256_hex(h + 7, strlen(h + 7), hash);
	return (1);
}

/* GET /api/widget/status */
int
offline_status(struct vbreq *r)
{
	struct db_job	*j;
	const char	*v;
	char		 hash[65];

	switch (r->step) {
	case 0:
		if (!offline_token(r, hash))
			return (VB_DONE);
		j = vb_job(r);
		db_add(j, Q_WIDGET_STATUS, 1, hash);
		return (vb_db_submit(r, j, 1));
	case 1:
		if (vb_db_error(r))
			return (VB_DONE);
		v = db_value(r->job, 0, 0, 0);
		vb_json(r, 200, v ? v : "{}", v ? strlen(v) : 2);
		return (VB_DONE);
	}
	fatal("offline_status: step %d", r->step);
}

/* An optional positive id field; 0 when absent, -1 when not valid. */
static int64_t
offline_id(struct vbreq *r, const char *name)
{
	struct kore_json_item	*it = vb_field(r, name, 0);

	if (it == NULL)
		return (0);
	if (it->type == KORE_JSON_TYPE_INTEGER && it->data.s64 > 0)
		return (it->data.s64);
	if (it->type == KORE_JSON_TYPE_INTEGER_U64 && it->data.u64 > 0 &&
	    it->data.u64 <= INT64_MAX)
		return ((int64_t)it->data.u64);
	if (it->type == KORE_JSON_TYPE_NUMBER && it->data.number >= 1 &&
	    it->data.number <= 9e15 && it->data.number == (double)(int64_t)it->data.number)
		return ((int64_t)it->data.number);
	return (-1);
}

/* Step 0: everything checked before anything is counted or stored. */
static int
offline_check(struct vbreq *r)
{
	const char	*email, *cl;
	char		 hash[65], key[OFFLINE_EMAIL_MAX * 4 + 1], *p;
	int64_t		 conv, subj;

	if (!offline_token(r, hash) || !vb_body_json(r))
		return (VB_DONE);
	if ((conv = offline_id(r, "conversation_id")) <= 0) {
		vb_error_field(r, 422, "invalid", "conversation_id is required", "conversation_id");
		return (VB_DONE);
	}
	if ((subj = offline_id(r, "subject_id")) < 0) {
		vb_error_field(r, 422, "invalid", "subject_id is not valid", "subject_id");
		return (VB_DONE);
	}
	if (vb_str_field(r, "name", 1, OFFLINE_NAME_MAX) == NULL ||
	    (email = vb_str_field(r, "email", 3, OFFLINE_EMAIL_MAX)) == NULL ||
	    vb_str_field(r, "message", 1, OFFLINE_TEXT_MAX) == NULL)
		return (VB_DONE);
	if (!util_email_valid(email)) {
		vb_error_field(r, 422, "invalid_email", "This e-mail address is not valid", "email");
		return (VB_DONE);
	}
	if (vb_field(r, "client_id", 0) != NULL) {
		if ((cl = vb_str_field(r, "client_id", 1, 64)) == NULL)
			return (VB_DONE);
		if (!util_token_valid(cl, 64)) {
			vb_error_field(r, 422, "invalid", "client_id is not valid", "client_id");
			return (VB_DONE);
		}
		kore_strlcpy(r->scratch2, cl, sizeof(r->scratch2));
	} else {
		util_random_token(r->scratch2, 24);
	}
	kore_strlcpy(r->login.hash, hash, sizeof(r->login.hash));
	kore_strlcpy(key, email, sizeof(key));
	for (p = key; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	r->scratch_id = conv;
	/* Both counters go up; the larger share of its limit decides. */
	return (vb_rds(r, 1, "EVAL %s 2 vb:offline:a:%s vb:offline:e:%s %d %d",
	    "local a = redis.call('INCR', KEYS[1]) if a == 1 then redis.call('EXPIRE', KEYS[1], 600) end "
	    "local e = redis.call('INCR', KEYS[2]) if e == 1 then redis.call('EXPIRE', KEYS[2], 3600) end "
	    "if a > tonumber(ARGV[1]) or e > tonumber(ARGV[2]) then return 0 end return 1",
	    r->addr, key, OFFLINE_PER_ADDR, OFFLINE_PER_EMAIL));
}

/* POST /api/widget/offline. Steps: 0 checks, 1 counted, 2 customer known, 3 stored. */
int
offline_post(struct vbreq *r)
{
	struct db_job	*j;
	const char	*v;
	char		 conv[24], cust[24], subj[24];
	int64_t		 tenant, sid;
	struct sbuf	 b;

	switch (r->step) {
	case 0:
		return (offline_check(r));
	case 1:
		if (!r->rres.ok) {
			vb_error(r, 503, "unavailable", "Messages cannot be left right now; try again shortly");
			return (VB_DONE);
		}
		if (r->rres.ints[0] != 1) {
			http_response_header(r->req, "retry-after", "600");
			vb_error(r, 429, "too_many_attempts",
			    "Too many messages from this address; please try again later");
			return (VB_DONE);
		}
		j = vb_job(r);
		db_add(j, Q_WIDGET_SESSION_GET, 1, r->login.hash);
		return (vb_db_submit(r, j, 2));
	case 2:
		if (vb_db_error(r))
			return (VB_DONE);
		if (db_rows(r->job, 0) != 1) {
			vb_error(r, 401, "unauthenticated", "The widget token is unknown or expired");
			return (VB_DONE);
		}
		tenant = strtoll(db_value(r->job, 0, 0, 0), NULL, 10);
		r->login.uid = tenant;	/* carried to step 3: the consoles to nudge */
		kore_strlcpy(cust, db_value(r->job, 0, 0, 2), sizeof(cust));
		(void)snprintf(conv, sizeof(conv), "%lld", (long long)r->scratch_id);
		sid = offline_id(r, "subject_id");
		(void)snprintf(subj, sizeof(subj), "%lld", (long long)sid);
		j = db_job_new();
		db_job_tenant(j, tenant, 0, r->addr, r->reqid);
		db_add(j, Q_OFFLINE_LEAVE, 7, cust, conv, vb_field(r, "name", 0)->data.string,
		    vb_field(r, "email", 0)->data.string, vb_field(r, "message", 0)->data.string,
		    r->scratch2, sid > 0 ? subj : NULL);
		return (vb_db_submit(r, j, 3));
	case 3:
		if (vb_db_error(r))
			return (VB_DONE);
		if ((v = db_value(r->job, 0, 0, 0)) == NULL || v[0] != '{') {
			vb_error(r, 500, "internal", "Something went wrong on our side");
			return (VB_DONE);
		}
		sbuf_init(&b);
		sbuf_adds(&b, "{\"message\":");
		sbuf_adds(&b, v);
		sbuf_addc(&b, '}');
		vb_json(r, 201, b.data, b.len);
		sbuf_free(&b);
		hub_publish(r->scratch_id, v, strlen(v), 0);
		hub_followups(r->login.uid);
		return (VB_DONE);
	}
	fatal("offline_post: step %d", r->step);
}

/* POST /api/widget/read */
int
offline_read(struct vbreq *r)
{
	struct db_job	*j;
	const char	*v;
	char		 hash[65], conv[24], seq[24];
	int64_t		 c, n;

	switch (r->step) {
	case 0:
		if (!offline_token(r, hash) || !vb_body_json(r))
			return (VB_DONE);
		if ((c = offline_id(r, "conversation_id")) <= 0) {
			vb_error_field(r, 422, "invalid", "conversation_id is required", "conversation_id");
			return (VB_DONE);
		}
		if ((n = offline_id(r, "seq")) <= 0) {
			vb_error_field(r, 422, "invalid", "seq must be a positive integer", "seq");
			return (VB_DONE);
		}
		(void)snprintf(conv, sizeof(conv), "%lld", (long long)c);
		(void)snprintf(seq, sizeof(seq), "%lld", (long long)n);
		j = vb_job(r);
		db_add(j, Q_WIDGET_READ, 3, hash, conv, seq);
		return (vb_db_submit(r, j, 1));
	case 1:
		if (vb_db_error(r))
			return (VB_DONE);
		v = db_value(r->job, 0, 0, 0);
		vb_json(r, 200, v ? v : "{}", v ? strlen(v) : 2);
		return (VB_DONE);
	}
	fatal("offline_read: step %d", r->step);
}
