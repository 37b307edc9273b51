/*
 * Participants and the packet path: the RFC 7983 demux, ICE-lite checks,
 * DTLS, SRTP, RTP fan-out with rewriting, RTCP (reports, PLI, NACK
 * answered from the ring, REMB) and the per-participant timers.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "media.h"
#include "stun.h"

#define PEER_HASH	1024
#define NTP_EPOCH	2208988800ULL

static struct peer	*ufrag_hash[PEER_HASH];
static struct peer_addr	*addr_hash[PEER_HASH];

static const char *peer_states[] = {
	[PEER_NEW] = "new", [PEER_CHECKING] = "checking",
	[PEER_CONNECTED] = "connected", [PEER_DISCONNECTED] = "disconnected",
	[PEER_FAILED] = "failed",
};

const char *
peer_state_name(enum peer_state s)
{
	return (peer_states[s]);
}

static uint32_t
peer_fnv(const void *v, size_t len)
{
	const uint8_t	*p = v;
	uint32_t	 h = 2166136261U;

	while (len-- > 0)
		h = (h ^ *p++) * 16777619U;
	return (h);
}

/* Family, address and port only: the rest of a sockaddr is noise. */
static size_t
peer_addr_bytes(const struct sockaddr *sa, uint8_t out[20])
{
	const struct sockaddr_in	*s4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*s6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET) {
		memcpy(out, &s4->sin_port, 2);
		memcpy(out + 2, &s4->sin_addr, 4);
		return (6);
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &s6->sin6_port, 2);
		memcpy(out + 2, &s6->sin6_addr, 16);
		return (18);
	}
	return (0);
}

static struct peer_addr *
peer_addr_find(const struct sockaddr *sa)
{
	struct peer_addr	*a;
	uint8_t			 k[20], k2[20];
	size_t			 n;

	if ((n = peer_addr_bytes(sa, k)) == 0)
		return (NULL);
	for (a = addr_hash[peer_fnv(k, n) % PEER_HASH]; a != NULL; a = a->next)
		if (a->sa.ss_family == sa->sa_family &&
		    peer_addr_bytes((struct sockaddr *)&a->sa, k2) == n &&
		    memcmp(k, k2, n) == 0)
			return (a);
	return (NULL);
}

static void
peer_addr_unlink(struct peer_addr *a)
{
	struct peer_addr	**pp;
	uint8_t			  k[20];
	size_t			  n;

	if (!a->used)
		return;
	n = peer_addr_bytes((struct sockaddr *)&a->sa, k);
	for (pp = &addr_hash[peer_fnv(k, n) % PEER_HASH]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	}
	a->used = 0;
	a->next = NULL;
}

static void
peer_unbind(struct peer *p)
{
	int	i;

	for (i = 0; i < MEDIA_MAX_ADDRS; i++)
		peer_addr_unlink(&p->addrs[i]);
	p->sel = -1;
	p->nominated = 0;
}

/*
 * Records an address that passed a connectivity check. An address that
 * belongs to another participant moves here: only a check signed with our
 * password for this participant can get this far.
 */
static int
peer_addr_add(struct peer *p, const struct sockaddr *sa, socklen_t len,
    uint64_t now)
{
	struct peer_addr	*a;
	uint8_t			 k[20];
	size_t			 n;
	int			 i, pick = -1;

	if ((a = peer_addr_find(sa)) != NULL) {
		if (a->peer == p) {
			a->last_us = now;
			return ((int)(a - p->addrs));
		}
		if (a->peer->sel == (int)(a - a->peer->addrs))
			a->peer->sel = -1;
		peer_addr_unlink(a);
	}
	for (i = 0; i < MEDIA_MAX_ADDRS; i++) {
		if (!p->addrs[i].used) {
			pick = i;
			break;
		}
		if (i != p->sel && (pick == -1 ||
		    p->addrs[i].last_us < p->addrs[pick].last_us))
			pick = i;
	}
	if (pick == -1 || (n = peer_addr_bytes(sa, k)) == 0 ||
	    len > sizeof(a->sa))
		return (-1);
	a = &p->addrs[pick];
	peer_addr_unlink(a);
	memset(&a->sa, 0, sizeof(a->sa));
	memcpy(&a->sa, sa, len);
	a->len = len;
	a->used = 1;
	a->last_us = now;
	a->peer = p;
	a->next = addr_hash[peer_fnv(k, n) % PEER_HASH];
	addr_hash[peer_fnv(k, n) % PEER_HASH] = a;
	return (pick);
}

