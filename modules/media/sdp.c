/*
 * SDP offer parsing and answer writing. Lines are copied into a bounded
 * buffer before any field is read; over-long lines and values are errors.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdp.h"

#define SDP_LINE	1024

struct sdp_ctx {
	struct sdp_offer	*o;
	struct sdp_media	*cur;		/* NULL: session level */
	char			*err;
	size_t			 errlen;
};

static int
sdp_fail(struct sdp_ctx *c, const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return (-1);
}

static int
sdp_copy(char *dst, size_t cap, const char *src)
{
	size_t		len = strlen(src);

	if (len == 0 || len >= cap)
		return (-1);
	memcpy(dst, src, len + 1);
	return (0);
}

static int
sdp_uint(const char *s, unsigned long max, unsigned long *out)
{
	char		*end;

	if (!isdigit((unsigned char)*s))
		return (-1);
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno != 0 || *out > max || (*end != '\0' && *end != ' ' &&
	    *end != '/' && *end != '\t'))
		return (-1);
	return (0);
}

/* ICE ufrag/pwd characters (RFC 8839: ice-char = ALPHA / DIGIT / "+" / "/"). */
static int
sdp_ice_chars(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '+' && *s != '/')
			return (-1);
	return (0);
}

static int
sdp_token_chars(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isgraph((unsigned char)*s))
			return (-1);
	return (0);
}

static int
sdp_fingerprint(struct sdp_ctx *c, char *v)
{
	struct sdp_offer	*o = c->o;
	char			*sp, *h;
	unsigned int		 b;
	size_t			 n = 0;

	if ((sp = strchr(v, ' ')) == NULL)
		return (sdp_fail(c, "bad a=fingerprint"));
	*sp = '\0';
	if (strlen(v) >= sizeof(o->fp_alg))
		return (sdp_fail(c, "bad a=fingerprint algorithm"));
	for (h = sp + 1; *h != '\0'; ) {
		if (!isxdigit((unsigned char)h[0]) ||
		    !isxdigit((unsigned char)h[1]) || n >= sizeof(o->fp))
			return (sdp_fail(c, "bad a=fingerprint value"));
		sscanf(h, "%2x", &b);
		o->fp[n++] = (uint8_t)b;
		h += 2;
		if (*h == ':')
			h++;
		else if (*h != '\0')
			return (sdp_fail(c, "bad a=fingerprint value"));
	}
	if (n < 20)
		return (sdp_fail(c, "bad a=fingerprint value"));
	/* Every section carries the same one under BUNDLE; keep the first. */
	if (o->fplen == 0) {
		o->fplen = n;
		snprintf(o->fp_alg, sizeof(o->fp_alg), "%s", v);
		for (h = o->fp_alg; *h != '\0'; h++)
			*h = (char)tolower((unsigned char)*h);
	}
	return (0);
}

static int
sdp_m_line(struct sdp_ctx *c, char *v)
{
	struct sdp_media	*m;
	char			*type, *port, *proto, *fmt, *save;
	unsigned long		 n;

	if (c->o->nmedia >= SDP_MAX_MEDIA)
		return (sdp_fail(c, "more than %d m-lines", SDP_MAX_MEDIA));
	type = strtok_r(v, " ", &save);
	port = strtok_r(NULL, " ", &save);
	proto = strtok_r(NULL, " ", &save);
	fmt = strtok_r(NULL, " ", &save);
	if (type == NULL || port == NULL || proto == NULL || fmt == NULL)
		return (sdp_fail(c, "bad m-line"));
	m = &c->o->m[c->o->nmedia++];
	memset(m, 0, sizeof(*m));
	m->opus_pt = m->vp8_pt = m->h264_pt = m->pt = -1;
	/* Echoed in a rejecting answer: visible characters only. */
	if (sdp_copy(m->type, sizeof(m->type), type) == -1 ||
	    sdp_copy(m->proto, sizeof(m->proto), proto) == -1 ||
	    sdp_copy(m->fmt0, sizeof(m->fmt0), fmt) == -1 ||
	    sdp_token_chars(type) == -1 || sdp_token_chars(proto) == -1 ||
	    sdp_token_chars(fmt) == -1 || sdp_uint(port, 65535, &n) == -1)
		return (sdp_fail(c, "bad m-line"));
	m->port = (int)n;
	if (strcmp(type, "audio") == 0)
		m->kind = SDP_AUDIO;
	else if (strcmp(type, "video") == 0)
		m->kind = SDP_VIDEO;
	else
		m->kind = SDP_OTHER;
	m->dir = SDP_SENDRECV;
	c->cur = m;
	return (0);
}

