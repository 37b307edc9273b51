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
	[WSF_CALL] = "call",
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
	f->op = wsframe_str(root, "op");
	f->call = wsframe_opt(root, "call_id", 1);
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

/* Calls (issue 4) ---------------------------------------------------------- */

static const char *const wscall_ops[WSC_NOPS] = {
	[WSC_REQUEST] = "request", [WSC_ACCEPT] = "accept", [WSC_DECLINE] = "decline",
	[WSC_HANGUP] = "hangup", [WSC_HOLD] = "hold", [WSC_UNHOLD] = "unhold",
	[WSC_SCREEN] = "screen", [WSC_RECORD] = "record", [WSC_MONITOR] = "monitor",
	[WSC_OFFER] = "offer",
};

static int
wsframe_one_of(const char *s, const char *const *set, size_t n)
{
	size_t	i;

	for (i = 0; s != NULL && i < n; i++)
		if (strcmp(set[i], s) == 0)
			return (1);
	return (0);
}

/*
 * A "call" frame's fields for its op: NULL when well-formed (c filled in),
 * else what is wrong, for the error frame. Who may do it is the database's
 * decision (vb_call_op, vb_call_offer).
 */
const char *
wsframe_call(const struct wsframe *f, struct wscall *c)
{
	static const char *const kinds[] = { "audio", "video" };
	static const char *const states[] = { "start", "stop" };
	static const char *const modes[] = { "monitor", "whisper", "barge", "leave" };
	const json_t	*v;
	size_t		 i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < WSC_NOPS; i++)
		if (f->op != NULL && strcmp(wscall_ops[i], f->op) == 0)
			break;
	if (i == WSC_NOPS)
		return ("op must be request, accept, decline, hangup, hold, unhold, screen, "
		    "record, monitor or offer");
	c->op = (enum wscall_op)i;
	if (c->op == WSC_REQUEST) {
		if (f->conv <= 0)
			return ("request needs conversation_id");
		if (!wsframe_one_of(wsframe_str(f->root, "kind"), kinds, 2))
			return ("kind must be audio or video");
		v = json_object_get(f->root, "one_way");
		if (v != NULL && !json_is_null(v) && !json_is_boolean(v))
			return ("one_way must be true or false");
		return (NULL);
	}
	if (f->call <= 0)
		return ("call_id must be the id of a call");
	switch (c->op) {
	case WSC_SCREEN:
	case WSC_RECORD:
		if (!wsframe_one_of(f->state, states, 2))
			return ("state must be start or stop");
		break;
	case WSC_MONITOR:
		if (!wsframe_one_of(wsframe_str(f->root, "mode"), modes, 4))
			return ("mode must be monitor, whisper, barge or leave");
		break;
	case WSC_OFFER:
		v = json_object_get(f->root, "sdp");
		if (!json_is_string(v))
			return ("offer needs sdp");
		c->sdp = json_string_value(v);
		c->sdp_len = json_string_length(v);
		if (c->sdp_len > WSCALL_SDP_MAX)
			return ("sdp is longer than 65536 bytes");
		if (c->sdp_len < 4 || memcmp(c->sdp, "v=0", 3) != 0)
			return ("sdp must be an SDP offer");
		break;
	default:
		break;
	}
	return (NULL);
}

/* A mid the relay takes and JSON carries as is: 1-64 of [A-Za-z0-9_.-]. */
static int
wsframe_mid_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > 64)
		return (0);
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return (0);
	return (1);
}

/*
 * The roles of an offer's m-lines, as the relay's rules need them: the
 * first audio m-line is the participant's voice ("audio"), a second one
 * receives an extra voice ("voice": a supervisor), the first video m-line is
 * the camera ("video"), a second one the screen ("screen"). Pages add their
 * transceivers in that order (docs/websocket.md, "Calls"). Writes
 * {"audio":"0",...} to out; 0 when the SDP has no usable m-line, more than
 * WSCALL_MLINES_MAX, an m-line without a valid mid, or does not fit.
 */
int
wsframe_sdp_mids(const char *sdp, size_t len, char *out, size_t outlen)
{
	const char	*p = sdp, *end = sdp + len, *nl, *mid = NULL;
	const char	*names[2][2] = { { "audio", "voice" }, { "video", "screen" } };
	size_t		 l, o, nlen, midlen = 0;
	int		 sect = -1, port0 = 0, n = 0, seen[2] = { 0, 0 }, k, first = 1;

	if (outlen < 3)
		return (0);
	o = 0;
	out[o++] = '{';
	for (;;) {
		nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		l = p < end ? (size_t)((nl != NULL ? nl : end) - p) : 0;
		if (l > 0 && p[l - 1] == '\r')
			l--;
		/* The end of an m-section: a new m= line or the end of the SDP. */
		if (p >= end || (l >= 2 && memcmp(p, "m=", 2) == 0)) {
			if (n > 0 && (sect == 0 || sect == 1) && !port0) {
				if (mid == NULL || (k = seen[sect]++) > 1)
					return (0);
				nlen = strlen(names[sect][k]);
				if (o + nlen + midlen + 8 >= outlen)
					return (0);
				if (!first)
					out[o++] = ',';
				first = 0;
				out[o++] = '"';
				memcpy(out + o, names[sect][k], nlen);
				o += nlen;
				memcpy(out + o, "\":\"", 3);
				o += 3;
				memcpy(out + o, mid, midlen);
				o += midlen;
				out[o++] = '"';
			}
			if (p >= end)
				break;
			if (++n > WSCALL_MLINES_MAX)
				return (0);
			mid = NULL;
			port0 = 0;
			if (l >= 8 && memcmp(p, "m=audio ", 8) == 0)
				sect = 0;
			else if (l >= 8 && memcmp(p, "m=video ", 8) == 0)
				sect = 1;
			else
				sect = 2;
			if (sect < 2 && l >= 10 && p[8] == '0' && p[9] == ' ')
				port0 = 1;
		} else if (n > 0 && l > 6 && memcmp(p, "a=mid:", 6) == 0) {
			if (mid != NULL || !wsframe_mid_ok(p + 6, l - 6))
				return (0);
			mid = p + 6;
			midlen = l - 6;
		}
		if (nl == NULL)
			p = end;
		else
			p = nl + 1;
	}
	if (first)
		return (0);
	out[o++] = '}';
	out[o] = '\0';
	return (1);
}
