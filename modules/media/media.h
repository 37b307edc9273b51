/*
 * vb-media: the WebRTC media relay. Single-threaded: one epoll loop owns
 * the UDP socket, the control socket and every room, participant and
 * buffer. Allocation happens only on the control path (rooms,
 * participants, retransmission rings) and in OpenSSL/libsrtp at handshake
 * time; the packet path works in preallocated buffers.
 *
 * Ownership: media (global) -> rooms -> peers (participants) -> tracks.
 * A track is one m-line (mid) of a participant and has two halves: "in"
 * (what the browser sends us on that mid) and "out" (what we send it,
 * taken from one source track of another participant by a forwarding
 * rule). Sources know their subscribers (track.subs) so a packet fans out
 * without a search.
 */
#ifndef MEDIA_H
#define MEDIA_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "dtls.h"
#include "rtcp.h"
#include "rtp.h"
#include "sdp.h"
#include "sec.h"

#define MEDIA_VERSION		"1.0.0"
#define MEDIA_MAX_TRACKS	SDP_MAX_MEDIA
#define MEDIA_MAX_SUBS		16
#define MEDIA_MAX_ADDRS		4
#define MEDIA_ID_MAX		64
#define MEDIA_BUF		2048	/* one datagram, with room for tags */
#define MEDIA_RING		256	/* retransmission slots, power of 2 */
#define MEDIA_RING_PKT		1300
#define MEDIA_RTCP_US		(1000000ULL)
#define MEDIA_PLI_MIN_US	(300000ULL)

/*
 * The recording seam: fn sees every plaintext RTP packet a participant
 * sends on one m-line (after SRTP unprotect, before any rewriting), with
 * its arrival time in microseconds (CLOCK_MONOTONIC). close is called once
 * when the tap is replaced or the participant goes, so the owner can
 * finish its file (rec_close / rec_mix_close).
 */
struct media_tap {
	void	(*fn)(void *, const uint8_t *, size_t, uint64_t);
	void	(*close)(void *);
	void	 *arg;
};

struct ring_slot {
	uint16_t	seq;
	uint16_t	len;
	uint8_t		data[MEDIA_RING_PKT];
};

struct peer;

struct track_sub {
	struct peer	*peer;
	int		 track;
};

struct track {
	char			 mid[33];
	int			 active;	/* accepted in the answer */
	enum sdp_kind		 kind;
	enum sdp_codec		 codec;
	uint8_t			 pt;
	uint32_t		 clock;
	enum sdp_dir		 dir;		/* theirs, from the offer */

	/* in: what the browser sends on this mid */
	uint32_t		 in_ssrc[SDP_MAX_SSRC];
	int			 nin;
	uint32_t		 cur_ssrc;	/* last media SSRC seen */
	struct rtp_stats	 stats;
	uint64_t		 in_packets, in_bytes;
	struct track_sub	 subs[MEDIA_MAX_SUBS];
	int			 nsubs;
	uint64_t		 remb_bps;	/* what we tell the sender */
	uint64_t		 last_pli_us;
	struct media_tap	 tap;

	/* out: what we send on this mid */
	uint32_t		 out_ssrc;
	struct peer		*src;
	int			 src_track;
	struct rtp_rewrite	 rw;
	int			 wait_key;	/* video: hold until a key frame */
	uint32_t		 out_packets, out_octets;
	uint64_t		 out_bytes;
	struct ring_slot	*ring;		/* video only */
	uint32_t		 sr_mid;	/* our last SR, for RTT */
	uint64_t		 sr_us;
	uint8_t			 rfraction;	/* their report on out */
	int32_t			 rlost;
	uint32_t		 rjitter;
	uint64_t		 rremb;		/* their REMB, 0: none */
	uint64_t		 nacks, retransmits;
};

struct peer_addr {
	struct sockaddr_storage	 sa;
	socklen_t		 len;
	int			 used;
	uint64_t		 last_us;	/* last valid check */
	struct peer		*peer;
	struct peer_addr	*next;		/* hash chain */
};