/* "a=rtpmap:96 VP8/90000": remember the payload types of codecs we keep. */
static int
sdp_rtpmap(struct sdp_ctx *c, char *v)
{
	struct sdp_media	*m = c->cur;
	unsigned long		 pt;
	char			*name;

	if (m == NULL || sdp_uint(v, 127, &pt) == -1 ||
	    (name = strchr(v, ' ')) == NULL)
		return (sdp_fail(c, "bad a=rtpmap"));
	name++;
	if (strcasecmp(name, "opus/48000/2") == 0 && m->opus_pt == -1)
		m->opus_pt = (int)pt;
	else if (strcasecmp(name, "VP8/90000") == 0 && m->vp8_pt == -1)
		m->vp8_pt = (int)pt;
	else if (strcasecmp(name, "H264/90000") == 0 &&
	    m->nh264 < (int)(sizeof(m->h264_pts) / sizeof(m->h264_pts[0])))
		m->h264_pts[m->nh264++] = (int)pt;
	return (0);
}

/*
 * "a=fmtp:PT params". For H.264 the best is packetization-mode=1 with
 * constrained baseline 42e01f (what every browser decodes).
 */
static int
sdp_fmtp(struct sdp_ctx *c, char *v)
{
	struct sdp_media	*m = c->cur;
	unsigned long		 pt;
	char			*params;
	int			 i, score;

	if (m == NULL || sdp_uint(v, 127, &pt) == -1 ||
	    (params = strchr(v, ' ')) == NULL)
		return (sdp_fail(c, "bad a=fmtp"));
	params++;
	/* Echoed in the answer: printable and short, or ignored. */
	if (strlen(params) >= sizeof(m->fmtp) || sdp_token_chars(params) == -1)
		return (0);
	if ((int)pt == m->opus_pt) {
		snprintf(m->opus_fmtp, sizeof(m->opus_fmtp), "%s", params);
		return (0);
	}
	for (i = 0; i < m->nh264; i++) {
		if (m->h264_pts[i] != (int)pt)
			continue;
		if (strstr(params, "packetization-mode=1") == NULL)
			return (0);
		score = 1;
		if (strstr(params, "profile-level-id=42e01f") != NULL)
			score = 3;
		else if (strstr(params, "profile-level-id=42001f") != NULL)
			score = 2;
		if (score > m->h264_score) {
			m->h264_score = score;
			m->h264_pt = (int)pt;
			snprintf(m->h264_fmtp, sizeof(m->h264_fmtp), "%s",
			    params);
		}
	}
	return (0);
}

static int
sdp_ssrc(struct sdp_ctx *c, char *v)
{
	struct sdp_media	*m = c->cur;
	unsigned long		 ssrc;
	int			 i;

	if (m == NULL || sdp_uint(v, 0xffffffffUL, &ssrc) == -1)
		return (sdp_fail(c, "bad a=ssrc"));
	for (i = 0; i < m->nssrc; i++)
		if (m->ssrc[i] == ssrc)
			return (0);
	if (m->nssrc < SDP_MAX_SSRC)
		m->ssrc[m->nssrc++] = (uint32_t)ssrc;
	return (0);
}

