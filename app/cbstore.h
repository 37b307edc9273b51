/*
 * Co-browsing (issue 5), without Kore so the unit tests run the very code
 * the server runs:
 *
 *  - cbstore: a stored session's page data, compressed as it arrives (zlib,
 *    one stream per chunk). Each accepted cobrowse_data part becomes a line
 *    "<batch id> <part> <parts>\t<data>\n" (the data has no raw newline: it
 *    is JSON text; a line that is not whole is skipped by the player).
 *  - cbcss_rewrite: a style sheet's url(...) and @import references, made
 *    absolute against the sheet's own URL and sent through the asset proxy,
 *    so that the agent's browser never fetches the customer's site itself.
 */
#ifndef CBSTORE_H
#define CBSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "cbframe.h"

#define CBSTORE_CHUNK		(512 * 1024)		/* raw bytes before a flush */
#define CBSTORE_AGE_MS		3000			/* or this old */
#define CBSTORE_MAX		(INT64_C(512) * 1024 * 1024)	/* raw bytes per connection */
#define CBCSS_MAX		(16 * 1024 * 1024)	/* a rewritten style sheet */

struct cbstore;

struct cbstore	*cbstore_new(int64_t, int64_t);
int64_t		 cbstore_session(const struct cbstore *);
int		 cbstore_add(struct cbstore *, const struct cbdata *, uint64_t);
int		 cbstore_pending(const struct cbstore *);
unsigned char	*cbstore_take(struct cbstore *, size_t *, size_t *);
void		 cbstore_free(struct cbstore *);

char		*cbcss_rewrite(const char *, size_t, const char *, const char *, size_t *);

#endif
