/*
 * Co-browse frames: field checks and the frames the hub relays (cbframe.h).
 * Outputs are built by Jansson from checked values only and returned as
 * malloc'd JSON text (free with free()).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util.h"
#include "cbframe.h"

static const struct {
	const char		*name;
	int			 senders;	/* enum cbframe_sender bits */
} cbframe_ops[] = {
	{ "request", CB_STAFF }, { "start", CB_CUSTOMER }, { "consent", CB_CUSTOMER },
	{ "decline", CB_CUSTOMER }, { "resume", CB_CUSTOMER },
	{ "stop", CB_CUSTOMER | CB_STAFF }, { "control_request", CB_STAFF },
	{ "grant", CB_CUSTOMER }, { "revoke", CB_CUSTOMER },
};

static const char *const cbframe_kinds[] = {
	"pointer", "click", "draw", "clear", "push", "scroll",
};

static const char *
cbframe_str(const struct wsframe *f, const char *name)
{
	const json_t	*v = json_object_get(f->root, name);

	return (json_is_string(v) ? json_string_value(v) : NULL);
}

/* An integer in [min, max]; integral reals count too. */
static int
cbframe_int(const json_t *v, int64_t min, int64_t max, int64_t *out)
{
	double	d;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < min || json_integer_value(v) > max)
			return (0);
		*out = (int64_t)json_integer_value(v);
		return (1);
	}
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (!(d >= (double)min && d <= (double)max) || d != floor(d))
			return (0);
		*out = (int64_t)d;
		return (1);
	}
	return (0);
}

/* A coordinate: any number in range, rounded to a pixel. */
static int
cbframe_coord(const json_t *v, int64_t *out)
{
	double	d;

	if (json_is_integer(v))
		d = (double)json_integer_value(v);
	else if (json_is_real(v))
		d = json_real_value(v);
	else
		return (0);
	if (!(d >= -CBFRAME_COORD_MAX && d <= CBFRAME_COORD_MAX))
		return (0);
	*out = (int64_t)llround(d);
	return (1);
}

/* The op is known and this kind of sender may send it. */
int
cbframe_op_ok(const struct wsframe *f, enum cbframe_sender who)
{
	const char	*op = cbframe_str(f, "op");
	size_t		 i;

	if (op == NULL || f->conv <= 0)
		return (0);
	for (i = 0; i < sizeof(cbframe_ops) / sizeof(cbframe_ops[0]); i++)
		if (strcmp(cbframe_ops[i].name, op) == 0)
			return ((cbframe_ops[i].senders & who) != 0);
	return (0);
}

/*
 * {type:"cobrowse_data", conversation_id, id, part, parts, snap?, data}:
 * data is a part of the JSON text of a batch of rrweb events.
 */
int
cbframe_data(const struct wsframe *f, struct cbdata *d)
{
	const json_t	*v;

	memset(d, 0, sizeof(*d));
	if (f->conv <= 0)
		return (0);
	v = json_object_get(f->root, "data");
	if (!json_is_string(v))
		return (0);
	d->data = json_string_value(v);
	d->len = json_string_length(v);
	if (d->len == 0 || d->len > CBFRAME_DATA_MAX || memchr(d->data, '\0', d->len) != NULL)
		return (0);
	if (!cbframe_int(json_object_get(f->root, "id"), 1, WSFRAME_ID_MAX, &d->id) ||
	    !cbframe_int(json_object_get(f->root, "parts"), 1, CBFRAME_PARTS_MAX, &d->parts) ||
	    !cbframe_int(json_object_get(f->root, "part"), 0, d->parts - 1, &d->part))
		return (0);
	v = json_object_get(f->root, "snap");
	if (v != NULL && !json_is_boolean(v))
		return (0);
	d->snap = json_is_true(v);
	return (1);
}

static char *
cbframe_dump(json_t *o, size_t *len)
{
	char	*s;

	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s != NULL)
		*len = strlen(s);
	return (s);
}

/* The frame the agents get for a checked part. */
char *
cbframe_data_out(int64_t conv, const struct cbdata *d, size_t *len)
{
	json_t	*o;

	o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:b, s:s%}", "type", "cobrowse_data",
	    "conversation_id", (json_int_t)conv, "id", (json_int_t)d->id,
	    "part", (json_int_t)d->part, "parts", (json_int_t)d->parts, "snap", d->snap,
	    "data", d->data, d->len);
	return (o != NULL ? cbframe_dump(o, len) : NULL);
}

static int
cbframe_kind(const char *k)
{
	size_t	i;

	for (i = 0; k != NULL && i < sizeof(cbframe_kinds) / sizeof(cbframe_kinds[0]); i++)
		if (strcmp(cbframe_kinds[i], k) == 0)
			return ((int)i);
	return (-1);
}

static int
cbframe_url_ok(const char *u)
{
	size_t	n;

	if (u == NULL || (n = strlen(u)) < 10 || n > CBFRAME_URL_MAX ||
	    !util_utf8_valid(u, n))
		return (0);
	if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
		return (0);
	for (; *u != '\0'; u++)
		if ((unsigned char)*u <= 0x20 || *u == '"' || *u == '<' || *u == '>' ||
		    *u == '\\' || *u == 0x7f)
			return (0);
	return (1);
}

