/*
 * Unit tests for app/wsframe.c: which client frames the hub takes, and what
 * it reads from them. One row per frame, checked against the expected result.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "wsframe.h"

#define S(lit)	(lit), (sizeof(lit) - 1)

static const struct {
	const char		*name;
	const char		*frame;
	size_t			 len;		/* 0: strlen(frame) */
	enum wsframe_result	 result;
} parse_rows[] = {
	{ "not JSON", "not json", 0, WSF_BAD_JSON },
	{ "empty frame", "", 0, WSF_BAD_JSON },
	{ "array", "[1,2]", 0, WSF_BAD_JSON },
	{ "bare string", "\"ping\"", 0, WSF_BAD_JSON },
	{ "object without type", "{\"conversation_id\":1}", 0, WSF_BAD_JSON },
	{ "type is a number", "{\"type\":1}", 0, WSF_BAD_JSON },
	{ "type is null", "{\"type\":null}", 0, WSF_BAD_JSON },
	{ "trailing garbage", "{\"type\":\"ping\"}x", 0, WSF_BAD_JSON },
	{ "two objects", "{\"type\":\"ping\"}{\"type\":\"ping\"}", 0, WSF_BAD_JSON },
	{ "trailing comma", "{\"type\":\"ping\",}", 0, WSF_BAD_JSON },
	{ "single quotes", "{'type':'ping'}", 0, WSF_BAD_JSON },
	{ "duplicate key", "{\"type\":\"ping\",\"type\":\"send\"}", 0, WSF_BAD_JSON },
	{ "invalid UTF-8 in a string", "{\"type\":\"send\",\"text\":\"\xc3\x28\"}", 0, WSF_BAD_JSON },
	{ "overlong UTF-8", "{\"type\":\"send\",\"text\":\"\xc0\xaf\"}", 0, WSF_BAD_JSON },
	{ "UTF-16 surrogate in UTF-8", "{\"type\":\"send\",\"text\":\"\xed\xa0\x80\"}", 0, WSF_BAD_JSON },
	{ "escaped NUL", "{\"type\":\"send\",\"text\":\"a\\u0000b\"}", 0, WSF_BAD_JSON },
	{ "raw NUL inside the frame", "{\"type\":\"ping\"}\0", 16, WSF_BAD_JSON },
	{ "lone surrogate escape", "{\"type\":\"send\",\"text\":\"\\ud800\"}", 0, WSF_BAD_JSON },
	{ "unescaped control character", "{\"type\":\"send\",\"text\":\"a\nb\"}", 0, WSF_BAD_JSON },
	{ "integer too big for 64 bits", "{\"type\":\"ping\",\"n\":99999999999999999999}", 0, WSF_BAD_JSON },
	{ "NaN", "{\"type\":\"ping\",\"n\":NaN}", 0, WSF_BAD_JSON },
	{ "unclosed", "{\"type\":\"ping\"", 0, WSF_BAD_JSON },
	{ "deep nesting", "{\"type\":\"ping\",\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", 0, WSF_OK },
	{ "unknown type", "{\"type\":\"launch_missiles\"}", 0, WSF_UNKNOWN_TYPE },
	{ "type differs in case", "{\"type\":\"PING\"}", 0, WSF_UNKNOWN_TYPE },
	{ "type with a NUL after a known name", "{\"type\":\"ping\\u0000x\"}", 0, WSF_BAD_JSON },
	{ "ping", "{\"type\":\"ping\"}", 0, WSF_OK },
	{ "ping with whitespace around", " \t{ \"type\" : \"ping\" }\r\n", 0, WSF_OK },
	{ "ping, length excludes the rest", "{\"type\":\"ping\"}garbage", 15, WSF_OK },
	{ "a staff op with extra fields", "{\"type\":\"note\",\"conversation_id\":3,\"text\":\"x\",\"x\":{}}", 0, WSF_OK },
};

