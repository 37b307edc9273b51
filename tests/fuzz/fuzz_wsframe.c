/*
 * libFuzzer harness for the hub's client frames (app/wsframe.c): any bytes a
 * WebSocket client can send. Besides memory errors it checks what the hub
 * relies on: ids in 1..2^53, counters >= 0 or refused, a client_id and a
 * text only ever marked valid when they are, and that a frame taken once is
 * taken again, with the same fields, after Jansson writes it back out.
 * Calls (issue 4): a "call" frame's check agrees with its fields (an offer's
 * SDP within 64 KiB), and the SDP m-line roles, from the frame's sdp or the
 * raw bytes, are always a JSON object of strings that fits its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util.h"
#include "wsframe.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_fields(const struct wsframe *f)
{
	size_t	n;

	if (f->type >= WSF_NTYPES || f->type_name == NULL)
		abort();
	if (f->conv < 0 || f->conv > WSFRAME_ID_MAX)
		abort();
	if (f->after < -1 || f->after_note < -1 || f->subject < -1)
		abort();
	if (f->subject > WSFRAME_ID_MAX || f->after > WSFRAME_ID_MAX)
		abort();
	if (f->client_id_ok && (f->client_id == NULL || !util_token_valid(f->client_id, 64)))
		abort();
	if (f->text_ok) {
		if (f->text == NULL || !util_utf8_valid(f->text, strlen(f->text)))
			abort();
		n = util_utf8_chars(f->text);
		if (n < 1 || n > WSFRAME_TEXT_MAX)
			abort();
	}
	(void)wsframe_state_ok(f);
	if (f->call < -1 || f->call > WSFRAME_ID_MAX)
		abort();
}

static void
check_mids(const char *sdp, size_t len)
{
	char		 out[WSCALL_MIDS_MAX + 8];
	json_t		*o, *v;
	json_error_t	 err;
	const char	*k;

	memset(out, 0x55, sizeof(out));
	if (!wsframe_sdp_mids(sdp, len, out, WSCALL_MIDS_MAX)) {
		if (out[WSCALL_MIDS_MAX] != 0x55)
			abort();
		return;
	}
	if (strlen(out) >= WSCALL_MIDS_MAX || out[WSCALL_MIDS_MAX] != 0x55)
		abort();
	if ((o = json_loads(out, 0, &err)) == NULL || !json_is_object(o) || json_object_size(o) == 0 ||
	    json_object_size(o) > 4)
		abort();
	json_object_foreach(o, k, v)
		if (!json_is_string(v) || json_string_length(v) < 1 || json_string_length(v) > 64)
			abort();
	json_decref(o);
}

static void
check_call(const struct wsframe *f)
{
	struct wscall	c;

	if (f->type != WSF_CALL || wsframe_call(f, &c) != NULL)
		return;
	if (c.op >= WSC_NOPS)
		abort();
	if (c.op == WSC_REQUEST && f->conv <= 0)
		abort();
	if (c.op != WSC_REQUEST && f->call <= 0)
		abort();
	if (c.op == WSC_OFFER) {
		if (c.sdp == NULL || c.sdp_len > WSCALL_SDP_MAX || c.sdp_len < 4)
			abort();
		check_mids(c.sdp, c.sdp_len);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 seeded;
	struct wsframe	 f, g;
	enum wsframe_result r;
	char		*out;

	if (!seeded) {
		wsframe_seed(0x5eed);
		seeded = 1;
	}
	r = wsframe_parse(&f, data, size);
	if (r == WSF_OK) {
		check_fields(&f);
		check_call(&f);
	}
	check_mids((const char *)data, size);
	if (r != WSF_BAD_JSON) {
		/* Written back out by Jansson, it must read the same. */
		if ((out = json_dumps(f.root, JSON_COMPACT)) == NULL)
			abort();
		if (wsframe_parse(&g, out, strlen(out)) != r)
			abort();
		if (r == WSF_OK && (g.type != f.type || g.conv != f.conv || g.after != f.after ||
		    g.after_note != f.after_note || g.subject != f.subject ||
		    g.client_id_ok != f.client_id_ok || g.text_ok != f.text_ok ||
		    wsframe_state_ok(&g) != wsframe_state_ok(&f)))
			abort();
		wsframe_free(&g);
		free(out);
	}
	wsframe_free(&f);
	return (0);
}
