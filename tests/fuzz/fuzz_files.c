/*
 * libFuzzer harness for the file transfer code that sees untrusted bytes
 * (app/fileutil.c): the upload name sanitiser, matching a sniffed type with a
 * name, site settings validation and the header/HTML/URL/zip encoders.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fileutil.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_clean(const char *s, size_t n)
{
	char	out[1024];
	size_t	i;

	if (!fileutil_name_clean(s, n, out, sizeof(out)))
		return;
	/* A kept name is valid UTF-8, ≤ 200 characters, without separators or controls. */
	if (!util_utf8_valid(out, strlen(out)) || util_utf8_chars(out) > FILE_NAME_MAX ||
	    strchr(out, '/') != NULL || strchr(out, '\\') != NULL || out[0] == '\0')
		abort();
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			*s, out[1024], *sep;
	const char		*types[16], *err;
	const struct file_type	*t;
	struct sbuf		 b;
	size_t			 i, n;
	int			 rc;

	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';

	check_clean((const char *)data, size);

	/* "sniffed\tname": the type table and the name decide together. */
	if ((sep = strchr(s, '\t')) != NULL) {
		*sep = '\0';
		if (fileutil_name_clean(sep + 1, strlen(sep + 1), out, sizeof(out))) {
			char	name[1024];
			memcpy(name, out, strlen(out) + 1);
			rc = fileutil_match(s, name, out, sizeof(out), &t);
			if (rc == FILE_OK && (t == NULL || fileutil_type(t->mime) != t ||
			    util_utf8_chars(out) > FILE_NAME_MAX + 5 || strchr(out, '/') != NULL))
				abort();
		}
		*sep = '\t';
	}

	/* Settings from the bytes: a flag, a size and newline-separated types. */
	n = 0;
	for (char *p = s, *q; n < 16 && p != NULL; p = q) {
		q = strchr(p, '\n');
		if (q != NULL)
			*q++ = '\0';
		types[n++] = p;
	}
	sbuf_init(&b);
	if (fileutil_settings(size & 1, size > 8 ? (int64_t)data[0] << 20 | data[1] : (int64_t)size,
	    types, n, &b, &err) && (b.len < 2 || b.data[0] != '{' || b.data[b.len - 1] != '}'))
		abort();
	for (i = 0; i < size; i++)
		if (s[i] == '\0')
			s[i] = '\n';

	/* Encoders never let quotes, controls or markup through. */
	sbuf_reset(&b);
	fileutil_disposition(&b, size & 2, s);
	for (i = 0; i < b.len; i++)
		if ((unsigned char)b.data[i] < 0x20 || (unsigned char)b.data[i] >= 0x7f)
			abort();
	sbuf_reset(&b);
	fileutil_html(&b, s);
	for (i = 0; i < b.len; i++)
		if (b.data[i] == '<' || b.data[i] == '>' || b.data[i] == '"' || b.data[i] == '\'')
			abort();
	sbuf_reset(&b);
	fileutil_url_path(&b, s);
	for (i = 0; i < b.len; i++)
		if (strchr("\"'<> \\", b.data[i]) != NULL || (unsigned char)b.data[i] < 0x20 ||
		    (unsigned char)b.data[i] >= 0x7f)
			abort();
	sbuf_reset(&b);
	fileutil_zip_name(&b, (int64_t)size, s);
	sbuf_free(&b);
	free(s);
	return (0);
}
