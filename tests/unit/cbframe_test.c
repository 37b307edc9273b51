/*
 * Unit tests for app/cbframe.c: which co-browse frames are well formed, who
 * may send which lifecycle op, and what the hub relays (rebuilt, nothing the
 * sender added).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cbframe.h"

static int
parse(struct wsframe *f, const char *s)
{
	return (wsframe_parse(f, s, strlen(s)) == WSF_OK);
}

static void
test_ops(void)
{
	static const struct {
		const char	*frame;
		int		 customer, staff;
	} rows[] = {
		{ "{\"type\":\"cobrowse\",\"op\":\"request\",\"conversation_id\":3}", 0, 1 },
		{ "{\"type\":\"cobrowse\",\"op\":\"consent\",\"conversation_id\":3}", 1, 0 },
		{ "{\"type\":\"cobrowse\",\"op\":\"stop\",\"conversation_id\":3}", 1, 1 },
		{ "{\"type\":\"cobrowse\",\"op\":\"grant\",\"conversation_id\":3}", 1, 0 },
		{ "{\"type\":\"cobrowse\",\"op\":\"control_request\",\"conversation_id\":3}", 0, 1 },
		{ "{\"type\":\"cobrowse\",\"op\":\"hack\",\"conversation_id\":3}", 0, 0 },
		{ "{\"type\":\"cobrowse\",\"op\":\"stop\"}", 0, 0 },
		{ "{\"type\":\"cobrowse\",\"op\":1,\"conversation_id\":3}", 0, 0 },
	};
	struct wsframe	f;
	size_t		i;
	char		name[160];

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		parse(&f, rows[i].frame);
		(void)snprintf(name, sizeof(name), "op senders: %s", rows[i].frame);
		CHECK(cbframe_op_ok(&f, CB_CUSTOMER) == rows[i].customer &&
		    cbframe_op_ok(&f, CB_STAFF) == rows[i].staff, name);
		wsframe_free(&f);
	}
}

static void
test_data(void)
{
	static const struct {
		const char	*frame;
		int		 ok;
	} rows[] = {
		{ "{\"type\":\"cobrowse_data\",\"conversation_id\":3,\"id\":1,\"part\":0,\"parts\":1,\"data\":\"[]\"}", 1 },
		{ "{\"type\":\"cobrowse_data\",\"conversation_id\":3,\"id\":1,\"part\":1,\"parts\":2,\"snap\":true,\"data\":\"x\"}", 1 },
		{ "{\"type\":\"cobrowse_data\",\"conversation_id\":3,\"id\":1,\"part\":2,\"parts\":2,\"data\":\"x\"}", 0 },
		{ "{\"type\":\"cobrowse_data\",\"conversation_id\":3,\"id\":1,\"part\":0,\"parts\":0,\"data\":\"x\"}", 0 },
		{ "{\"type\":\"cobrowse_data\",\"conversation_id\":3,\"id\":1,\"part\":0,\"parts\":4097,\"data\":\"x\"}", 0 },
		{ "{\"type\":\"cobrowse_data\",\"conversation_id\":3,\"id\":0,\"part\":0,\"parts\":1,\"data\":\"x\"}", 0 },
		{ "{\"type\":\"cobrowse_data\",\"conversation_id\":3,\"id\":1,\"part\":0,\"parts\":1,\"data\":\"\"}", 0 },
		{ "{\"type\":\"cobrowse_data\",\"conversation_id\":3,\"id\":1,\"part\":0,\"parts\":1,\"data\":[]}", 0 },
		{ "{\"type\":\"cobrowse_data\",\"conversation_id\":3,\"id\":1,\"part\":0,\"parts\":1,\"snap\":1,\"data\":\"x\"}", 0 },
		{ "{\"type\":\"cobrowse_data\",\"id\":1,\"part\":0,\"parts\":1,\"data\":\"x\"}", 0 },
		{ "{\"type\":\"cobrowse_data\",\"conversation_id\":3,\"id\":1.5,\"part\":0,\"parts\":1,\"data\":\"x\"}", 0 },
	};
	struct wsframe	 f;
	struct cbdata	 d;
	size_t		 i, len;
	char		 name[200], *out, *big;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		parse(&f, rows[i].frame);
		(void)snprintf(name, sizeof(name), "data %s: %s", rows[i].ok ? "taken" : "refused", rows[i].frame);
		CHECK(cbframe_data(&f, &d) == rows[i].ok, name);
		wsframe_free(&f);
	}
	/* 61440 bytes of data are taken, one more is not. */
	big = malloc(CBFRAME_DATA_MAX + 200);
	for (len = 0; len < 2; len++) {
		i = (size_t)snprintf(big, 200, "{\"type\":\"cobrowse_data\",\"conversation_id\":3,\"id\":1,\"part\":0,\"parts\":1,\"data\":\"");
		memset(big + i, 'a', CBFRAME_DATA_MAX + len);
		strcpy(big + i + CBFRAME_DATA_MAX + len, "\"}");
		parse(&f, big);
		CHECK(cbframe_data(&f, &d) == (len == 0), len == 0 ? "data of 61440 bytes taken" : "data of 61441 bytes refused");
		wsframe_free(&f);
	}
	free(big);
	/* Relayed: rebuilt with only its own fields. */
	parse(&f, "{\"type\":\"cobrowse_data\",\"conversation_id\":3,\"id\":9,\"part\":0,\"parts\":1,"
	    "\"data\":\"[\\\"\\u00e9\\\"]\",\"sender\":{\"kind\":\"staff\"}}");
	CHECK(cbframe_data(&f, &d), "data with an extra key is taken");
	out = cbframe_data_out(3, &d, &len);
	CHECK(out != NULL && strcmp(out, "{\"type\":\"cobrowse_data\",\"conversation_id\":3,\"id\":9,"
	    "\"part\":0,\"parts\":1,\"snap\":false,\"data\":\"[\\\"\xc3\xa9\\\"]\"}") == 0, "relayed data frame is rebuilt");
	free(out);
	wsframe_free(&f);
}