/* A stroke: [[x, y], ...] of 1 to 256 points. */
static json_t *
cbframe_points(const json_t *v)
{
	json_t		*out;
	const json_t	*p;
	size_t		 i;
	int64_t		 x, y;

	if (!json_is_array(v) || json_array_size(v) < 1 ||
	    json_array_size(v) > CBFRAME_POINTS_MAX)
		return (NULL);
	out = json_array();
	json_array_foreach(v, i, p) {
		if (!json_is_array(p) || json_array_size(p) != 2 ||
		    !cbframe_coord(json_array_get(p, 0), &x) ||
		    !cbframe_coord(json_array_get(p, 1), &y)) {
			json_decref(out);
			return (NULL);
		}
		json_array_append_new(out, json_pack("[I, I]", (json_int_t)x, (json_int_t)y));
	}
	return (out);
}

/*
 * An agent's pointer, click, stroke, clearing of strokes, scroll or pushed
 * document: {type:"cobrowse_live", conversation_id, kind, x, y | points |
 * url | file_id, name}. Rebuilt with the sender's id; NULL when not valid.
 */
char *
cbframe_live(const struct wsframe *f, int64_t sender, size_t *len)
{
	json_t		*o, *pts;
	const char	*kind = cbframe_str(f, "kind"), *name;
	int64_t		 x, y, file;
	int		 k;

	if (f->conv <= 0 || (k = cbframe_kind(kind)) < 0)
		return (NULL);
	o = json_pack("{s:s, s:I, s:s, s:I}", "type", "cobrowse_live",
	    "conversation_id", (json_int_t)f->conv, "kind", kind, "agent_id", (json_int_t)sender);
	if (o == NULL)
		return (NULL);
	switch (k) {
	case 0:	/* pointer */
	case 1:	/* click */
	case 5:	/* scroll */
		if (!cbframe_coord(json_object_get(f->root, "x"), &x) ||
		    !cbframe_coord(json_object_get(f->root, "y"), &y))
			goto bad;
		json_object_set_new(o, "x", json_integer(x));
		json_object_set_new(o, "y", json_integer(y));
		break;
	case 2:	/* draw */
		if ((pts = cbframe_points(json_object_get(f->root, "points"))) == NULL)
			goto bad;
		json_object_set_new(o, "points", pts);
		break;
	case 3:	/* clear */
		break;
	case 4:	/* push: a link, or one of the conversation's files */
		name = cbframe_str(f, "name");
		if (name == NULL || strlen(name) < 1 || strlen(name) > 400 ||
		    !util_utf8_valid(name, strlen(name)) || util_utf8_chars(name) > 200)
			goto bad;
		json_object_set_new(o, "name", json_string(name));
		if (cbframe_int(json_object_get(f->root, "file_id"), 1, WSFRAME_ID_MAX, &file))
			json_object_set_new(o, "file_id", json_integer(file));
		else if (cbframe_url_ok(cbframe_str(f, "url")))
			json_object_set_new(o, "url", json_string(cbframe_str(f, "url")));
		else
			goto bad;
		break;
	}
	return (cbframe_dump(o, len));
bad:
	json_decref(o);
	return (NULL);
}

/* An agent's action under a grant: click or fill a node (the database checks the grant). */
int
cbframe_control_ok(const struct wsframe *f)
{
	const char	*a = cbframe_str(f, "action"), *v;
	int64_t		 node;

	if (f->conv <= 0 || a == NULL ||
	    !cbframe_int(json_object_get(f->root, "node"), 1, WSFRAME_ID_MAX, &node))
		return (0);
	if (strcmp(a, "click") == 0)
		return (1);
	if (strcmp(a, "fill") != 0 || (v = cbframe_str(f, "value")) == NULL)
		return (0);
	return (util_utf8_valid(v, strlen(v)) && util_utf8_chars(v) <= 1000);
}

/* max_snapshot_bytes of the database's "record" frame (0: none). */
int64_t
cbframe_limit(const char *frame, size_t len)
{
	json_t	*o;
	int64_t	 n = 0;

	if ((o = json_loadb(frame, len, 0, NULL)) == NULL)
		return (0);
	if (!cbframe_int(json_object_get(o, "max_snapshot_bytes"), 1, INT64_C(1) << 40, &n))
		n = 0;
	json_decref(o);
	return (n);
}

/* The database's "record" frame: session_id when its store flag is on, else 0. */
int64_t
cbframe_store(const char *frame, size_t len)
{
	json_t	*o;
	int64_t	 n = 0;

	if ((o = json_loadb(frame, len, 0, NULL)) == NULL)
		return (0);
	if (!json_is_true(json_object_get(o, "store")) ||
	    !cbframe_int(json_object_get(o, "session_id"), 1, WSFRAME_ID_MAX, &n))
		n = 0;
	json_decref(o);
	return (n);
}