static void
peer_ufrag_link(struct peer *p)
{
	uint32_t	h = peer_fnv(p->lufrag, strlen(p->lufrag)) % PEER_HASH;

	p->ufrag_next = ufrag_hash[h];
	ufrag_hash[h] = p;
}

static void
peer_ufrag_unlink(struct peer *p)
{
	struct peer	**pp;
	uint32_t	  h = peer_fnv(p->lufrag, strlen(p->lufrag)) % PEER_HASH;

	for (pp = &ufrag_hash[h]; *pp != NULL; pp = &(*pp)->ufrag_next) {
		if (*pp == p) {
			*pp = p->ufrag_next;
			break;
		}
	}
	p->ufrag_next = NULL;
}

static struct peer *
peer_ufrag_find(const uint8_t *u, size_t len)
{
	struct peer	*p;

	for (p = ufrag_hash[peer_fnv(u, len) % PEER_HASH]; p != NULL;
	    p = p->ufrag_next)
		if (strlen(p->lufrag) == len && memcmp(p->lufrag, u, len) == 0)
			return (p);
	return (NULL);
}

static void
peer_token(char *out, size_t len)
{
	static const char	 alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t			 r[64];
	size_t			 i;

	media_random(r, len);
	for (i = 0; i < len; i++)
		out[i] = alpha[r[i] & 63];
	out[len] = '\0';
}

/* New local ICE credentials, unique among live participants. */
static void
peer_credentials(struct peer *p)
{
	do {
		peer_token(p->lufrag, sizeof(p->lufrag) - 1);
	} while (peer_ufrag_find((uint8_t *)p->lufrag, strlen(p->lufrag)));
	peer_token(p->lpwd, sizeof(p->lpwd) - 1);
	peer_ufrag_link(p);
}

struct peer *
peer_new(struct room *r, const char *id)
{
	struct peer	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	p->room = r;
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->sel = -1;
	p->state = PEER_NEW;
	media_random(&p->rtcp_ssrc, sizeof(p->rtcp_ssrc));
	media_random(&p->sess_id, sizeof(p->sess_id));
	p->sess_id &= 0x3fffffffffffffffULL;
	p->created_us = media_now_us();
	peer_credentials(p);
	return (p);
}

void
peer_free(struct peer *p)
{
	int	i;

	peer_ufrag_unlink(p);
	peer_unbind(p);
	dtls_free(&p->dtls);
	sec_stop(&p->sec);
	for (i = 0; i < MEDIA_MAX_TRACKS; i++) {
		/* A recording of this participant ends with it. */
		if (i < p->ntracks && p->tracks[i].tap.close != NULL)
			p->tracks[i].tap.close(p->tracks[i].tap.arg);
		free(p->tracks[i].ring);
	}
	free(p);
}

const char *
peer_address(const struct peer *p, char *buf, size_t len)
{
	const struct sockaddr_storage	*ss;
	char				 host[INET6_ADDRSTRLEN];
	uint16_t			 port;

	if (p->sel < 0)
		return (NULL);
	ss = &p->addrs[p->sel].sa;
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)ss)->sin_addr, host,
		    sizeof(host));
		port = ntohs(((struct sockaddr_in *)ss)->sin_port);
		snprintf(buf, len, "%s:%u", host, port);
	} else {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ss)->sin6_addr,
		    host, sizeof(host));
		port = ntohs(((struct sockaddr_in6 *)ss)->sin6_port);
		snprintf(buf, len, "[%s]:%u", host, port);
	}
	return (buf);
}