static int
sdp_attr(struct sdp_ctx *c, char *a)
{
	struct sdp_media	*m = c->cur;
	char			*v;

	if ((v = strchr(a, ':')) != NULL)
		*v++ = '\0';
	else
		v = a + strlen(a);
	if (strcmp(a, "ice-ufrag") == 0) {
		if (strlen(v) < 4 || strlen(v) > 256 || sdp_ice_chars(v) == -1)
			return (sdp_fail(c, "bad a=ice-ufrag"));
		snprintf(c->o->ufrag, sizeof(c->o->ufrag), "%s", v);
	} else if (strcmp(a, "ice-pwd") == 0) {
		if (strlen(v) < 22 || strlen(v) > 256 || sdp_ice_chars(v) == -1)
			return (sdp_fail(c, "bad a=ice-pwd"));
		snprintf(c->o->pwd, sizeof(c->o->pwd), "%s", v);
	} else if (strcmp(a, "fingerprint") == 0) {
		return (sdp_fingerprint(c, v));
	} else if (strcmp(a, "setup") == 0) {
		if (sdp_copy(c->o->setup, sizeof(c->o->setup), v) == -1)
			return (sdp_fail(c, "bad a=setup"));
	} else if (strcmp(a, "group") == 0) {
		if (strncmp(v, "BUNDLE", 6) == 0)
			c->o->bundle = 1;
	} else if (m == NULL) {
		return (0);
	} else if (strcmp(a, "mid") == 0) {
		if (sdp_copy(m->mid, sizeof(m->mid), v) == -1 ||
		    sdp_token_chars(v) == -1)
			return (sdp_fail(c, "bad a=mid"));
	} else if (strcmp(a, "sendrecv") == 0) {
		m->dir = SDP_SENDRECV;
	} else if (strcmp(a, "sendonly") == 0) {
		m->dir = SDP_SENDONLY;
	} else if (strcmp(a, "recvonly") == 0) {
		m->dir = SDP_RECVONLY;
	} else if (strcmp(a, "inactive") == 0) {
		m->dir = SDP_INACTIVE;
	} else if (strcmp(a, "rtcp-mux") == 0) {
		m->rtcp_mux = 1;
	} else if (strcmp(a, "rtcp-rsize") == 0) {
		m->rtcp_rsize = 1;
	} else if (strcmp(a, "rtpmap") == 0) {
		return (sdp_rtpmap(c, v));
	} else if (strcmp(a, "fmtp") == 0) {
		return (sdp_fmtp(c, v));
	} else if (strcmp(a, "ssrc") == 0) {
		return (sdp_ssrc(c, v));
	}
	return (0);
}

/* Picks the codec the answer keeps: Opus for audio, VP8 (else H.264). */
static void
sdp_choose(struct sdp_media *m)
{
	m->codec = SDP_CODEC_NONE;
	if (m->port == 0 || !m->rtcp_mux || m->mid[0] == '\0' ||
	    strcmp(m->proto, "UDP/TLS/RTP/SAVPF") != 0)
		return;
	if (m->kind == SDP_AUDIO && m->opus_pt >= 0) {
		m->codec = SDP_CODEC_OPUS;
		m->pt = m->opus_pt;
		m->clock = 48000;
		memcpy(m->fmtp, m->opus_fmtp, sizeof(m->fmtp));
	} else if (m->kind == SDP_VIDEO && m->vp8_pt >= 0) {
		m->codec = SDP_CODEC_VP8;
		m->pt = m->vp8_pt;
		m->clock = 90000;
		m->fmtp[0] = '\0';
	} else if (m->kind == SDP_VIDEO && m->h264_pt >= 0) {
		m->codec = SDP_CODEC_H264;
		m->pt = m->h264_pt;
		m->clock = 90000;
		memcpy(m->fmtp, m->h264_fmtp, sizeof(m->fmtp));
	}
}

