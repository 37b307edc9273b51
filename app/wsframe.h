/*
 * WebSocket frames from clients, checked without Kore (so that libFuzzer and
 * the unit tests can run the very code the hub runs). The JSON is parsed by
 * Jansson: strict RFC 8259, valid UTF-8 only, no NUL in strings, no duplicate
 * keys, nothing after the value.
 */
#ifndef WSFRAME_H
#define WSFRAME_H

#include <stddef.h>
#include <stdint.h>

#define WSFRAME_TEXT_MAX	4000
#define WSFRAME_ID_MAX		9007199254740992LL	/* 2^53: exact in JavaScript */

enum wsframe_type {
	WSF_NOTE, WSF_WHISPER, WSF_BARGE, WSF_LEAVE, WSF_TRANSFER, WSF_INVITE,
	WSF_JOIN, WSF_TAKE, WSF_WRAPUP, WSF_DM, WSF_WATCH, WSF_UNSUBSCRIBE,
	WSF_STATE, WSF_ACCEPT, WSF_DECLINE, WSF_FINISH, WSF_SEND, WSF_SUBSCRIBE,
	WSF_TYPING, WSF_PING, WSF_READ, WSF_LEAVE_QUEUE,
	/* Co-browsing (issue 5; app/cbframe.c checks their fields) */
	WSF_COBROWSE, WSF_COBROWSE_DATA, WSF_COBROWSE_LIVE, WSF_COBROWSE_CONTROL,
	/* Calls (issue 4; wsframe_call checks their fields) */
	WSF_CALL,
	WSF_NTYPES
};

enum wsframe_result {
	WSF_OK,			/* a JSON object with a known type */
	WSF_BAD_JSON,		/* not JSON, not an object, or no string "type" */
	WSF_UNKNOWN_TYPE	/* an object whose type we do not know */
};

struct wsframe {
	void			*root;		/* json_t *, owned */
	enum wsframe_type	 type;
	const char		*type_name;
	int64_t			 conv;		/* 0: absent or not an id in 1..2^53 */
	int64_t			 after;		/* after_seq: 0 absent, -1 invalid */
	int64_t			 after_note;	/* after_note: 0 absent, -1 invalid */
	int64_t			 subject;	/* subject_id: 0 none, -1 invalid */
	const char		*client_id;	/* any string, as sent (NULL: none) */
	int			 client_id_ok;	/* 1-64 URL-safe characters */
	const char		*text;		/* any string, as sent (NULL: none) */
	int			 text_ok;	/* 1 to 4000 characters */
	const char		*state;		/* strings for the "state" frame */
	const char		*reason;
	/* "call" frames */
	const char		*op;
	int64_t			 call;		/* call_id: 0 absent, -1 invalid */
};

/* Calls (issue 4): the operations of a "call" frame. */
enum wscall_op {
	WSC_REQUEST, WSC_ACCEPT, WSC_DECLINE, WSC_HANGUP, WSC_HOLD, WSC_UNHOLD,
	WSC_SCREEN, WSC_RECORD, WSC_MONITOR, WSC_OFFER, WSC_NOPS
};

#define WSCALL_SDP_MAX		65536	/* bytes of an SDP offer */
#define WSCALL_MLINES_MAX	8	/* m-lines of an offer (the relay's limit) */
#define WSCALL_MIDS_MAX		160	/* the mids JSON of wsframe_sdp_mids */

struct wscall {
	enum wscall_op		 op;
	const char		*sdp;		/* offer: the SDP, as sent */
	size_t			 sdp_len;
};

enum wsframe_result	 wsframe_parse(struct wsframe *, const void *, size_t);
void			 wsframe_free(struct wsframe *);
int			 wsframe_state_ok(const struct wsframe *);
void			 wsframe_seed(uint32_t);
const char		*wsframe_call(const struct wsframe *, struct wscall *);
int			 wsframe_sdp_mids(const char *, size_t, char *, size_t);

#endif
