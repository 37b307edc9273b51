/*
 * File transfer (W7/W8): the pure parts, with no Kore dependency, so unit
 * tests and the fuzzer link them alone (app/fileutil.c).
 */
#ifndef VB_FILEUTIL_H
#define VB_FILEUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util.h"

#define FILE_NAME_MAX		200		/* characters */
#define FILE_BYTES_MAX		(50 * 1024 * 1024)
#define FILE_BYTES_DEFAULT	(10 * 1024 * 1024)

struct file_type {
	const char	*mime;
	const char	*label;		/* for people: "PDF", "PNG image" */
	const char	*exts;		/* ".pdf" or ".jpg.jpeg": first is canonical */
	int		 image;		/* may be shown inline */
};

/* Results of fileutil_match. */
#define FILE_OK			0
#define FILE_UNKNOWN_TYPE	1	/* not a type any site may allow */
#define FILE_MISMATCH		2	/* the name says another known type */

extern const struct file_type	file_types[];
extern const size_t		file_ntypes;

const struct file_type	*fileutil_type(const char *);
int	 fileutil_name_clean(const char *, size_t, char *, size_t);
int	 fileutil_match(const char *, const char *, char *, size_t,
	    const struct file_type **);
int	 fileutil_settings(int, int64_t, const char **, size_t, struct sbuf *,
	    const char **);
void	 fileutil_disposition(struct sbuf *, int, const char *);
void	 fileutil_html(struct sbuf *, const char *);
void	 fileutil_url_path(struct sbuf *, const char *);
void	 fileutil_zip_name(struct sbuf *, int64_t, const char *);
long	 fileutil_tmp_sweep(const char *, time_t, time_t);

#endif