int
sdp_parse(struct sdp_offer *o, const char *sdp, size_t len, char *err,
    size_t errlen)
{
	struct sdp_ctx	 c;
	char		 line[SDP_LINE];
	const char	*p, *end, *nl;
	size_t		 n;
	int		 i, j;

	memset(o, 0, sizeof(*o));
	c.o = o;
	c.cur = NULL;
	c.err = err;
	c.errlen = errlen;
	if (len > SDP_MAX_LEN)
		return (sdp_fail(&c, "offer too large"));
	if (len < 4 || memcmp(sdp, "v=0", 3) != 0)
		return (sdp_fail(&c, "not an SDP offer"));
	for (p = sdp, end = sdp + len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		n = nl - p;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0)
			continue;
		if (n >= sizeof(line))
			return (sdp_fail(&c, "line too long"));
		if (memchr(p, '\0', n) != NULL)
			return (sdp_fail(&c, "NUL in offer"));
		memcpy(line, p, n);
		line[n] = '\0';
		if (n < 2 || line[1] != '=')
			return (sdp_fail(&c, "bad line"));
		if (line[0] == 'm' && sdp_m_line(&c, line + 2) == -1)
			return (-1);
		if (line[0] == 'a' && sdp_attr(&c, line + 2) == -1)
			return (-1);
	}
	if (o->nmedia == 0)
		return (sdp_fail(&c, "no m-lines"));
	if (o->ufrag[0] == '\0' || o->pwd[0] == '\0')
		return (sdp_fail(&c, "no ICE credentials"));
	if (o->fplen == 0)
		return (sdp_fail(&c, "no DTLS fingerprint"));
	if (strcmp(o->setup, "actpass") != 0 && strcmp(o->setup, "active") != 0)
		return (sdp_fail(&c, "a=setup must be actpass or active"));
	for (i = 0, n = 0; i < o->nmedia; i++) {
		sdp_choose(&o->m[i]);
		n += sdp_media_accepted(&o->m[i]);
		for (j = 0; j < i; j++)
			if (o->m[i].mid[0] != '\0' &&
			    strcmp(o->m[i].mid, o->m[j].mid) == 0)
				return (sdp_fail(&c, "duplicate mid"));
	}
	/* One transport for all: several m-lines need BUNDLE. */
	if (n > 1 && !o->bundle)
		return (sdp_fail(&c, "several m-lines without a=group:BUNDLE"));
	return (0);
}

int
sdp_media_accepted(const struct sdp_media *m)
{
	return (m->codec != SDP_CODEC_NONE);
}

int
sdp_sends(enum sdp_dir d)
{
	return (d == SDP_SENDRECV || d == SDP_SENDONLY);
}

int
sdp_receives(enum sdp_dir d)
{
	return (d == SDP_SENDRECV || d == SDP_RECVONLY);
}

struct sdp_buf {
	char	*p;
	size_t	 cap;
	size_t	 len;
	int	 err;
};

