/*
 * Calls (issue 4): the pure parts of TURN credentials and recording
 * playback, with no Kore dependency, so unit tests link them alone
 * (app/callutil.c).
 */
#ifndef VB_CALLUTIL_H
#define VB_CALLUTIL_H

#include <stddef.h>
#include <stdint.h>

#define CALL_TURN_USER_MAX	96
#define CALL_TURN_CRED_MAX	32	/* base64 of 20 bytes is 28 + NUL */

/* Results of callutil_range. */
#define CALL_RANGE_NONE		0	/* no usable Range: send everything (200) */
#define CALL_RANGE_OK		1	/* send [start, end] (206) */
#define CALL_RANGE_UNSAT	2	/* nothing of the file asked: 416 */

int	callutil_turn_credential(const unsigned char *, size_t, int64_t,
	    const char *, char *, size_t, char *, size_t);
int	callutil_range(const char *, int64_t, int64_t *, int64_t *);
int	callutil_rec_path_valid(const char *);

#endif