static void
test_parse(void)
{
	struct wsframe	f;
	char		name[160];
	size_t		i, len;

	for (i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++) {
		len = parse_rows[i].len ? parse_rows[i].len : strlen(parse_rows[i].frame);
		(void)snprintf(name, sizeof(name), "parse: %s", parse_rows[i].name);
		CHECK(wsframe_parse(&f, parse_rows[i].frame, len) == parse_rows[i].result, name);
		wsframe_free(&f);
	}
}

/* Fields read from a "send" or "subscribe" frame. */
static const struct {
	const char	*name;
	const char	*frame;
	int64_t		 conv, after, after_note, subject;
	int		 client_id_ok, text_ok;
} field_rows[] = {
	{ "a plain send", "{\"type\":\"send\",\"conversation_id\":42,\"client_id\":\"c-1_A\",\"text\":\"hi\"}",
	    42, 0, 0, 0, 1, 1 },
	{ "conversation_id 2^53 is taken", "{\"type\":\"send\",\"conversation_id\":9007199254740992}",
	    9007199254740992LL, 0, 0, 0, 0, 0 },
	{ "conversation_id 2^53+1 is not", "{\"type\":\"send\",\"conversation_id\":9007199254740993}",
	    0, 0, 0, 0, 0, 0 },
	{ "conversation_id 0 is not", "{\"type\":\"send\",\"conversation_id\":0}", 0, 0, 0, 0, 0, 0 },
	{ "conversation_id -5 is not", "{\"type\":\"send\",\"conversation_id\":-5}", 0, 0, 0, 0, 0, 0 },
	{ "conversation_id as a string is not", "{\"type\":\"send\",\"conversation_id\":\"42\"}", 0, 0, 0, 0, 0, 0 },
	{ "conversation_id 42.0 is 42", "{\"type\":\"send\",\"conversation_id\":42.0}", 42, 0, 0, 0, 0, 0 },
	{ "conversation_id 4.2e1 is 42", "{\"type\":\"send\",\"conversation_id\":4.2e1}", 42, 0, 0, 0, 0, 0 },
	{ "conversation_id 42.5 is not", "{\"type\":\"send\",\"conversation_id\":42.5}", 0, 0, 0, 0, 0, 0 },
	{ "conversation_id 1e300 is not", "{\"type\":\"send\",\"conversation_id\":1e300}", 0, 0, 0, 0, 0, 0 },
	{ "conversation_id true is not", "{\"type\":\"send\",\"conversation_id\":true}", 0, 0, 0, 0, 0, 0 },
	{ "after_seq and after_note", "{\"type\":\"subscribe\",\"conversation_id\":1,\"after_seq\":7,\"after_note\":0}",
	    1, 7, 0, 0, 0, 0 },
	{ "after_seq null is 0", "{\"type\":\"subscribe\",\"conversation_id\":1,\"after_seq\":null}", 1, 0, 0, 0, 0, 0 },
	{ "after_seq -1 is refused", "{\"type\":\"subscribe\",\"conversation_id\":1,\"after_seq\":-1}", 1, -1, 0, 0, 0, 0 },
	{ "after_seq as a string is refused", "{\"type\":\"subscribe\",\"conversation_id\":1,\"after_seq\":\"7\"}",
	    1, -1, 0, 0, 0, 0 },
	{ "after_note 1.5 is refused", "{\"type\":\"subscribe\",\"conversation_id\":1,\"after_note\":1.5}",
	    1, 0, -1, 0, 0, 0 },
	{ "subject_id", "{\"type\":\"send\",\"subject_id\":3}", 0, 0, 0, 3, 0, 0 },
	{ "subject_id null is none", "{\"type\":\"send\",\"subject_id\":null}", 0, 0, 0, 0, 0, 0 },
	{ "subject_id 0 is refused", "{\"type\":\"send\",\"subject_id\":0}", 0, 0, 0, -1, 0, 0 },
	{ "subject_id as a string is refused", "{\"type\":\"send\",\"subject_id\":\"3\"}", 0, 0, 0, -1, 0, 0 },
	{ "client_id of 64 characters", "{\"type\":\"send\",\"client_id\":"
	    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", 0, 0, 0, 0, 1, 0 },
	{ "client_id of 65 characters", "{\"type\":\"send\",\"client_id\":"
	    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", 0, 0, 0, 0, 0, 0 },
	{ "client_id empty", "{\"type\":\"send\",\"client_id\":\"\"}", 0, 0, 0, 0, 0, 0 },
	{ "client_id with a space", "{\"type\":\"send\",\"client_id\":\"bad id!\"}", 0, 0, 0, 0, 0, 0 },
	{ "client_id with a slash", "{\"type\":\"send\",\"client_id\":\"a/b\"}", 0, 0, 0, 0, 0, 0 },
	{ "client_id as a number", "{\"type\":\"send\",\"client_id\":5}", 0, 0, 0, 0, 0, 0 },
	{ "text empty", "{\"type\":\"send\",\"text\":\"\"}", 0, 0, 0, 0, 0, 0 },
	{ "text of escapes", "{\"type\":\"send\",\"text\":\"\\u00e9\\ud83d\\ude00\\n\"}", 0, 0, 0, 0, 0, 1 },
	{ "text as a number", "{\"type\":\"send\",\"text\":5}", 0, 0, 0, 0, 0, 0 },
};

static void
test_fields(void)
{
	struct wsframe	f;
	char		name[160];
	size_t		i;
	int		ok;

	for (i = 0; i < sizeof(field_rows) / sizeof(field_rows[0]); i++) {
		ok = wsframe_parse(&f, field_rows[i].frame, strlen(field_rows[i].frame)) == WSF_OK &&
		    f.conv == field_rows[i].conv && f.after == field_rows[i].after &&
		    f.after_note == field_rows[i].after_note && f.subject == field_rows[i].subject &&
		    f.client_id_ok == field_rows[i].client_id_ok && f.text_ok == field_rows[i].text_ok;
		(void)snprintf(name, sizeof(name), "fields: %s", field_rows[i].name);
		CHECK(ok, name);
		wsframe_free(&f);
	}
}

/* Text is counted in characters, not bytes: 4000 of them, whatever their size. */
static void
test_text_length(void)
{
	struct wsframe	f;
	char		buf[4 * 4001 + 64];
	size_t		n, i;

	for (n = 4000; n <= 4001; n++) {
		i = (size_t)snprintf(buf, sizeof(buf), "{\"type\":\"send\",\"text\":\"");
		memset(buf + i, 'x', n);
		i += n;
		memcpy(buf + i, "\"}", 2);
		CHECK(wsframe_parse(&f, buf, i + 2) == WSF_OK && f.text_ok == (n == 4000),
		    n == 4000 ? "text: 4000 ASCII characters taken" : "text: 4001 ASCII characters refused");
		wsframe_free(&f);
	}
	for (n = 4000; n <= 4001; n++) {
		i = (size_t)snprintf(buf, sizeof(buf), "{\"type\":\"send\",\"text\":\"");
		for (size_t k = 0; k < n; k++, i += 4)
			memcpy(buf + i, "\xf0\x9f\x98\x80", 4);
		memcpy(buf + i, "\"}", 2);
		CHECK(wsframe_parse(&f, buf, i + 2) == WSF_OK && f.text_ok == (n == 4000),
		    n == 4000 ? "text: 4000 four-byte characters taken" : "text: 4001 four-byte characters refused");
		wsframe_free(&f);
	}
}

static void
test_types_and_state(void)
{
	struct wsframe	f;

	CHECK(wsframe_parse(&f, "{\"type\":\"send\"}", 15) == WSF_OK && f.type == WSF_SEND &&
	    strcmp(f.type_name, "send") == 0, "type: send");
	wsframe_free(&f);
	CHECK(wsframe_parse(&f, "{\"type\":\"wrapup\"}", 17) == WSF_OK && f.type == WSF_WRAPUP,
	    "type: wrapup");
	wsframe_free(&f);
	CHECK(wsframe_parse(&f, S("{\"type\":\"state\",\"state\":\"not_ready\",\"reason\":\"lunch\"}")) == WSF_OK &&
	    wsframe_state_ok(&f) && strcmp(f.reason, "lunch") == 0, "state: not_ready with a reason");
	wsframe_free(&f);
	CHECK(wsframe_parse(&f, "{\"type\":\"state\",\"state\":\"asleep\"}", 33) == WSF_OK &&
	    !wsframe_state_ok(&f), "state: unknown state refused");
	wsframe_free(&f);
	CHECK(wsframe_parse(&f, "{\"type\":\"state\"}", 16) == WSF_OK && !wsframe_state_ok(&f),
	    "state: missing state refused");
	wsframe_free(&f);
	CHECK(wsframe_parse(&f, S("{\"type\":\"state\",\"state\":\"offline\",\"reason\":"
	    "\"12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901\"}")) == WSF_OK && !wsframe_state_ok(&f), "state: reason of 101 characters refused");
	wsframe_free(&f);
	memset(&f, 0, sizeof(f));
	wsframe_free(&f);
	wsframe_free(&f);
	CHECK(1, "free: twice and on an empty frame is harmless");
}

/* Calls (issue 4): which "call" frames are well-formed, and their SDP. */
static const struct {
	const char	*name;
	const char	*frame;
	int		 ok;
	enum wscall_op	 op;
} call_rows[] = {
	{ "call: no op", "{\"type\":\"call\",\"call_id\":1}", 0, 0 },
	{ "call: unknown op", "{\"type\":\"call\",\"op\":\"launch\",\"call_id\":1}", 0, 0 },
	{ "call: op not a string", "{\"type\":\"call\",\"op\":1,\"call_id\":1}", 0, 0 },
	{ "call: request", "{\"type\":\"call\",\"op\":\"request\",\"conversation_id\":3,\"kind\":\"video\"}", 1, WSC_REQUEST },
	{ "call: request one-way", "{\"type\":\"call\",\"op\":\"request\",\"conversation_id\":3,\"kind\":\"video\",\"one_way\":true}", 1, WSC_REQUEST },
	{ "call: request one_way null", "{\"type\":\"call\",\"op\":\"request\",\"conversation_id\":3,\"kind\":\"audio\",\"one_way\":null}", 1, WSC_REQUEST },
	{ "call: request one_way a string", "{\"type\":\"call\",\"op\":\"request\",\"conversation_id\":3,\"kind\":\"video\",\"one_way\":\"yes\"}", 0, 0 },
	{ "call: request without conversation", "{\"type\":\"call\",\"op\":\"request\",\"kind\":\"video\"}", 0, 0 },
	{ "call: request, unknown kind", "{\"type\":\"call\",\"op\":\"request\",\"conversation_id\":3,\"kind\":\"fax\"}", 0, 0 },
	{ "call: request, kind missing", "{\"type\":\"call\",\"op\":\"request\",\"conversation_id\":3}", 0, 0 },
	{ "call: accept", "{\"type\":\"call\",\"op\":\"accept\",\"call_id\":9}", 1, WSC_ACCEPT },
	{ "call: accept, call_id 0", "{\"type\":\"call\",\"op\":\"accept\",\"call_id\":0}", 0, 0 },
	{ "call: accept, call_id a string", "{\"type\":\"call\",\"op\":\"accept\",\"call_id\":\"9\"}", 0, 0 },
	{ "call: accept, call_id over 2^53", "{\"type\":\"call\",\"op\":\"accept\",\"call_id\":9007199254740993}", 0, 0 },
	{ "call: hangup", "{\"type\":\"call\",\"op\":\"hangup\",\"call_id\":9}", 1, WSC_HANGUP },
	{ "call: hold", "{\"type\":\"call\",\"op\":\"hold\",\"call_id\":9}", 1, WSC_HOLD },
	{ "call: unhold", "{\"type\":\"call\",\"op\":\"unhold\",\"call_id\":9}", 1, WSC_UNHOLD },
	{ "call: screen start", "{\"type\":\"call\",\"op\":\"screen\",\"call_id\":9,\"state\":\"start\"}", 1, WSC_SCREEN },
	{ "call: screen, bad state", "{\"type\":\"call\",\"op\":\"screen\",\"call_id\":9,\"state\":\"on\"}", 0, 0 },
	{ "call: record stop", "{\"type\":\"call\",\"op\":\"record\",\"call_id\":9,\"state\":\"stop\"}", 1, WSC_RECORD },
	{ "call: record, no state", "{\"type\":\"call\",\"op\":\"record\",\"call_id\":9}", 0, 0 },
	{ "call: monitor whisper", "{\"type\":\"call\",\"op\":\"monitor\",\"call_id\":9,\"mode\":\"whisper\"}", 1, WSC_MONITOR },
	{ "call: monitor, bad mode", "{\"type\":\"call\",\"op\":\"monitor\",\"call_id\":9,\"mode\":\"spy\"}", 0, 0 },
	{ "call: offer", "{\"type\":\"call\",\"op\":\"offer\",\"call_id\":9,\"sdp\":\"v=0\\r\\n\"}", 1, WSC_OFFER },
	{ "call: offer without sdp", "{\"type\":\"call\",\"op\":\"offer\",\"call_id\":9}", 0, 0 },
	{ "call: offer, sdp a number", "{\"type\":\"call\",\"op\":\"offer\",\"call_id\":9,\"sdp\":5}", 0, 0 },
	{ "call: offer, not SDP", "{\"type\":\"call\",\"op\":\"offer\",\"call_id\":9,\"sdp\":\"hello\"}", 0, 0 },
};

static void
test_call(void)
{
	struct wsframe	 f;
	struct wscall	 c;
	static const char pre[] = "{\"type\":\"call\",\"op\":\"offer\",\"call_id\":1,\"sdp\":\"v=0";
	char		*big, name[128];
	size_t		 i, n, pl;
	int		 ok;

	for (i = 0; i < sizeof(call_rows) / sizeof(call_rows[0]); i++) {
		ok = wsframe_parse(&f, call_rows[i].frame, strlen(call_rows[i].frame)) == WSF_OK &&
		    f.type == WSF_CALL;
		ok = ok && (wsframe_call(&f, &c) == NULL) == call_rows[i].ok &&
		    (!call_rows[i].ok || c.op == call_rows[i].op);
		CHECK(ok, call_rows[i].name);
		wsframe_free(&f);
	}
	/* The SDP limit: 65536 bytes taken, one more refused. */
	for (n = 65536; n <= 65537; n++) {
		big = malloc(n + 64);
		pl = strlen(pre);
		memcpy(big, pre, pl);
		memset(big + pl, 'x', n - 3);
		memcpy(big + pl + n - 3, "\"}", 3);
		ok = wsframe_parse(&f, big, strlen(big)) == WSF_OK;
		ok = ok && (wsframe_call(&f, &c) == NULL) == (n == 65536) && (n != 65536 || c.sdp_len == n);
		(void)snprintf(name, sizeof(name), "call: an SDP of %zu bytes is %s", n,
		    n == 65536 ? "taken" : "refused");
		CHECK(ok, name);
		wsframe_free(&f);
		free(big);
	}
}

static const struct {
	const char	*name;
	const char	*sdp;
	const char	*mids;		/* NULL: refused */
} mids_rows[] = {
	{ "mids: audio and video", "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n",
	    "{\"audio\":\"0\",\"video\":\"1\"}" },
	{ "mids: LF only, no final newline", "v=0\nm=audio 9 X 111\na=mid:a\nm=video 9 X 96\na=mid:v",
	    "{\"audio\":\"a\",\"video\":\"v\"}" },
	{ "mids: screen and an extra voice", "v=0\r\nm=audio 9 X 1\r\na=mid:0\r\nm=video 9 X 1\r\na=mid:1\r\n"
	    "m=video 9 X 1\r\na=mid:2\r\nm=audio 9 X 1\r\na=mid:3\r\n",
	    "{\"audio\":\"0\",\"video\":\"1\",\"screen\":\"2\",\"voice\":\"3\"}" },
	{ "mids: a data channel is skipped", "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:d\r\n"
	    "m=audio 9 X 1\r\na=mid:0\r\n", "{\"audio\":\"0\"}" },
	{ "mids: a stopped m-line (port 0) is skipped", "v=0\r\nm=audio 9 X 1\r\na=mid:0\r\nm=video 0 X 1\r\na=mid:1\r\n",
	    "{\"audio\":\"0\"}" },
	{ "mids: no m-line", "v=0\r\ns=-\r\n", NULL },
	{ "mids: an m-line without a mid", "v=0\r\nm=audio 9 X 1\r\nm=video 9 X 1\r\na=mid:1\r\n", NULL },
	{ "mids: two mids in one m-line", "v=0\r\nm=audio 9 X 1\r\na=mid:0\r\na=mid:1\r\n", NULL },
	{ "mids: a mid with a quote", "v=0\r\nm=audio 9 X 1\r\na=mid:\"0\r\n", NULL },
	{ "mids: a mid with a backslash", "v=0\r\nm=audio 9 X 1\r\na=mid:0\\\r\n", NULL },
	{ "mids: an empty mid", "v=0\r\nm=audio 9 X 1\r\na=mid:\r\n", NULL },
	{ "mids: three audio m-lines", "v=0\r\nm=audio 9 X 1\r\na=mid:0\r\nm=audio 9 X 1\r\na=mid:1\r\nm=audio 9 X 1\r\na=mid:2\r\n", NULL },
	{ "mids: nine m-lines", "v=0\r\nm=application 9 X\r\nm=application 9 X\r\nm=application 9 X\r\nm=application 9 X\r\n"
	    "m=application 9 X\r\nm=application 9 X\r\nm=application 9 X\r\nm=application 9 X\r\nm=audio 9 X 1\r\na=mid:0\r\n", NULL },
};

static void
test_mids(void)
{
	char	out[WSCALL_MIDS_MAX], mid[80], sdp[256];
	size_t	i;
	int	r;

	for (i = 0; i < sizeof(mids_rows) / sizeof(mids_rows[0]); i++) {
		r = wsframe_sdp_mids(mids_rows[i].sdp, strlen(mids_rows[i].sdp), out, sizeof(out));
		CHECK(mids_rows[i].mids == NULL ? r == 0 :
		    r == 1 && strcmp(out, mids_rows[i].mids) == 0, mids_rows[i].name);
	}
	/* A 64-character mid fits; 65 does not; the output never overflows. */
	memset(mid, 'm', 65);
	mid[64] = '\0';
	(void)snprintf(sdp, sizeof(sdp), "v=0\r\nm=audio 9 X 1\r\na=mid:%s\r\n", mid);
	CHECK(wsframe_sdp_mids(sdp, strlen(sdp), out, sizeof(out)) == 1, "mids: 64 characters");
	mid[64] = 'm';
	mid[65] = '\0';
	(void)snprintf(sdp, sizeof(sdp), "v=0\r\nm=audio 9 X 1\r\na=mid:%s\r\n", mid);
	CHECK(wsframe_sdp_mids(sdp, strlen(sdp), out, sizeof(out)) == 0, "mids: 65 characters refused");
	(void)snprintf(sdp, sizeof(sdp), "v=0\r\nm=audio 9 X 1\r\na=mid:0\r\n");
	CHECK(wsframe_sdp_mids(sdp, strlen(sdp), out, 8) == 0, "mids: too small an output is refused");
}

int
main(void)
{
	wsframe_seed(12345);
	test_parse();
	test_fields();
	test_text_length();
	test_types_and_state();
	test_call();
	test_mids();
	return (check_failed != 0);
}
