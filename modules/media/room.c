/*
 * Rooms and forwarding rules. A rule says: participant Q's m-line (mid)
 * carries what participant P sends on its m-line. Subscriptions are kept
 * on both sides (receiver track: src; source track: subs) and always
 * changed together here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media.h"
#include "mrec.h"

struct room *
room_find(const char *id)
{
	struct room	*r;

	TAILQ_FOREACH(r, &media.rooms, entry)
		if (strcmp(r->id, id) == 0)
			return (r);
	return (NULL);
}

struct room *
room_create(const char *id)
{
	struct room	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	snprintf(r->id, sizeof(r->id), "%s", id);
	TAILQ_INIT(&r->peers);
	TAILQ_INSERT_TAIL(&media.rooms, r, entry);
	media.nrooms++;
	return (r);
}

void
room_destroy(struct room *r)
{
	struct peer	*p;

	/* Its recording ends first: files close on the closer thread. */
	if (r->rec != NULL)
		mrec_stop(r->rec);
	while ((p = TAILQ_FIRST(&r->peers)) != NULL)
		room_peer_gone(p);
	TAILQ_REMOVE(&media.rooms, r, entry);
	media.nrooms--;
	free(r);
}

struct peer *
room_peer(struct room *r, const char *id)
{
	struct peer	*p;

	TAILQ_FOREACH(p, &r->peers, entry)
		if (strcmp(p->id, id) == 0)
			return (p);
	return (NULL);
}

/* Detaches a receiver track from its source. */
static void
room_detach(struct peer *q, int qi)
{
	struct track	*qt = &q->tracks[qi], *st;
	int		 i;

	if (qt->src == NULL)
		return;
	st = &qt->src->tracks[qt->src_track];
	for (i = 0; i < st->nsubs; i++) {
		if (st->subs[i].peer == q && st->subs[i].track == qi) {
			st->subs[i] = st->subs[--st->nsubs];
			break;
		}
	}
	qt->src = NULL;
	qt->src_track = -1;
}

/* Track ti of p neither receives from anyone nor feeds anyone. */
void
room_unsubscribe(struct peer *p, int ti)
{
	struct track	*t = &p->tracks[ti];

	room_detach(p, ti);
	while (t->nsubs > 0)
		room_detach(t->subs[0].peer, t->subs[0].track);
}

/*
 * q's track qi receives p's track pi (p NULL: nothing). The kinds and
 * codecs must match: the relay forwards, it does not transcode.
 */
int
room_subscribe(struct peer *q, int qi, struct peer *p, int pi, char *err,
    size_t errlen)
{
	struct track	*qt = &q->tracks[qi], *pt;

	if (p == NULL) {
		room_detach(q, qi);
		return (0);
	}
	pt = &p->tracks[pi];
	if (!qt->active || !pt->active) {
		snprintf(err, errlen, "m-line not active");
		return (-1);
	}
	if (qt->kind != pt->kind || qt->codec != pt->codec) {
		snprintf(err, errlen, "kind or codec differs");
		return (-1);
	}
	if (qt->src == p && qt->src_track == pi)
		return (0);
	if (pt->nsubs >= MEDIA_MAX_SUBS) {
		snprintf(err, errlen, "too many receivers for one track");
		return (-1);
	}
	room_detach(q, qi);
	qt->src = p;
	qt->src_track = pi;
	/* Video starts at a key frame: earlier frames could not decode. */
	qt->wait_key = qt->kind == SDP_VIDEO;
	pt->subs[pt->nsubs].peer = q;
	pt->subs[pt->nsubs].track = qi;
	pt->nsubs++;
	/* The new receiver's decoder needs a key frame to start. */
	peer_pli(p, pi, media_now_us());
	return (0);
}

void
room_peer_gone(struct peer *p)
{
	int	i;

	for (i = 0; i < p->ntracks; i++)
		room_unsubscribe(p, i);
	TAILQ_REMOVE(&p->room->peers, p, entry);
	p->room->npeers--;
	peer_free(p);
}

void
room_tick(uint64_t now)
{
	struct room	*r;
	struct peer	*p;

	TAILQ_FOREACH(r, &media.rooms, entry)
		TAILQ_FOREACH(p, &r->peers, entry)
			peer_tick(p, now);
}

struct peer *
room_peer_add(struct room *r, const char *id)
{
	struct peer	*p;

	if ((p = peer_new(r, id)) == NULL)
		return (NULL);
	TAILQ_INSERT_TAIL(&r->peers, p, entry);
	r->npeers++;
	return (p);
}

/*
 * Sets (tap->fn != NULL) or clears the recording tap of participant p's
 * m-line mid. The previous tap, if any, is closed first. -1: no such mid.
 */
int
room_tap(struct peer *p, const char *mid, const struct media_tap *tap)
{
	struct track	*t = NULL;
	int		 i;

	for (i = 0; i < p->ntracks; i++)
		if (strcmp(p->tracks[i].mid, mid) == 0)
			t = &p->tracks[i];
	if (t == NULL)
		return (-1);
	if (t->tap.close != NULL)
		t->tap.close(t->tap.arg);
	memset(&t->tap, 0, sizeof(t->tap));
	if (tap != NULL && tap->fn != NULL)
		t->tap = *tap;
	return (0);
}
