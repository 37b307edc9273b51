/*
 * libFuzzer harness for the co-browse frames (app/cbframe.c): any bytes a
 * WebSocket client can send, as the hub takes them (wsframe_parse, then the
 * co-browse checks). Besides memory errors it checks what the hub relies on:
 * page data only marked valid within its limits, and every frame cbframe.c
 * builds to relay is a JSON object Jansson reads back, of the right type,
 * for the same conversation, carrying no key the sender added.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util.h"
#include "wsframe.h"
#include "cbframe.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const live_keys[] = {
	"type", "conversation_id", "kind", "agent_id", "x", "y", "points", "name", "url", "file_id",
};

static void
check_out(char *out, size_t len, const char *type, int64_t conv, int live)
{
	json_t		*o;
	const char	*k;
	json_t		*v;
	size_t		 i;

	if (out == NULL)
		return;
	if (strlen(out) != len || (o = json_loadb(out, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		abort();
	if (!json_is_object(o) || strcmp(json_string_value(json_object_get(o, "type")), type) != 0 ||
	    json_integer_value(json_object_get(o, "conversation_id")) != conv)
		abort();
	if (live) {
		json_object_foreach(o, k, v) {
			for (i = 0; i < sizeof(live_keys) / sizeof(live_keys[0]); i++)
				if (strcmp(live_keys[i], k) == 0)
					break;
			if (i == sizeof(live_keys) / sizeof(live_keys[0]))
				abort();
		}
		if (json_object_get(o, "url") != NULL &&
		    strncmp(json_string_value(json_object_get(o, "url")), "http", 4) != 0)
			abort();
	}
	json_decref(o);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 seeded;
	struct wsframe	 f;
	struct cbdata	 d;
	char		*out;
	size_t		 len;

	if (!seeded) {
		wsframe_seed(0x5eed);
		seeded = 1;
	}
	if (wsframe_parse(&f, data, size) == WSF_OK) {
		(void)cbframe_op_ok(&f, CB_CUSTOMER);
		(void)cbframe_op_ok(&f, CB_STAFF);
		(void)cbframe_control_ok(&f);
		if (cbframe_data(&f, &d)) {
			if (d.len < 1 || d.len > CBFRAME_DATA_MAX || d.parts < 1 ||
			    d.parts > CBFRAME_PARTS_MAX || d.part < 0 || d.part >= d.parts || d.id < 1)
				abort();
			out = cbframe_data_out(f.conv, &d, &len);
			if (out == NULL)
				abort();
			check_out(out, len, "cobrowse_data", f.conv, 0);
		}
		out = cbframe_live(&f, 42, &len);
		check_out(out, len, "cobrowse_live", f.conv, 1);
	}
	(void)cbframe_limit((const char *)data, size);
	wsframe_free(&f);
	return (0);
}