/* Same m-line order as before (JSEP only appends), same codec or reset. */
static int
peer_check_offer(struct peer *p, const struct sdp_offer *o, char *err,
    size_t errlen)
{
	int	i, n = 0;

	if (p->ntracks > o->nmedia) {
		snprintf(err, errlen, "the offer removed m-lines");
		return (-1);
	}
	for (i = 0; i < p->ntracks; i++) {
		if (strcmp(p->tracks[i].mid, o->m[i].mid) != 0) {
			snprintf(err, errlen, "m-line %d changed its mid", i);
			return (-1);
		}
	}
	for (i = 0; i < o->nmedia; i++)
		n += sdp_media_accepted(&o->m[i]);
	if (n == 0) {
		snprintf(err, errlen, "no acceptable m-line (need Opus or VP8/H.264 "
		    "over UDP/TLS/RTP/SAVPF with rtcp-mux)");
		return (-1);
	}
	return (0);
}

static void
peer_track_apply(struct peer *p, int i, const struct sdp_media *m)
{
	struct track	*t = &p->tracks[i];
	uint16_t	 seq0;
	uint32_t	 ts0;

	if (i >= p->ntracks) {
		memset(t, 0, sizeof(*t));
		snprintf(t->mid, sizeof(t->mid), "%s", m->mid);
		media_random(&t->out_ssrc, sizeof(t->out_ssrc));
		t->src_track = -1;
		media_random(&seq0, sizeof(seq0));
		media_random(&ts0, sizeof(ts0));
		rtp_rewrite_init(&t->rw, m->clock, seq0 & 0x7fff, ts0);
	} else if (t->codec != m->codec || !sdp_media_accepted(m)) {
		/* What it was fed or fed others no longer fits. */
		room_unsubscribe(p, i);
	}
	t->active = sdp_media_accepted(m);
	t->kind = m->kind;
	t->codec = m->codec;
	t->pt = m->pt < 0 ? 0 : (uint8_t)m->pt;
	t->clock = m->clock;
	t->rw.clock = m->clock;
	t->dir = m->dir;
	memcpy(t->in_ssrc, m->ssrc, sizeof(t->in_ssrc));
	t->nin = m->nssrc;
	if (t->active && t->kind == SDP_VIDEO && t->ring == NULL)
		t->ring = calloc(MEDIA_RING, sizeof(*t->ring));
}

/*
 * Takes an offer (first or renegotiation) and writes the answer. An ICE
 * restart (new remote credentials) gets new local ones; a new remote
 * fingerprint gets a new DTLS association. Nothing changes on error.
 */
