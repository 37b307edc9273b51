/*
 * File transfer (W7/W8), the pure parts: the fixed table of types a site may
 * allow, the upload name sanitiser, matching a sniffed type with the name,
 * validation of a site's file settings, and the encoders for headers, the
 * transcript's HTML and the zip's entry names. No Kore here: unit tests and
 * the fuzzer link this file alone.
 */

#include <sys/stat.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fileutil.h"

const struct file_type file_types[] = {
	{ "application/pdf", "PDF", ".pdf", 0 },
	{ "image/png", "PNG image", ".png", 1 },
	{ "image/jpeg", "JPEG image", ".jpg.jpeg", 1 },
	{ "image/gif", "GIF image", ".gif", 1 },
	{ "image/webp", "WebP image", ".webp", 1 },
	{ "text/plain", "Plain text", ".txt.text.log", 0 },
	{ "text/csv", "CSV", ".csv", 0 },
	{ "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	    "Word document (DOCX)", ".docx", 0 },
	{ "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	    "Excel workbook (XLSX)", ".xlsx", 0 },
	{ "application/vnd.oasis.opendocument.text", "OpenDocument text (ODT)", ".odt", 0 },
	{ "application/vnd.oasis.opendocument.spreadsheet",
	    "OpenDocument spreadsheet (ODS)", ".ods", 0 },
	{ "application/zip", "ZIP archive", ".zip", 0 },
};
const size_t file_ntypes = sizeof(file_types) / sizeof(file_types[0]);

const struct file_type *
fileutil_type(const char *mime)
{
	size_t	i;

	for (i = 0; mime != NULL && i < file_ntypes; i++)
		if (strcmp(file_types[i].mime, mime) == 0)
			return (&file_types[i]);
	return (NULL);
}

/* Code point at s (valid UTF-8 assumed) and its length. */
static uint32_t
fileutil_cp(const unsigned char *s, size_t *n)
{
	if (s[0] < 0x80) {
		*n = 1;
		return (s[0]);
	}
	if ((s[0] & 0xe0) == 0xc0) {
		*n = 2;
		return (((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f));
	}
	if ((s[0] & 0xf0) == 0xe0) {
		*n = 3;
		return (((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) |
		    (s[2] & 0x3f));
	}
	*n = 4;
	return (((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
	    ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f));
}

/* Characters never allowed in a name: controls, separators, bidi tricks. */
static int
fileutil_bad_cp(uint32_t c)
{
	return (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '/' ||
	    c == '\\' || c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069) || c == 0xfeff || c == 0x2028 || c == 0x2029);
}

/*
 * An upload's name: valid UTF-8, 1 to 200 characters once surrounding
 * spaces are trimmed, no control or bidirectional-override characters, no
 * path separators, not "." or "..". Writes it to out; 0 when refused.
 */
int
fileutil_name_clean(const char *in, size_t len, char *out, size_t outlen)
{
	const unsigned char	*s = (const unsigned char *)in;
	size_t			 i, n, start, end;

	if (in == NULL || memchr(in, '\0', len) != NULL || !util_utf8_valid(in, len))
		return (0);
	start = 0;
	end = len;
	while (start < end && s[start] == ' ')
		start++;
	while (end > start && s[end - 1] == ' ')
		end--;
	if (end == start || end - start >= outlen)
		return (0);
	for (i = start; i < end; i += n)
		if (fileutil_bad_cp(fileutil_cp(s + i, &n)))
			return (0);
	memcpy(out, in + start, end - start);
	out[end - start] = '\0';
	if (strspn(out, ".") == strlen(out) || util_utf8_chars(out) > FILE_NAME_MAX)
		return (0);
	return (1);
}

/* The type whose extension list holds the name's extension, or NULL. */
static const struct file_type *
fileutil_ext_type(const char *name, const char **ext)
{
	const char	*dot = strrchr(name, '.'), *p;
	size_t		 i, n;

	*ext = NULL;
	if (dot == NULL || dot == name || dot[1] == '\0')
		return (NULL);
	*ext = dot;
	n = strlen(dot);
	for (i = 0; i < file_ntypes; i++) {
		for (p = file_types[i].exts; (p = strchr(p, '.')) != NULL; p++) {
			if (strncasecmp(p, dot, n) == 0 && (p[n] == '\0' || p[n] == '.'))
				return (&file_types[i]);
		}
	}
	return (NULL);
}

static size_t
fileutil_canon_ext(const struct file_type *t)
{
	const char	*next = strchr(t->exts + 1, '.');

	return (next ? (size_t)(next - t->exts) : strlen(t->exts));
}

/*
 * Matches the type libmagic sniffed from the bytes with the upload's name.
 * Plain text and CSV are one family (libmagic tells them apart only
 * sometimes): the name decides between them. A name whose extension belongs
 * to another known type is a disguise; an unknown or missing extension gets
 * the type's own appended, so that no download opens as something else.
 * Writes the name to store in out and the type in *type.
 */
int
fileutil_match(const char *sniffed, const char *name, char *out, size_t outlen,
    const struct file_type **type)
{
	const struct file_type	*t, *et;
	const char		*ext;
	size_t			 n, elen;

	*type = NULL;
	if ((t = fileutil_type(sniffed)) == NULL)
		return (FILE_UNKNOWN_TYPE);
	et = fileutil_ext_type(name, &ext);
	if (et != NULL && et != t) {
		if ((strcmp(t->mime, "text/plain") == 0 || strcmp(t->mime, "text/csv") == 0) &&
		    (strcmp(et->mime, "text/plain") == 0 || strcmp(et->mime, "text/csv") == 0))
			t = et;
		else
			return (FILE_MISMATCH);
	}
	n = strlen(name);
	if (n >= outlen)
		return (FILE_MISMATCH);
	memcpy(out, name, n + 1);
	if (et == NULL) {
		elen = fileutil_canon_ext(t);
		if (n + elen >= outlen || util_utf8_chars(name) + elen > FILE_NAME_MAX)
			return (FILE_MISMATCH);
		memcpy(out + n, t->exts, elen);
		out[n + elen] = '\0';
	}
	*type = t;
	return (FILE_OK);
}

/*
 * A site's file settings, validated and written as canonical JSON:
 * {"enabled":bool,"max_bytes":1..50 MiB,"types":[known, distinct]}.
 * 0 with *err naming the problem.
 */
int
fileutil_settings(int enabled, int64_t max_bytes, const char **types, size_t ntypes,
    struct sbuf *out, const char **err)
{
	size_t	i, j;

	if (max_bytes < 1 || max_bytes > FILE_BYTES_MAX) {
		*err = "max_bytes must be 1 byte to 50 MiB";
		return (0);
	}
	if (ntypes > file_ntypes) {
		*err = "types lists too many types";
		return (0);
	}
	for (i = 0; i < ntypes; i++) {
		if (types[i] == NULL || fileutil_type(types[i]) == NULL) {
			*err = "types may only hold the listed file types";
			return (0);
		}
		for (j = 0; j < i; j++) {
			if (strcmp(types[i], types[j]) == 0) {
				*err = "types lists a type twice";
				return (0);
			}
		}
	}
	sbuf_addf(out, "{\"enabled\":%s,\"max_bytes\":%lld,\"types\":[",
	    enabled ? "true" : "false", (long long)max_bytes);
	for (i = 0; i < ntypes; i++) {
		if (i > 0)
			sbuf_addc(out, ',');
		sbuf_json_str(out, types[i]);
	}
	sbuf_adds(out, "]}");
	return (1);
}

static int
fileutil_unreserved(unsigned char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~');
}

static void
fileutil_pct(struct sbuf *out, unsigned char c)
{
	static const char	hex[] = "0123456789ABCDEF";
	char			b[3] = { '%', hex[c >> 4], hex[c & 15] };

	sbuf_add(out, b, 3);
}

/*
 * Content-Disposition for a name (RFC 6266 + RFC 5987): an ASCII fallback
 * with anything doubtful replaced, and the exact name percent-encoded.
 */
void
fileutil_disposition(struct sbuf *out, int inline_, const char *name)
{
	const unsigned char	*s;

	sbuf_adds(out, inline_ ? "inline; filename=\"" : "attachment; filename=\"");
	for (s = (const unsigned char *)name; *s != '\0'; s++) {
		if (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\' && *s != '%')
			sbuf_addc(out, (char)*s);
		else if ((*s & 0xc0) != 0x80)	/* one '_' per character */
			sbuf_addc(out, '_');
	}
	sbuf_adds(out, "\"; filename*=UTF-8''");
	for (s = (const unsigned char *)name; *s != '\0'; s++) {
		if (fileutil_unreserved(*s))
			sbuf_addc(out, (char)*s);
		else
			fileutil_pct(out, *s);
	}
}

/* Text for an HTML element or a quoted attribute. */
void
fileutil_html(struct sbuf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': sbuf_adds(out, "&amp;"); break;
		case '<': sbuf_adds(out, "&lt;"); break;
		case '>': sbuf_adds(out, "&gt;"); break;
		case '"': sbuf_adds(out, "&quot;"); break;
		case '\'': sbuf_adds(out, "&#39;"); break;
		default: sbuf_addc(out, *s);
		}
	}
}

/* A relative URL path: every byte but unreserved ones and '/' encoded. */
void
fileutil_url_path(struct sbuf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (fileutil_unreserved((unsigned char)*s) || *s == '/')
			sbuf_addc(out, *s);
		else
			fileutil_pct(out, (unsigned char)*s);
	}
}

/*
 * "files/<id>-<name>" inside a transcript zip, safe to extract anywhere:
 * characters Windows refuses become '_' (the name has no separators).
 */
void
fileutil_zip_name(struct sbuf *out, int64_t id, const char *name)
{
	sbuf_addf(out, "files/%lld-", (long long)id);
	for (; *name != '\0'; name++)
		sbuf_addc(out, strchr("<>:\"|?*", *name) != NULL ? '_' : *name);
}

/*
 * Upload ("up-") and transcript ("tr-") temporaries in dir last written at
 * least age seconds before now: left-overs of a worker that died mid-way
 * (live ones are seconds old). Returns how many were removed.
 */
long
fileutil_tmp_sweep(const char *dir, time_t now, time_t age)
{
	DIR		*d;
	struct dirent	*e;
	struct stat	 st;
	char		 p[PATH_MAX];
	long		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return (0);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "up-", 3) != 0 && strncmp(e->d_name, "tr-", 3) != 0)
			continue;
		if (snprintf(p, sizeof(p), "%s/%.64s", dir, e->d_name) >= (int)sizeof(p))
			continue;
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime >= age &&
		    unlink(p) == 0)
			n++;
	}
	(void)closedir(d);
	return (n);
}
