/*
 * Client frames on the hub's WebSocket, parsed and checked without Kore: the
 * hub (hub.c) acts on the result, tests/fuzz/fuzz_wsframe.c and
 * tests/unit/wsframe_test.c run the same code on their own.
 */
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "util.h"
#include "wsframe.h"

#define WSFRAME_REASON_MAX	100

static const char *const wsframe_names[WSF_NTYPES] = {
	[WSF_NOTE] = "note", [WSF_WHISPER] = "whisper", [WSF_BARGE] = "barge",
	[WSF_LEAVE] = "leave", [WSF_TRANSFER] = "transfer", [WSF_INVITE] = "invite",
	[WSF_JOIN] = "join", [WSF_TAKE] = "take", [WSF_WRAPUP] = "wrapup",
	[WSF_DM] = "dm", [WSF_WATCH] = "watch", [WSF_UNSUBSCRIBE] = "unsubscribe",
	[WSF_STATE] = "state", [WSF_ACCEPT] = "accept", [WSF_DECLINE] = "decline",
	[WSF_FINISH] = "finish", [WSF_SEND] = "send", [WSF_SUBSCRIBE] = "subscribe",
	[WSF_TYPING] = "typing", [WSF_PING] = "ping", [WSF_READ] = "read",
	[WSF_LEAVE_QUEUE] = "leave_queue",
	[WSF_COBROWSE] = "cobrowse", [WSF_COBROWSE_DATA] = "cobrowse_data",
	[WSF_COBROWSE_LIVE] = "cobrowse_live", [WSF_COBROWSE_CONTROL] = "cobrowse_control",
};

static const char *const wsframe_states[] = { "ready", "not_ready", "offline" };

/*
 * Jansson seeds its hash function from /dev/urandom on first use, which the
 * worker's seccomp filter does not allow: the hub seeds it once at start.
 */
void
wsframe_seed(uint32_t seed)
{
	json_object_seed(seed != 0 ? seed : 1);
}

/* An integer in [min, WSFRAME_ID_MAX]; integral reals (5.0, 1e3) count too. */
static int
wsframe_int(const json_t *v, int64_t min, int64_t *out)
{
	json_int_t	i;
	double		d;

	if (json_is_integer(v)) {
		i = json_integer_value(v);
		if (i < min || i > WSFRAME_ID_MAX)
			return (0);
		*out = (int64_t)i;
		return (1);
	}
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (!(d >= (double)min && d <= (double)WSFRAME_ID_MAX) || d != floor(d))
			return (0);
		*out = (int64_t)d;
		return (1);
	}
	return (0);
}

/* Optional ids and counters: absent or null is 0, anything else not valid -1. */
static int64_t
wsframe_opt(const json_t *root, const char *name, int64_t min)
{
	const json_t	*v = json_object_get(root, name);
	int64_t		 n;

	if (v == NULL || json_is_null(v))
		return (0);
	return (wsframe_int(v, min, &n) ? n : -1);
}

static const char *
wsframe_str(const json_t *root, const char *name)
{
	const json_t	*v = json_object_get(root, name);

	return (json_is_string(v) ? json_string_value(v) : NULL);
}

static int
wsframe_text_valid(const char *s)
{
	size_t	n;

	if (s == NULL || !util_utf8_valid(s, strlen(s)))
		return (0);
	n = util_utf8_chars(s);
	return (n >= 1 && n <= WSFRAME_TEXT_MAX);
}

enum wsframe_result
wsframe_parse(struct wsframe *f, const void *data, size_t len)
{
	json_t		*root;
	json_error_t	 err;
	const char	*type;
	int64_t		 n;
	size_t		 i;

	memset(f, 0, sizeof(*f));
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL)
		return (WSF_BAD_JSON);
	f->root = root;
	if (!json_is_object(root) || (type = wsframe_str(root, "type")) == NULL)
		return (WSF_BAD_JSON);
	f->type_name = type;
	for (i = 0; i < WSF_NTYPES; i++)
		if (strcmp(wsframe_names[i], type) == 0)
			break;
	if (i == WSF_NTYPES)
		return (WSF_UNKNOWN_TYPE);
	f->type = (enum wsframe_type)i;

	if (wsframe_int(json_object_get(root, "conversation_id"), 1, &n))
		f->conv = n;
	f->after = wsframe_opt(root, "after_seq", 0);
	f->after_note = wsframe_opt(root, "after_note", 0);
	f->subject = wsframe_opt(root, "subject_id", 1);
	f->client_id = wsframe_str(root, "client_id");
	f->client_id_ok = f->client_id != NULL && util_token_valid(f->client_id, 64);
	f->text = wsframe_str(root, "text");
	f->text_ok = wsframe_text_valid(f->text);
	f->state = wsframe_str(root, "state");
	f->reason = wsframe_str(root, "reason");
	return (WSF_OK);
}

/* ready, not_ready or offline, with an optional reason of up to 100 characters. */
int
wsframe_state_ok(const struct wsframe *f)
{
	size_t	i;

	if (f->reason != NULL && (!util_utf8_valid(f->reason, strlen(f->reason)) ||
	    util_utf8_chars(f->reason) > WSFRAME_REASON_MAX))
		return (0);
	for (i = 0; f->state != NULL && i < sizeof(wsframe_states) / sizeof(wsframe_states[0]); i++)
		if (strcmp(wsframe_states[i], f->state) == 0)
			return (1);
	return (0);
}

void
wsframe_free(struct wsframe *f)
{
	if (f->root != NULL)
		json_decref(f->root);
	f->root = NULL;
}
