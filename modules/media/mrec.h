/*
 * mrec: recordings of rooms in the relay (record.start / record.stop,
 * docs/media.md) on top of the recording library (rec.h). Everything
 * here runs on the loop's thread except the closer thread inside mrec.c.
 */
#ifndef MREC_H
#define MREC_H

#include <jansson.h>

#define MREC_DIR_MAX	1024

struct mrec;
struct peer;
struct room;

int		 mrec_init(void);
int		 mrec_owns(int);
void		 mrec_io(void);
int		 mrec_dir_ok(const char *, char *, size_t);
struct mrec	*mrec_find(const char *);
int		 mrec_start(struct room *, const char *, const char *,
		     const char *, const char *, char *, size_t);
void		 mrec_stop(struct mrec *);
void		 mrec_peer(struct peer *);
json_t		*mrec_stats(const struct room *);
void		 mrec_shutdown(int);

/* ctl.c: an event to every control client (steals the reference). */
void		 ctl_event(json_t *);

#endif