static void
sdp_put(struct sdp_buf *b, const char *fmt, ...)
{
	va_list		ap;
	int		n;

	if (b->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->err = 1;
	else
		b->len += (size_t)n;
}

static const char *sdp_dirs[] = {
	[SDP_SENDRECV] = "sendrecv", [SDP_SENDONLY] = "sendonly",
	[SDP_RECVONLY] = "recvonly", [SDP_INACTIVE] = "inactive",
};

/* Our direction mirrors theirs: they send only, we receive only. */
static enum sdp_dir
sdp_answer_dir(enum sdp_dir d)
{
	switch (d) {
	case SDP_SENDONLY:
		return (SDP_RECVONLY);
	case SDP_RECVONLY:
		return (SDP_SENDONLY);
	default:
		return (d);
	}
}

static void
sdp_answer_media(struct sdp_buf *b, const struct sdp_media *m,
    const struct sdp_local *l, int idx)
{
	const char	*ipv = strchr(l->addr, ':') != NULL ? "IP6" : "IP4";
	const char	*name;
	enum sdp_dir	 dir = sdp_answer_dir(m->dir);

	if (!sdp_media_accepted(m)) {
		sdp_put(b, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\n", m->type,
		    m->proto, m->fmt0);
		if (m->mid[0] != '\0')
			sdp_put(b, "a=mid:%s\r\n", m->mid);
		return;
	}
	sdp_put(b, "m=%s 9 UDP/TLS/RTP/SAVPF %d\r\n", m->type, m->pt);
	sdp_put(b, "c=IN %s %s\r\n", ipv, l->addr);
	sdp_put(b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", l->ufrag, l->pwd);
	sdp_put(b, "a=fingerprint:sha-256 %s\r\na=setup:passive\r\n",
	    l->fingerprint);
	sdp_put(b, "a=mid:%s\r\na=%s\r\n", m->mid, sdp_dirs[dir]);
	sdp_put(b, "a=rtcp-mux\r\n");
	if (m->rtcp_rsize)
		sdp_put(b, "a=rtcp-rsize\r\n");
	switch (m->codec) {
	case SDP_CODEC_OPUS:
		sdp_put(b, "a=rtpmap:%d opus/48000/2\r\n", m->pt);
		sdp_put(b, "a=fmtp:%d %s\r\n", m->pt, m->fmtp[0] != '\0' ?
		    m->fmtp : "minptime=10;useinbandfec=1");
		break;
	case SDP_CODEC_VP8:
	case SDP_CODEC_H264:
		name = m->codec == SDP_CODEC_VP8 ? "VP8" : "H264";
		sdp_put(b, "a=rtpmap:%d %s/90000\r\n", m->pt, name);
		/* REMB instead of transport-cc: the relay is the estimator. */
		sdp_put(b, "a=rtcp-fb:%d goog-remb\r\na=rtcp-fb:%d ccm fir\r\n"
		    "a=rtcp-fb:%d nack\r\na=rtcp-fb:%d nack pli\r\n",
		    m->pt, m->pt, m->pt, m->pt);
		if (m->fmtp[0] != '\0')
			sdp_put(b, "a=fmtp:%d %s\r\n", m->pt, m->fmtp);
		break;
	default:
		break;
	}
	if (sdp_sends(dir)) {
		sdp_put(b, "a=msid:%s %s-%s\r\n", l->stream, l->stream, m->mid);
		sdp_put(b, "a=ssrc:%u cname:%s\r\n", l->ssrc[idx], l->cname);
		sdp_put(b, "a=ssrc:%u msid:%s %s-%s\r\n", l->ssrc[idx],
		    l->stream, l->stream, m->mid);
	}
	sdp_put(b, "a=candidate:1 1 udp 2130706431 %s %d typ host "
	    "generation 0\r\na=end-of-candidates\r\n", l->addr, l->port);
}

/*
 * The answer: ice-lite, BUNDLE of the accepted m-lines, one host
 * candidate, our SSRC declared on every m-line where we send.
 * Returns the length written, or -1 (buffer too small, nothing accepted).
 */
int
sdp_answer(const struct sdp_offer *o, const struct sdp_local *l, char *out,
    size_t cap)
{
	struct sdp_buf	b = { out, cap, 0, 0 };
	int		i, n = 0;

	if (cap == 0)
		return (-1);
	out[0] = '\0';
	sdp_put(&b, "v=0\r\no=- %llu %u IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
	    (unsigned long long)l->sess_id, l->sess_ver);
	sdp_put(&b, "a=ice-lite\r\na=group:BUNDLE");
	for (i = 0; i < o->nmedia; i++) {
		if (!sdp_media_accepted(&o->m[i]))
			continue;
		sdp_put(&b, " %s", o->m[i].mid);
		n++;
	}
	sdp_put(&b, "\r\na=msid-semantic: WMS %s\r\n", l->stream);
	for (i = 0; i < o->nmedia; i++)
		sdp_answer_media(&b, &o->m[i], l, i);
	if (b.err || n == 0)
		return (-1);
	return ((int)b.len);
}