int
peer_offer(struct peer *p, const char *sdp, size_t len, char *answer,
    size_t cap, char *err, size_t errlen, int *restart)
{
	struct sdp_offer	*o;
	struct sdp_local	 l;
	int			 i, first, newdtls, n;

	*restart = 0;
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	if (sdp_parse(o, sdp, len, err, errlen) == -1 ||
	    peer_check_offer(p, o, err, errlen) == -1) {
		free(o);
		return (-1);
	}
	first = p->offer.nmedia == 0;
	newdtls = first || p->dtls.state == DTLS_FAILED ||
	    p->dtls.state == DTLS_CLOSED || o->fplen != p->offer.fplen ||
	    memcmp(o->fp, p->offer.fp, o->fplen) != 0 ||
	    strcmp(o->fp_alg, p->offer.fp_alg) != 0;
	if (!first && (strcmp(o->ufrag, p->rufrag) != 0 ||
	    strcmp(o->pwd, p->rpwd) != 0)) {
		*restart = 1;
		peer_ufrag_unlink(p);
		peer_credentials(p);
		peer_unbind(p);
		if (p->state == PEER_CONNECTED)
			p->state = PEER_CHECKING;
	}
	snprintf(p->rufrag, sizeof(p->rufrag), "%s", o->ufrag);
	snprintf(p->rpwd, sizeof(p->rpwd), "%s", o->pwd);
	if (newdtls) {
		sec_stop(&p->sec);
		p->srtp = 0;
		if (dtls_new(&p->dtls, o->fp_alg, o->fp, o->fplen) == -1) {
			snprintf(err, errlen, "DTLS setup failed");
			free(o);
			return (-1);
		}
		if (p->state == PEER_CONNECTED || p->state == PEER_FAILED)
			p->state = PEER_CHECKING;
	}
	for (i = 0; i < o->nmedia; i++)
		peer_track_apply(p, i, &o->m[i]);
	p->ntracks = o->nmedia;
	p->offer = *o;
	free(o);

	memset(&l, 0, sizeof(l));
	l.ufrag = p->lufrag;
	l.pwd = p->lpwd;
	l.fingerprint = dtls_fingerprint();
	l.addr = media.conf.addr;
	l.port = media.conf.port;
	l.sess_id = p->sess_id;
	l.sess_ver = ++p->sess_ver;
	l.cname = "vb-media";
	l.stream = "vb";
	for (i = 0; i < p->ntracks; i++)
		l.ssrc[i] = p->tracks[i].out_ssrc;
	if ((n = sdp_answer(&p->offer, &l, answer, cap)) == -1) {
		snprintf(err, errlen, "answer does not fit");
		return (-1);
	}
	return (n);
}

static uint64_t
peer_ntp(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (((uint64_t)ts.tv_sec + NTP_EPOCH) << 32 |
	    (((uint64_t)ts.tv_nsec << 32) / 1000000000ULL));
}

static int
peer_sendable(const struct peer *p)
{
	return (p->srtp && p->sel >= 0);
}

static void
peer_send_rtcp(struct peer *p, uint8_t *slot, size_t len)
{
	if (sec_protect_rtcp(&p->sec, slot, &len, MEDIA_BUF) == -1)
		return;
	p->tx_packets++;
	p->tx_bytes += len;
	net_send((struct sockaddr *)&p->addrs[p->sel].sa, p->addrs[p->sel].len,
	    len);
}

/* Asks the sender of a video track for a key frame (rate limited). */
void
peer_pli(struct peer *p, int ti, uint64_t now)
{
	struct track	*t;
	uint8_t		*slot;
	size_t		 n;

	if (ti < 0 || ti >= p->ntracks || !peer_sendable(p))
		return;
	t = &p->tracks[ti];
	if (t->kind != SDP_VIDEO || t->cur_ssrc == 0)
		return;
	if (t->last_pli_us != 0 && now - t->last_pli_us < MEDIA_PLI_MIN_US)
		return;
	t->last_pli_us = now;
	slot = net_slot();
	if ((n = rtcp_build_pli(slot, MEDIA_BUF, p->rtcp_ssrc, t->cur_ssrc)) > 0)
		peer_send_rtcp(p, slot, n);
}

static void
peer_disconnect(struct peer *p, const char *why)
{
	enum peer_state	old = p->state;

	peer_unbind(p);
	if (strcmp(why, "consent") == 0)
		p->state = PEER_DISCONNECTED;
	else {
		p->state = PEER_FAILED;
		p->srtp = 0;
		sec_stop(&p->sec);
	}
	media_log("%s/%s: disconnected (%s%s%s)", p->room->id, p->id, why,
	    p->dtls.err[0] ? ": " : "", p->dtls.err);
	if (old == PEER_CONNECTED || p->state == PEER_FAILED)
		ctl_event_peer("participant.disconnected", p, why);
}

static void
peer_connected(struct peer *p, uint64_t now)
{
	int	i;

	p->state = PEER_CONNECTED;
	if (p->connected_us == 0)
		p->connected_us = now;
	p->next_rtcp_us = now + MEDIA_RTCP_US / 2;
	ctl_event_peer("participant.connected", p, NULL);
	/* What we forward to it starts with a key frame. */
	for (i = 0; i < p->ntracks; i++)
		if (p->tracks[i].src != NULL)
			peer_pli(p->tracks[i].src, p->tracks[i].src_track, now);
}