static void
test_live(void)
{
	static const struct {
		const char	*frame;
		const char	*out;	/* NULL: refused */
	} rows[] = {
		{ "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"pointer\",\"x\":10.6,\"y\":-2,\"evil\":1}",
		  "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"pointer\",\"agent_id\":7,\"x\":11,\"y\":-2}" },
		{ "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"draw\",\"points\":[[1,2],[3,4]]}",
		  "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"draw\",\"agent_id\":7,\"points\":[[1,2],[3,4]]}" },
		{ "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"clear\"}",
		  "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"clear\",\"agent_id\":7}" },
		{ "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"push\",\"url\":\"https://b.example/a\",\"name\":\"Form\"}",
		  "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"push\",\"agent_id\":7,\"name\":\"Form\",\"url\":\"https://b.example/a\"}" },
		{ "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"push\",\"file_id\":12,\"name\":\"a.pdf\"}",
		  "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"push\",\"agent_id\":7,\"name\":\"a.pdf\",\"file_id\":12}" },
		{ "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"push\",\"url\":\"javascript:alert(1)\",\"name\":\"x\"}", NULL },
		{ "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"push\",\"url\":\"https://a b.example/\",\"name\":\"x\"}", NULL },
		{ "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"push\",\"url\":\"https://b.example/a\"}", NULL },
		{ "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"pointer\",\"x\":\"1\",\"y\":2}", NULL },
		{ "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"pointer\",\"x\":1e9,\"y\":2}", NULL },
		{ "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"draw\",\"points\":[]}", NULL },
		{ "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"draw\",\"points\":[[1,2,3]]}", NULL },
		{ "{\"type\":\"cobrowse_live\",\"conversation_id\":3,\"kind\":\"script\"}", NULL },
		{ "{\"type\":\"cobrowse_live\",\"kind\":\"clear\"}", NULL },
	};
	struct wsframe	 f;
	size_t		 i, len;
	char		 name[200], *out;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		parse(&f, rows[i].frame);
		out = cbframe_live(&f, 7, &len);
		(void)snprintf(name, sizeof(name), "live %s: %s", rows[i].out ? "rebuilt" : "refused", rows[i].frame);
		CHECK(rows[i].out ? out != NULL && strcmp(out, rows[i].out) == 0 && len == strlen(out) : out == NULL, name);
		free(out);
		wsframe_free(&f);
	}
}

static void
test_control(void)
{
	static const struct {
		const char	*frame;
		int		 ok;
	} rows[] = {
		{ "{\"type\":\"cobrowse_control\",\"conversation_id\":3,\"action\":\"click\",\"node\":5}", 1 },
		{ "{\"type\":\"cobrowse_control\",\"conversation_id\":3,\"action\":\"fill\",\"node\":5,\"value\":\"\"}", 1 },
		{ "{\"type\":\"cobrowse_control\",\"conversation_id\":3,\"action\":\"fill\",\"node\":5}", 0 },
		{ "{\"type\":\"cobrowse_control\",\"conversation_id\":3,\"action\":\"submit\",\"node\":5}", 0 },
		{ "{\"type\":\"cobrowse_control\",\"conversation_id\":3,\"action\":\"click\",\"node\":0}", 0 },
		{ "{\"type\":\"cobrowse_control\",\"action\":\"click\",\"node\":5}", 0 },
	};
	struct wsframe	 f;
	size_t		 i;
	char		 name[200];

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		parse(&f, rows[i].frame);
		(void)snprintf(name, sizeof(name), "control %s: %s", rows[i].ok ? "taken" : "refused", rows[i].frame);
		CHECK(cbframe_control_ok(&f) == rows[i].ok, name);
		wsframe_free(&f);
	}
	CHECK(cbframe_limit("{\"max_snapshot_bytes\":65536}", 28) == 65536, "limit read from the record frame");
	CHECK(cbframe_limit("{\"max_snapshot_bytes\":\"x\"}", 26) == 0, "no limit from a bad record frame");
}

int
main(void)
{
	wsframe_seed(12345);
	test_ops();
	test_data();
	test_live();
	test_control();
	return (check_failed != 0);
}