enum peer_state { PEER_NEW, PEER_CHECKING, PEER_CONNECTED, PEER_DISCONNECTED,
	PEER_FAILED };

struct room;
struct mrec;

struct peer {
	TAILQ_ENTRY(peer)	 entry;
	struct room		*room;
	char			 id[MEDIA_ID_MAX + 1];
	enum peer_state		 state;
	char			 lufrag[9];
	char			 lpwd[25];
	char			 rufrag[257];
	char			 rpwd[257];
	struct peer		*ufrag_next;
	struct peer_addr	 addrs[MEDIA_MAX_ADDRS];
	int			 sel;		/* selected addrs[], -1 none */
	int			 nominated;
	struct dtls		 dtls;
	struct sec		 sec;
	int			 srtp;		/* keys installed */
	struct sdp_offer	 offer;
	int			 ntracks;
	struct track		 tracks[MEDIA_MAX_TRACKS];
	uint32_t		 rtcp_ssrc;
	uint64_t		 sess_id;
	uint32_t		 sess_ver;
	uint64_t		 created_us, connected_us, next_rtcp_us;
	uint64_t		 rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t		 rx_dropped;	/* failed SRTP, unknown SSRC */
	uint32_t		 rtt_ms;
};

struct room {
	TAILQ_ENTRY(room)	 entry;
	char			 id[MEDIA_ID_MAX + 1];
	TAILQ_HEAD(, peer)	 peers;
	int			 npeers;
	struct mrec		*rec;		/* running recording (mrec.c) */
};

struct media_conf {
	int		 port;
	char		 bind[64];
	char		 addr[64];	/* advertised in candidates */
	char		 sock[256];
	uint64_t	 max_bps;
	uint64_t	 consent_us;	/* RFC 7675 timeout */
};

struct media {
	struct media_conf	 conf;
	int			 udp;
	int			 ep;		/* epoll */
	uint64_t		 started;	/* unix seconds */
	TAILQ_HEAD(, room)	 rooms;
	int			 nrooms;
	uint64_t		 now_us;
	uint64_t		 garbage;	/* datagrams dropped by the demux */
};

extern struct media	media;

/* main.c */
uint64_t	media_now_us(void);
void		media_log(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
void		media_random(void *, size_t);

/* net.c */
int		net_open(const char *, int);
int		net_recv(void);
uint8_t		*net_slot(void);
void		net_send(const struct sockaddr *, socklen_t, size_t);
void		net_flush(void);
uint64_t	net_drops(void);

/* peer.c */
void		peer_datagram(uint8_t *, size_t, const struct sockaddr *,
		    socklen_t, uint64_t);
struct peer	*peer_new(struct room *, const char *);
void		peer_free(struct peer *);
int		peer_offer(struct peer *, const char *, size_t, char *, size_t,
		    char *, size_t, int *);
void		peer_tick(struct peer *, uint64_t);
void		peer_pli(struct peer *, int, uint64_t);
const char	*peer_state_name(enum peer_state);
const char	*peer_address(const struct peer *, char *, size_t);

/* room.c */
struct room	*room_find(const char *);
struct room	*room_create(const char *);
void		room_destroy(struct room *);
struct peer	*room_peer(struct room *, const char *);
void		room_unsubscribe(struct peer *, int);
int		room_subscribe(struct peer *, int, struct peer *, int, char *,
		    size_t);
void		room_peer_gone(struct peer *);
struct peer	*room_peer_add(struct room *, const char *);
void		room_tick(uint64_t);
int		room_tap(struct peer *, const char *, const struct media_tap *);

/* ctl.c */
int		ctl_open(const char *);
void		ctl_accept(void);
void		ctl_io(int, uint32_t);
int		ctl_owns(int);
void		ctl_event_peer(const char *, const struct peer *,
		    const char *);
void		ctl_close_all(void);

#endif