static void
peer_stun(const uint8_t *buf, size_t len, const struct sockaddr *from,
    socklen_t fromlen, uint64_t now)
{
	struct stun_msg	 m;
	struct peer	*p;
	const uint8_t	*colon;
	size_t		 llen, n;
	uint8_t		*slot;
	int		 a;

	if (stun_parse(&m, buf, len) == -1) {
		media.garbage++;
		return;
	}
	if (m.type != STUN_BINDING_REQUEST)
		return;
	if (stun_check_fingerprint(&m) == -1 || m.username == NULL ||
	    (colon = memchr(m.username, ':', m.username_len)) == NULL) {
		media.garbage++;
		return;
	}
	llen = colon - m.username;
	if ((p = peer_ufrag_find(m.username, llen)) == NULL ||
	    m.username_len - llen - 1 != strlen(p->rufrag) ||
	    memcmp(colon + 1, p->rufrag, strlen(p->rufrag)) != 0 ||
	    stun_check_integrity(&m, p->lpwd, strlen(p->lpwd)) == -1) {
		media.garbage++;
		return;
	}
	slot = net_slot();
	n = stun_binding_success(slot, MEDIA_BUF, m.tid, from, NULL, p->lpwd,
	    strlen(p->lpwd));
	net_send(from, fromlen, n);
	if ((a = peer_addr_add(p, from, fromlen, now)) == -1)
		return;
	if (m.use_candidate) {
		p->sel = a;
		p->nominated = 1;
	} else if (p->sel < 0)
		p->sel = a;
	if (p->state == PEER_NEW || p->state == PEER_DISCONNECTED ||
	    p->state == PEER_CHECKING) {
		if (p->srtp)
			peer_connected(p, now);
		else
			p->state = PEER_CHECKING;
	}
}

static void
peer_dtls_out(struct peer *p, const struct sockaddr *to, socklen_t tolen)
{
	uint8_t	*slot;
	size_t	 n;

	for (;;) {
		slot = net_slot();
		if ((n = dtls_output(&p->dtls, slot, MEDIA_BUF)) == 0)
			break;
		net_send(to, tolen, n);
	}
}

static void
peer_dtls(const uint8_t *buf, size_t len, const struct sockaddr *from,
    socklen_t fromlen, uint64_t now)
{
	struct peer_addr	*a;
	struct peer		*p;
	int			 r;

	/* Only from an address that passed a check: no state for strangers. */
	if ((a = peer_addr_find(from)) == NULL) {
		media.garbage++;
		return;
	}
	p = a->peer;
	if (p->dtls.ssl == NULL || p->state == PEER_FAILED)
		return;
	r = dtls_input(&p->dtls, buf, len);
	peer_dtls_out(p, from, fromlen);
	if (r == 1) {
		if (dtls_sec_start(&p->dtls, &p->sec) == -1) {
			peer_disconnect(p, "srtp");
			return;
		}
		p->srtp = 1;
		media_log("%s/%s: DTLS done, %s", p->room->id, p->id,
		    sec_profile_name(p->sec.profile));
		peer_connected(p, now);
	} else if (r == -1)
		peer_disconnect(p, p->dtls.state == DTLS_CLOSED ? "dtls_closed" :
		    "dtls_failed");
}

static struct track *
peer_track_in(struct peer *p, const struct rtp_hdr *h)
{
	struct track	*t;
	int		 i, j;

	for (i = 0; i < p->ntracks; i++) {
		t = &p->tracks[i];
		for (j = 0; j < t->nin; j++)
			if (t->in_ssrc[j] == h->ssrc)
				return (t->active ? t : NULL);
	}
	/* Undeclared SSRC: the one active sending track with this PT. */
	for (i = 0; i < p->ntracks; i++) {
		t = &p->tracks[i];
		if (t->active && t->nin == 0 && t->pt == h->pt &&
		    sdp_sends(t->dir)) {
			t->in_ssrc[t->nin++] = h->ssrc;
			return (t);
		}
	}
	return (NULL);
}

