/*
 * Co-browse frames (issue 5), checked without Kore so that libFuzzer
 * (tests/fuzz/fuzz_cobrowse.c) and the unit tests run the very code the hub
 * runs. The hub (hub.c, "Co-browsing") decides who may send what; this file
 * decides what a well-formed frame is and rebuilds the frames it relays, so
 * nothing a client adds travels further.
 */
#ifndef CBFRAME_H
#define CBFRAME_H

#include <stddef.h>
#include <stdint.h>

#include "wsframe.h"

#define CBFRAME_DATA_MAX	61440	/* bytes of page data in one frame */
#define CBFRAME_PARTS_MAX	4096	/* parts of one batch */
#define CBFRAME_POINTS_MAX	256	/* points of one stroke */
#define CBFRAME_COORD_MAX	100000	/* CSS pixels */
#define CBFRAME_URL_MAX		2000

/* Who sends a lifecycle op ("cobrowse" frame, checked by the database too). */
enum cbframe_sender { CB_CUSTOMER = 1, CB_STAFF = 2 };

/* Page data from the customer's recorder: part of batch id, of parts. */
struct cbdata {
	const char	*data;
	size_t		 len;
	int64_t		 id;
	int64_t		 part;
	int64_t		 parts;
	int		 snap;		/* the batch is a full snapshot */
};

int	 cbframe_op_ok(const struct wsframe *, enum cbframe_sender);
int	 cbframe_data(const struct wsframe *, struct cbdata *);
char	*cbframe_data_out(int64_t, const struct cbdata *, size_t *);
char	*cbframe_live(const struct wsframe *, int64_t, size_t *);
int	 cbframe_control_ok(const struct wsframe *);
int64_t	 cbframe_limit(const char *, size_t);
int64_t	 cbframe_store(const char *, size_t);

#endif
