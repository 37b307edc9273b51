/*
 * SDP (RFC 8866) for WebRTC as Chrome writes it (unified plan, JSEP):
 * parse an offer into what the relay needs and write the ice-lite,
 * a=setup:passive answer. Pure: no sockets, no crypto.
 */
#ifndef SDP_H
#define SDP_H

#include <stddef.h>
#include <stdint.h>

#define SDP_MAX_MEDIA	8
#define SDP_MAX_SSRC	4
#define SDP_MAX_LEN	(64 * 1024)

enum sdp_kind { SDP_OTHER, SDP_AUDIO, SDP_VIDEO };
enum sdp_dir { SDP_SENDRECV, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE };
enum sdp_codec { SDP_CODEC_NONE, SDP_CODEC_OPUS, SDP_CODEC_VP8,
	SDP_CODEC_H264 };

struct sdp_media {
	enum sdp_kind	kind;
	char		type[16];	/* audio, video, application */
	char		proto[40];
	char		fmt0[40];	/* first format token (for a reject) */
	int		port;
	char		mid[33];
	enum sdp_dir	dir;
	int		rtcp_mux;
	int		rtcp_rsize;
	/* The codec the answer keeps (SDP_CODEC_NONE: m-line rejected). */
	enum sdp_codec	codec;
	int		pt;
	uint32_t	clock;
	char		fmtp[160];
	uint32_t	ssrc[SDP_MAX_SSRC];	/* media + rtx SSRCs it sends */
	int		nssrc;
	/* Parse state: the candidates seen while reading rtpmap/fmtp. */
	int		opus_pt, vp8_pt, h264_pt, h264_score;
	char		opus_fmtp[160], h264_fmtp[160];
	int		h264_pts[16];
	int		nh264;
};

struct sdp_offer {
	char		ufrag[257];
	char		pwd[257];
	char		fp_alg[16];
	uint8_t		fp[64];
	size_t		fplen;
	char		setup[16];
	int		bundle;		/* a=group:BUNDLE present */
	int		nmedia;
	struct sdp_media m[SDP_MAX_MEDIA];
};

struct sdp_local {
	const char	*ufrag;
	const char	*pwd;
	const char	*fingerprint;	/* "AB:CD:…" SHA-256 */
	const char	*addr;		/* advertised IPv4 or IPv6 literal */
	int		 port;
	uint64_t	 sess_id;
	uint32_t	 sess_ver;
	const char	*cname;
	const char	*stream;	/* msid stream id of what we send */
	uint32_t	 ssrc[SDP_MAX_MEDIA];	/* ours, per m-line */
};

int	sdp_parse(struct sdp_offer *, const char *, size_t, char *, size_t);
int	sdp_answer(const struct sdp_offer *, const struct sdp_local *,
	    char *, size_t);
int	sdp_media_accepted(const struct sdp_media *);
int	sdp_sends(enum sdp_dir);
int	sdp_receives(enum sdp_dir);

#endif