static void
peer_forward(struct track *t, const uint8_t *pkt, size_t len,
    const struct rtp_hdr *h, uint64_t now)
{
	struct track_sub	*s;
	struct peer		*q;
	struct track		*qt;
	struct ring_slot	*r;
	uint8_t			*slot;
	size_t			 n;
	int			 i, key = 0;

	if (len + SEC_MAX_TRAILER > MEDIA_BUF)
		return;
	if (t->codec == SDP_CODEC_VP8)
		key = rtp_vp8_keyframe(pkt + h->hdrlen, h->paylen);
	else if (t->codec == SDP_CODEC_H264)
		key = rtp_h264_keyframe(pkt + h->hdrlen, h->paylen);
	for (i = 0; i < t->nsubs; i++) {
		s = &t->subs[i];
		q = s->peer;
		qt = &q->tracks[s->track];
		if (!peer_sendable(q) || !sdp_receives(qt->dir))
			continue;
		if (qt->wait_key) {
			if (!key)
				continue;
			qt->wait_key = 0;
		}
		slot = net_slot();
		memcpy(slot, pkt, len);
		if (rtp_rewrite(&qt->rw, slot, len, qt->out_ssrc, qt->pt,
		    now) == -1)
			continue;
		if (qt->ring != NULL && len <= MEDIA_RING_PKT) {
			n = ((size_t)slot[2] << 8 | slot[3]);
			r = &qt->ring[n & (MEDIA_RING - 1)];
			r->seq = (uint16_t)n;
			r->len = (uint16_t)len;
			memcpy(r->data, slot, len);
		}
		n = len;
		if (sec_protect_rtp(&q->sec, slot, &n, MEDIA_BUF) == -1)
			continue;
		qt->out_packets++;
		qt->out_octets += (uint32_t)h->paylen;
		qt->out_bytes += n;
		q->tx_packets++;
		q->tx_bytes += n;
		net_send((struct sockaddr *)&q->addrs[q->sel].sa,
		    q->addrs[q->sel].len, n);
	}
}

static void
peer_rtp(struct peer *p, uint8_t *pkt, size_t len, uint64_t now)
{
	struct rtp_hdr	 h;
	struct track	*t;

	if (rtp_parse(&h, pkt, len) == -1 || (t = peer_track_in(p, &h)) == NULL ||
	    h.pt != t->pt) {
		p->rx_dropped++;
		return;
	}
	if (h.ssrc != t->cur_ssrc) {
		t->cur_ssrc = h.ssrc;
		rtp_stats_init(&t->stats, t->clock);
	}
	rtp_stats_update(&t->stats, h.seq, h.ts, now);
	t->in_packets++;
	t->in_bytes += len;
	/* Recording hooks in here: plaintext, before any rewriting. */
	if (t->tap.fn != NULL)
		t->tap.fn(t->tap.arg, pkt, len, now);
	peer_forward(t, pkt, len, &h, now);
}

static struct track *
peer_track_out(struct peer *p, uint32_t ssrc)
{
	int	i;

	for (i = 0; i < p->ntracks; i++)
		if (p->tracks[i].out_ssrc == ssrc)
			return (&p->tracks[i]);
	return (NULL);
}

static void
peer_nack(struct peer *p, struct track *t, uint16_t seq)
{
	struct ring_slot	*r;
	uint8_t			*slot;
	size_t			 n;

	t->nacks++;
	if (t->ring == NULL || !peer_sendable(p))
		return;
	r = &t->ring[seq & (MEDIA_RING - 1)];
	if (r->len == 0 || r->seq != seq)
		return;
	slot = net_slot();
	memcpy(slot, r->data, r->len);
	n = r->len;
	if (sec_protect_rtp(&p->sec, slot, &n, MEDIA_BUF) == -1)
		return;
	t->retransmits++;
	p->tx_packets++;
	p->tx_bytes += n;
	net_send((struct sockaddr *)&p->addrs[p->sel].sa, p->addrs[p->sel].len,
	    n);
}

static void
peer_rtcp(struct peer *p, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct rtcp_info	 ri;
	struct track		*t;
	uint32_t		 mid, rtt;
	int			 i, j;

	if (rtcp_parse(&ri, pkt, len) == -1) {
		p->rx_dropped++;
		return;
	}
	if (ri.has_sr) {
		for (i = 0; i < p->ntracks; i++) {
			t = &p->tracks[i];
			if (t->cur_ssrc == ri.sr_ssrc && t->cur_ssrc != 0) {
				t->stats.lsr = (uint32_t)(ri.sr_ntp >> 16);
				t->stats.lsr_us = now;
			}
		}
	}
	for (i = 0; i < ri.nblocks; i++) {
		if ((t = peer_track_out(p, ri.blocks[i].ssrc)) == NULL)
			continue;
		t->rfraction = ri.blocks[i].fraction;
		t->rlost = ri.blocks[i].lost;
		t->rjitter = ri.blocks[i].jitter;
		/* LSR echoes one of our SRs: now - LSR - DLSR is the RTT. */
		if (ri.blocks[i].lsr != 0 && t->sr_mid != 0) {
			mid = (uint32_t)(peer_ntp() >> 16);
			rtt = mid - ri.blocks[i].lsr - ri.blocks[i].dlsr;
			if (rtt < 0x80000000U)
				p->rtt_ms = (uint32_t)((uint64_t)rtt * 1000 / 65536);
		}
	}
	for (i = 0; i < ri.npli; i++)
		if ((t = peer_track_out(p, ri.pli[i])) != NULL && t->src != NULL)
			peer_pli(t->src, t->src_track, now);
	for (i = 0; i < ri.nnack; i++)
		if ((t = peer_track_out(p, ri.nack[i].media)) != NULL)
			peer_nack(p, t, ri.nack[i].seq);
	if (ri.has_remb)
		for (j = 0; j < p->ntracks; j++)
			if (p->tracks[j].kind == SDP_VIDEO)
				p->tracks[j].rremb = ri.remb_bps;
}

/*
 * What we let a video sender use: starts at the configured maximum, backs
 * off on loss seen by us or by any receiver of its stream, grows 8% per
 * second while loss stays under 2%. Receivers' own REMBs are not a cap:
 * without abs-send-time, Chrome's receive-side estimate follows what it
 * gets, and capping the sender by it spirals down (measured).
 */
static uint64_t
peer_remb_update(struct track *t)
{
	struct track	*qt;
	unsigned int	 loss = t->stats.fraction;
	uint64_t	 cap = media.conf.max_bps, est;
	int		 i;

	for (i = 0; i < t->nsubs; i++) {
		qt = &t->subs[i].peer->tracks[t->subs[i].track];
		if (qt->rfraction > loss)
			loss = qt->rfraction;
	}
	est = t->remb_bps == 0 ? media.conf.max_bps : t->remb_bps;
	if (loss > 25)				/* > 10% */
		est = est * (512 - loss) / 512;
	else if (loss < 5)			/* < 2% */
		est = est * 108 / 100;
	if (est > cap)
		est = cap;
	if (est < 150000)
		est = 150000;
	t->remb_bps = est;
	return (est);
}

/* Once a second: SR per stream we send, RR for what we receive, REMB. */
static void
peer_reports(struct peer *p, uint64_t now)
{
	struct rtp_block	 blocks[MEDIA_MAX_TRACKS];
	uint32_t		 vssrc[MEDIA_MAX_TRACKS];
	struct track		*t;
	uint8_t			*slot;
	uint64_t		 ntp = peer_ntp(), remb = 0;
	size_t			 off = 0, n, cap = MEDIA_BUF - SEC_MAX_TRAILER - 4;
	int			 i, nb = 0, nv = 0;

	slot = net_slot();
	for (i = 0; i < p->ntracks; i++) {
		t = &p->tracks[i];
		if (t->active && t->out_packets > 0) {
			n = rtcp_build_sr(slot + off, cap - off, t->out_ssrc, ntp,
			    rtp_rewrite_ts_now(&t->rw, now), t->out_packets,
			    t->out_octets);
			t->sr_mid = (uint32_t)(ntp >> 16);
			t->sr_us = now;
			off += n;
		}
		if (t->active && t->cur_ssrc != 0 && t->stats.init) {
			rtp_stats_block(&t->stats, t->cur_ssrc, now,
			    &blocks[nb++]);
			if (t->kind == SDP_VIDEO) {
				vssrc[nv++] = t->cur_ssrc;
				remb += peer_remb_update(t);
			}
		}
	}
	off += rtcp_build_rr(slot + off, cap - off, p->rtcp_ssrc, blocks, nb);
	if (nv > 0)
		off += rtcp_build_remb(slot + off, cap - off, p->rtcp_ssrc, remb,
		    vssrc, nv);
	if (off > 0)
		peer_send_rtcp(p, slot, off);
}

/* Timers: DTLS retransmission, consent freshness, RTCP reports. */
void
peer_tick(struct peer *p, uint64_t now)
{
	struct peer_addr	*a;
	int			 i;

	if (p->dtls.state == DTLS_HANDSHAKE && p->sel >= 0) {
		a = &p->addrs[p->sel];
		if (dtls_timer(&p->dtls) == -1) {
			peer_disconnect(p, "dtls_failed");
			return;
		}
		peer_dtls_out(p, (struct sockaddr *)&a->sa, a->len);
	}
	if (p->sel >= 0 && now - p->addrs[p->sel].last_us > media.conf.consent_us) {
		peer_disconnect(p, "consent");
		return;
	}
	/* Receivers still waiting for a key frame: ask again (rate limited). */
	if (peer_sendable(p))
		for (i = 0; i < p->ntracks; i++)
			if (p->tracks[i].wait_key && p->tracks[i].src != NULL)
				peer_pli(p->tracks[i].src, p->tracks[i].src_track,
				    now);
	if (p->state == PEER_CONNECTED && peer_sendable(p) &&
	    now >= p->next_rtcp_us) {
		p->next_rtcp_us = now + MEDIA_RTCP_US;
		peer_reports(p, now);
	}
}

/* RFC 7983: the first byte tells STUN, DTLS and SRTP/SRTCP apart. */
void
peer_datagram(uint8_t *buf, size_t len, const struct sockaddr *from,
    socklen_t fromlen, uint64_t now)
{
	struct peer_addr	*a;
	struct peer		*p;
	size_t			 n = len;

	if (len == 0) {
		media.garbage++;
		return;
	}
	if (buf[0] <= 3) {
		peer_stun(buf, len, from, fromlen, now);
		return;
	}
	if (buf[0] >= 20 && buf[0] <= 63) {
		peer_dtls(buf, len, from, fromlen, now);
		return;
	}
	if (buf[0] < 128 || buf[0] > 191 || len < RTP_HDR ||
	    (a = peer_addr_find(from)) == NULL || !a->peer->srtp) {
		media.garbage++;
		return;
	}
	p = a->peer;
	p->rx_packets++;
	p->rx_bytes += len;
	if (rtp_is_rtcp(buf, len)) {
		if (sec_unprotect_rtcp(&p->sec, buf, &n) == -1) {
			p->rx_dropped++;
			return;
		}
		peer_rtcp(p, buf, n, now);
		return;
	}
	if (sec_unprotect_rtp(&p->sec, buf, &n) == -1) {
		p->rx_dropped++;
		return;
	}
	peer_rtp(p, buf, n, now);
}
