/*
 * Load generator for vb-media (and, for comparison, Janus's EchoTest):
 * N two-party calls, each leg a real ICE check, a real DTLS-SRTP handshake
 * (OpenSSL client) and SRTP (libsrtp2), then a 720p-like stream per leg
 * (90 video packets of 1100 bytes and 50 Opus packets of 100 bytes a
 * second, spread evenly over time) for the given time.
 *
 * One UDP socket carries every leg: each leg has its own loopback address
 * (127.2.x.y, same port) chosen per packet with IP_PKTINFO, so the server
 * sees 2N distinct peers while the generator sends and receives in
 * batches (sendmmsg / recvmmsg) and stays cheap next to the server.
 *
 * Loss: packets sent against packets received (counted from the clear
 * RTP header, every packet). Latency: one packet in four is decrypted and
 * its send time (in the payload) read; "baseline" legs send the same
 * packets generator to generator without a server in the same loop, so
 * their latency is what the generator and the kernel add; the server's
 * share is the difference.
 *
 * Modes:
 *   mediaload -s control.sock -n calls -t seconds          vb-media: the
 *       legs of a call forward to each other (forward.set).
 *   mediaload -j http://127.0.0.1:8088/janus -p PID ...    Janus EchoTest
 *       (ICE-lite, half trickle): each leg is echoed to itself; a "call"
 *       is two legs, the same packets in and out as a relay call.
 * -P prefix of the printed names (default media). Prints "name: value unit".
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "sec.h"
#include "stun.h"

#define BATCH		256
#define PKT		1500
#define NBASE		20		/* baseline legs (10 pairs) */
#define CHECK_US	5000000		/* ICE consent checks */

struct leg {
	int		 fd;		/* us, or its own (Janus) */
	struct sockaddr_in self;	/* 127.2.x.y (baseline 127.3.0.y) */
	struct sockaddr_in peer;	/* where its packets go */
	char		 ufrag[16], pwd[40];
	char		 rufrag[257], rpwd[257];
	uint32_t	 assrc, vssrc;
	uint16_t	 aseq, vseq;
	SSL		*ssl;
	struct sec	 sec;
	double		 vacc;
	int		 base;
	uint64_t	 next_check;
	uint64_t	 sent, recv, bad;
};

static int		 us;		/* the shared UDP socket */
static int		 ep = -1;	/* Janus: epoll of the legs' sockets */
static struct in_addr	 hostip;	/* Janus: the legs' address */
static int		 uport;
static struct leg	*legs;
static int		 nlegs, ntotal;
static int		 ctl = -1;
static char		*ctl_buf;
static size_t		 ctl_len;
static int		 ctl_id;
static char		 fp_hex[200];
static SSL_CTX		*cctx;
static const char	*janus;
static long long	 jsession;
static uint64_t		*lat[2];	/* [0] server, [1] baseline */
static size_t		 nlat[2], caplat = 4000000;

static uint64_t
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

static void
die(const char *what)
{
	fprintf(stderr, "mediaload: %s\n", what);
	exit(1);
}

/* vb-media's control socket: one request, its answer (events skipped). */
static json_t *
call(json_t *req)
{
	char		*s, tmp[65536];
	json_t		*res;
	ssize_t		 n;
	char		*nl;

	json_object_set_new(req, "id", json_integer(++ctl_id));
	s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (write(ctl, s, strlen(s)) < 0 || write(ctl, "\n", 1) < 0)
		die("control write");
	free(s);
	for (;;) {
		while ((nl = memchr(ctl_buf, '\n', ctl_len)) != NULL) {
			res = json_loadb(ctl_buf, nl - ctl_buf, 0, NULL);
			ctl_len -= nl - ctl_buf + 1;
			memmove(ctl_buf, nl + 1, ctl_len);
			if (res != NULL && json_object_get(res, "id") != NULL &&
			    json_integer_value(json_object_get(res, "id")) == ctl_id) {
				if (!json_is_true(json_object_get(res, "ok"))) {
					fprintf(stderr, "%s\n", json_dumps(res, 0));
					die("control error");
				}
				return (res);
			}
			json_decref(res);
		}
		if ((n = read(ctl, tmp, sizeof(tmp))) <= 0)
			die("control read");
		ctl_buf = realloc(ctl_buf, ctl_len + n);
		memcpy(ctl_buf + ctl_len, tmp, n);
		ctl_len += n;
	}
}

/* Janus over HTTP (libcurl): one JSON request, its JSON answer. */
struct jbuf {
	char	*p;
	size_t	 n;
};

static size_t
jwrite(char *d, size_t sz, size_t nm, void *arg)
{
	struct jbuf	*b = arg;

	b->p = realloc(b->p, b->n + sz * nm + 1);
	memcpy(b->p + b->n, d, sz * nm);
	b->n += sz * nm;
	b->p[b->n] = '\0';
	return (sz * nm);
}

static json_t *
jhttp(const char *path, json_t *body)
{
	static CURL	*c;
	struct jbuf	 b = { NULL, 0 };
	char		 url[512], *s = NULL;
	json_t		*res;
	struct curl_slist *h = NULL;

	if (c == NULL)
		c = curl_easy_init();
	curl_easy_reset(c);
	snprintf(url, sizeof(url), "%s%s", janus, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, jwrite);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 40L);
	if (body != NULL) {
		json_object_set_new(body, "transaction", json_string("t"));
		s = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		h = curl_slist_append(h, "content-type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, s);
	}
	if (curl_easy_perform(c) != CURLE_OK || b.p == NULL)
		die("janus http");
	free(s);
	curl_slist_free_all(h);
	res = json_loads(b.p, 0, NULL);
	free(b.p);
	if (res == NULL || (!json_is_array(res) &&
	    (!json_is_string(json_object_get(res, "janus")) ||
	    strcmp(json_string_value(json_object_get(res, "janus")), "error") == 0))) {
		fprintf(stderr, "%s\n", res ? json_dumps(res, 0) : "?");
		die("janus error");
	}
	return (res);
}

static long long
jid(json_t *res)
{
	long long	id = json_integer_value(json_object_get(json_object_get(res,
	    "data"), "id"));

	json_decref(res);
	if (id == 0)
		die("janus: no id");
	return (id);
}

static void
client_ctx(void)
{
	EVP_PKEY	*key = EVP_EC_gen("P-256");
	X509		*x = X509_new();
	uint8_t		 md[32];
	unsigned int	 n, i;

	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"load", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	X509_sign(x, key, EVP_sha256());
	X509_digest(x, EVP_sha256(), md, &n);
	for (i = 0; i < n; i++)
		snprintf(fp_hex + 3 * i, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
	cctx = SSL_CTX_new(DTLS_client_method());
	SSL_CTX_use_certificate(cctx, x);
	SSL_CTX_use_PrivateKey(cctx, key);
	SSL_CTX_set_tlsext_use_srtp(cctx,
	    "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80");
	SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
}

static void
token(char *out, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz01";
	uint8_t r[64];
	size_t	i;

	RAND_bytes(r, n);
	for (i = 0; i < n; i++)
		out[i] = a[r[i] % 54];
	out[n] = '\0';
}

static char *
offer(struct leg *l)
{
	static char	buf[4096];
	char		ip[32];
	const char	*setup = janus ? "active" : "actpass";

	inet_ntop(AF_INET, &l->self.sin_addr, ip, sizeof(ip));
	snprintf(buf, sizeof(buf),
	    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	    "a=group:BUNDLE 0 1\r\na=msid-semantic: WMS load\r\n"
	    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
	    "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\n"
	    "a=setup:%s\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n"
	    "a=candidate:1 1 udp 2122260223 %s %d typ host\r\n"
	    "a=end-of-candidates\r\n"
	    "a=rtpmap:111 opus/48000/2\r\na=msid:load a0\r\n"
	    "a=ssrc:%u cname:load\r\n"
	    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n"
	    "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\n"
	    "a=setup:%s\r\na=mid:1\r\na=sendrecv\r\na=rtcp-mux\r\n"
	    "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=msid:load v0\r\n"
	    "a=ssrc:%u cname:load\r\n",
	    l->ufrag, l->pwd, fp_hex, setup, ip, ntohs(l->self.sin_port), l->assrc, l->ufrag,
	    l->pwd, fp_hex, setup, l->vssrc);
	return (buf);
}

/* The answer's ICE credentials and (Janus) its first IPv4 host candidate. */
static void
answer_parse(struct leg *l, const char *ans)
{
	const char	*u = strstr(ans, "a=ice-ufrag:"), *p = strstr(ans, "a=ice-pwd:");
	const char	*c;
	char		 ip[64];
	int		 port;

	if (u == NULL || p == NULL || sscanf(u + 12, "%256[^\r\n]", l->rufrag) != 1 ||
	    sscanf(p + 10, "%256[^\r\n]", l->rpwd) != 1)
		die("answer without ICE credentials");
	if (!janus)
		return;
	for (c = ans; (c = strstr(c, "a=candidate:")) != NULL; c++) {
		if (sscanf(c, "a=candidate:%*s %*d %*s %*u %63s %d typ host", ip,
		    &port) == 2 && inet_pton(AF_INET, ip, &l->peer.sin_addr) == 1) {
			l->peer.sin_family = AF_INET;
			l->peer.sin_port = htons(port);
			return;
		}
	}
	fprintf(stderr, "%s\n", ans);
	die("janus answer without an IPv4 host candidate");
}

/* One datagram from leg l's address. */
static void
leg_send(struct leg *l, const void *buf, size_t len)
{
	char			 cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct msghdr		 m;
	struct iovec		 iov;
	struct cmsghdr		*cm;
	struct in_pktinfo	*pi;

	memset(&m, 0, sizeof(m));
	memset(cbuf, 0, sizeof(cbuf));
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	m.msg_name = &l->peer;
	m.msg_namelen = sizeof(l->peer);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (l->fd == us) {
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(*pi));
		pi = (struct in_pktinfo *)CMSG_DATA(cm);
		pi->ipi_spec_dst = l->self.sin_addr;
	}
	sendmsg(l->fd, &m, 0);
}

/*
 * Janus's ICE agent checks our side too (it is not lite towards us):
 * its binding requests are answered, signed with the leg's password.
 */
static void
stun_answer(struct leg *l, const uint8_t *buf, size_t n,
    const struct sockaddr_in *from)
{
	struct stun_msg	msg;
	uint8_t		out[512];
	size_t		len;

	if (stun_parse(&msg, buf, n) == -1 || msg.type != STUN_BINDING_REQUEST)
		return;
	len = stun_binding_success(out, sizeof(out), msg.tid,
	    (const struct sockaddr *)from, NULL, l->pwd, strlen(l->pwd));
	if (len > 0)
		sendto(l->fd, out, len, 0, (const struct sockaddr *)from,
		    sizeof(*from));
}

/* The leg a datagram was sent to (its destination address), or NULL. */
static struct leg *
leg_of(struct msghdr *m)
{
	struct cmsghdr		*cm;
	struct in_pktinfo	*pi;
	uint8_t			 a[4];
	int			 i;

	for (cm = CMSG_FIRSTHDR(m); cm != NULL; cm = CMSG_NXTHDR(m, cm)) {
		if (cm->cmsg_level != IPPROTO_IP || cm->cmsg_type != IP_PKTINFO)
			continue;
		pi = (struct in_pktinfo *)CMSG_DATA(cm);
		memcpy(a, &pi->ipi_addr, 4);
		if (a[0] != 127 || a[3] == 0)
			return (NULL);
		if (a[1] == 2)
			i = a[2] * 250 + a[3] - 1;
		else if (a[1] == 3 && a[2] == 0)
			i = nlegs + a[3] - 1;
		else
			return (NULL);
		return (i < ntotal ? &legs[i] : NULL);
	}
	return (NULL);
}

/* Setup: waits up to ms for a datagram to leg l; others are dropped. */
static ssize_t
leg_recv(struct leg *l, uint8_t *buf, size_t cap, int ms)
{
	char			 cbuf[256];
	struct msghdr		 m;
	struct iovec		 iov;
	struct sockaddr_in	 from;
	struct pollfd		 pfd = { .fd = l->fd, .events = POLLIN };
	uint64_t	 end = now_us() + (uint64_t)ms * 1000;
	ssize_t		 n;

	for (;;) {
		memset(&m, 0, sizeof(m));
		iov.iov_base = buf;
		iov.iov_len = cap;
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		m.msg_name = &from;
		m.msg_namelen = sizeof(from);
		if ((n = recvmsg(l->fd, &m, MSG_DONTWAIT)) > 0) {
			if (l->fd != us && buf[0] < 4 && buf[1] == 1) {
				stun_answer(l, buf, (size_t)n, &from);
				continue;
			}
			if (l->fd != us || leg_of(&m) == l)
				return (n);
			continue;
		}
		if (now_us() >= end)
			return (-1);
		poll(&pfd, 1, (int)((end - now_us()) / 1000) + 1);
	}
}

static size_t
check(struct leg *l, uint8_t *buf, size_t cap)
{
	uint8_t	tid[12];
	char	user[520];

	RAND_bytes(tid, sizeof(tid));
	snprintf(user, sizeof(user), "%s:%s", l->rufrag, l->ufrag);
	return (stun_binding_request(buf, cap, tid, user, NULL, 0x6e7f1eff, 1,
	    l->rpwd, strlen(l->rpwd)));
}

/* ICE check with USE-CANDIDATE, then the DTLS handshake. */
static void
connect_leg(struct leg *l)
{
	uint8_t			 buf[4096];
	char			*data;
	long			 n;
	size_t			 len, kl, sl;
	uint8_t			 keys[60];
	BIO			*rb, *wb;
	int			 i, prof;
	SRTP_PROTECTION_PROFILE	*sp;

	for (i = 0; i < 20; i++) {
		len = check(l, buf, sizeof(buf));
		leg_send(l, buf, len);
		if ((n = leg_recv(l, buf, sizeof(buf), 200)) > 0 && buf[0] < 4)
			break;
	}
	if (i == 20)
		die("no STUN answer");
	l->ssl = SSL_new(cctx);
	rb = BIO_new(BIO_s_mem());
	wb = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(rb, -1);
	SSL_set_bio(l->ssl, rb, wb);
	SSL_set_connect_state(l->ssl);
	SSL_set_mtu(l->ssl, 1200);
	for (i = 0; i < 200 && !SSL_is_init_finished(l->ssl); i++) {
		SSL_do_handshake(l->ssl);
		while ((n = BIO_get_mem_data(wb, &data)) > 0) {
			leg_send(l, data, n);
			(void)BIO_reset(wb);
		}
		if (SSL_is_init_finished(l->ssl))
			break;
		if ((n = leg_recv(l, buf, sizeof(buf), 100)) > 0 && buf[0] >= 20 &&
		    buf[0] <= 63)
			BIO_write(rb, buf, (int)n);
		else if (n > 0 && buf[0] < 4)
			continue;
		else if (n <= 0)
			DTLSv1_handle_timeout(l->ssl);
	}
	if (!SSL_is_init_finished(l->ssl))
		die("DTLS handshake");
	sp = SSL_get_selected_srtp_profile(l->ssl);
	prof = sp->id == SRTP_AEAD_AES_128_GCM ? SEC_AEAD_AES_128_GCM :
	    SEC_AES128_CM_SHA1_80;
	kl = sec_key_len(prof);
	sl = sec_salt_len(prof);
	SSL_export_keying_material(l->ssl, keys, 2 * (kl + sl),
	    "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0);
	if (sec_start(&l->sec, prof, keys, keys + 2 * kl, keys + kl,
	    keys + 2 * kl + sl) == -1)
		die("srtp");
}

/* Baseline pairs: keyed with each other, sending to each other. */
static void
baseline(void)
{
	uint8_t	k[2][16], s[2][12];
	int	i;

	for (i = nlegs; i < ntotal; i += 2) {
		RAND_bytes(&k[0][0], sizeof(k));
		RAND_bytes(&s[0][0], sizeof(s));
		sec_start(&legs[i].sec, SEC_AEAD_AES_128_GCM, k[0], s[0], k[1],
		    s[1]);
		sec_start(&legs[i + 1].sec, SEC_AEAD_AES_128_GCM, k[1], s[1],
		    k[0], s[0]);
		legs[i].peer = legs[i + 1].self;
		legs[i + 1].peer = legs[i].self;
	}
}

/* The send batch. */
static struct mmsghdr	 out_m[BATCH];
static struct iovec	 out_iov[BATCH];
static uint8_t		 out_buf[BATCH][PKT];
static char		 out_cb[BATCH][CMSG_SPACE(sizeof(struct in_pktinfo))];
static int		 nout, out_fd = -1;

static void
flush_out(void)
{
	int	done = 0, n;

	while (done < nout) {
		n = sendmmsg(out_fd, out_m + done, nout - done, 0);
		if (n <= 0) {
			if (n == -1 && (errno == EAGAIN || errno == ENOBUFS)) {
				struct pollfd p = { .fd = out_fd, .events = POLLOUT };
				poll(&p, 1, 1);
				continue;
			}
			break;
		}
		done += n;
	}
	nout = 0;
}

static uint8_t *
out_slot(struct leg *l)
{
	struct cmsghdr		*cm;
	struct in_pktinfo	*pi;
	struct msghdr		*m;

	if (nout == BATCH || (nout > 0 && out_fd != l->fd))
		flush_out();
	out_fd = l->fd;
	m = &out_m[nout].msg_hdr;
	memset(m, 0, sizeof(*m));
	m->msg_name = &l->peer;
	m->msg_namelen = sizeof(l->peer);
	m->msg_iov = &out_iov[nout];
	m->msg_iovlen = 1;
	out_iov[nout].iov_base = out_buf[nout];
	if (l->fd != us)
		return (out_buf[nout]);
	memset(out_cb[nout], 0, sizeof(out_cb[nout]));
	m->msg_control = out_cb[nout];
	m->msg_controllen = sizeof(out_cb[nout]);
	cm = CMSG_FIRSTHDR(m);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(*pi));
	pi = (struct in_pktinfo *)CMSG_DATA(cm);
	pi->ipi_spec_dst = l->self.sin_addr;
	return (out_buf[nout]);
}

static void
send_rtp(struct leg *l, int video, size_t paylen, uint64_t t)
{
	uint8_t		*pkt = out_slot(l);
	size_t		 len = 12 + paylen;
	uint32_t	 ssrc = video ? l->vssrc : l->assrc;
	uint16_t	 seq = video ? l->vseq++ : l->aseq++;
	uint32_t	 ts = (uint32_t)(t * (video ? 90 : 48) / 1000);

	memset(pkt, 0, len);
	pkt[0] = 0x80;
	pkt[1] = video ? 96 : 111;
	pkt[2] = seq >> 8;
	pkt[3] = seq & 0xff;
	pkt[4] = ts >> 24; pkt[5] = ts >> 16; pkt[6] = ts >> 8; pkt[7] = ts;
	pkt[8] = ssrc >> 24; pkt[9] = ssrc >> 16; pkt[10] = ssrc >> 8; pkt[11] = ssrc;
	if (video)
		pkt[12] = 0x10;		/* VP8 descriptor: start of partition 0 */
	memcpy(pkt + 16, &t, sizeof(t));
	if (sec_protect_rtp(&l->sec, pkt, &len, PKT) == 0) {
		out_iov[nout].iov_len = len;
		nout++;
		l->sent++;
	}
}

static void
send_check(struct leg *l)
{
	uint8_t	*pkt = out_slot(l);

	out_iov[nout].iov_len = check(l, pkt, PKT);
	nout++;
}

/* The receive batch: count every RTP packet, decrypt one in four. */
static struct mmsghdr	 in_m[BATCH];
static struct iovec	 in_iov[BATCH];
static uint8_t		 in_buf[BATCH][2048];
static char		 in_cb[BATCH][256];
static struct sockaddr_in in_from[BATCH];

static int
recv_fd(int fd, struct leg *only)
{
	struct leg	*l;
	uint8_t		*pkt;
	size_t		 len;
	uint64_t	 t, now;
	int		 n, i, total = 0;

	for (;;) {
		for (i = 0; i < BATCH; i++) {
			in_iov[i].iov_base = in_buf[i];
			in_iov[i].iov_len = sizeof(in_buf[i]);
			memset(&in_m[i].msg_hdr, 0, sizeof(in_m[i].msg_hdr));
			in_m[i].msg_hdr.msg_iov = &in_iov[i];
			in_m[i].msg_hdr.msg_iovlen = 1;
			in_m[i].msg_hdr.msg_control = in_cb[i];
			in_m[i].msg_hdr.msg_controllen = sizeof(in_cb[i]);
			in_m[i].msg_hdr.msg_name = &in_from[i];
			in_m[i].msg_hdr.msg_namelen = sizeof(in_from[i]);
		}
		if ((n = recvmmsg(fd, in_m, BATCH, MSG_DONTWAIT, NULL)) <= 0)
			return (total);
		now = now_us();
		total += n;
		for (i = 0; i < n; i++) {
			pkt = in_buf[i];
			len = in_m[i].msg_len;
			l = only != NULL ? only : leg_of(&in_m[i].msg_hdr);
			if (l != NULL && only != NULL && len >= 20 && pkt[0] < 4) {
				stun_answer(l, pkt, len, &in_from[i]);
				continue;
			}
			if (l == NULL || len < 12 ||
			    pkt[0] < 128 || pkt[0] > 191 ||
			    (pkt[1] >= 192 && pkt[1] <= 223))
				continue;
			l->recv++;
			if ((pkt[3] & 3) != 0)
				continue;
			if (sec_unprotect_rtp(&l->sec, pkt, &len) == -1 ||
			    len < 24) {
				l->bad++;
				continue;
			}
			memcpy(&t, pkt + 16, sizeof(t));
			if (t <= now && nlat[l->base] < caplat)
				lat[l->base][nlat[l->base]++] = now - t;
		}
	}
}

/* Everything that arrived: the shared socket, and the legs' own. */
static int
recv_all(void)
{
	struct epoll_event	evs[256];
	int			n, i, total = recv_fd(us, NULL);

	if (ep == -1)
		return (total);
	while ((n = epoll_wait(ep, evs, 256, 0)) > 0) {
		for (i = 0; i < n; i++) {
			struct leg *l = evs[i].data.ptr;
			total += recv_fd(l->fd, l);
		}
		if (n < 256)
			break;
	}
	return (total);
}

/* Waits for input on any socket, up to ms. */
static void
wait_in(int ms)
{
	struct pollfd	p[2] = { { .fd = us, .events = POLLIN },
			    { .fd = ep, .events = POLLIN } };

	poll(p, ep == -1 ? 1 : 2, ms);
}

static int
cmp64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/* CPU ticks (user + system, all threads) and RSS of a process. */
static void
proc_stat(int pid, uint64_t *cpu_ticks, long *rss_kb)
{
	char	path[64], buf[2048], *p;
	FILE	*fp;
	unsigned long ut = 0, st = 0;
	int	i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		die("server pid");
	if (fgets(buf, sizeof(buf), fp) == NULL)
		die("stat");
	fclose(fp);
	p = strrchr(buf, ')') + 2;
	for (i = 3; i < 14; i++)
		p = strchr(p, ' ') + 1;
	sscanf(p, "%lu %lu", &ut, &st);
	*cpu_ticks = ut + st;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	fp = fopen(path, "r");
	*rss_kb = 0;
	while (fp != NULL && fgets(buf, sizeof(buf), fp) != NULL)
		if (strncmp(buf, "VmRSS:", 6) == 0)
			*rss_kb = atol(buf + 6);
	if (fp != NULL)
		fclose(fp);
}

static double
self_cpu_s(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
}

static void
udp_open(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			on = 1, sz = 32 << 20;

	if ((us = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		die("socket");
	setsockopt(us, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
	setsockopt(us, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	setsockopt(us, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	setsockopt(us, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(us, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (bind(us, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(us, (struct sockaddr *)&sin, &len) == -1)
		die("bind");
	uport = ntohs(sin.sin_port);
	fcntl(us, F_SETFL, O_NONBLOCK);
}

static void
leg_init(struct leg *l, int i)
{
	uint8_t	*a = (uint8_t *)&l->self.sin_addr;

	l->self.sin_family = AF_INET;
	l->self.sin_port = htons(uport);
	a[0] = 127;
	l->fd = us;
	if (i < nlegs && janus != NULL) {
		struct epoll_event	ev;
		socklen_t		len = sizeof(l->self);
		int			sz = 1 << 20;

		/*
		 * Janus's ICE agent binds the host's interface address and
		 * its replies do not find 127.2.x.y: a socket per leg on
		 * that address instead.
		 */
		if ((l->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) == -1)
			die("socket (raise the open files limit?)");
		setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		l->self.sin_addr = hostip;
		l->self.sin_port = 0;
		if (bind(l->fd, (struct sockaddr *)&l->self, sizeof(l->self)) == -1 ||
		    getsockname(l->fd, (struct sockaddr *)&l->self, &len) == -1)
			die("bind leg");
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = l;
		epoll_ctl(ep, EPOLL_CTL_ADD, l->fd, &ev);
	} else if (i < nlegs) {
		a[1] = 2;
		a[2] = i / 250;
		a[3] = i % 250 + 1;
	} else {
		a[1] = 3;
		a[2] = 0;
		a[3] = i - nlegs + 1;
		l->base = 1;
	}
	token(l->ufrag, 8);
	token(l->pwd, 24);
	RAND_bytes((uint8_t *)&l->assrc, 4);
	RAND_bytes((uint8_t *)&l->vssrc, 4);
}

/* vb-media: a room per call, legs a and b forwarding to each other. */
static void
setup_relay(int calls, int port)
{
	struct leg	*l;
	json_t		*r;
	char		 room[32];
	int		 i, k;

	for (i = 0; i < calls; i++) {
		snprintf(room, sizeof(room), "load-%d", i);
		json_decref(call(json_pack("{s:s, s:s}", "cmd", "room.create",
		    "room", room)));
		for (k = 0; k < 2; k++) {
			l = &legs[2 * i + k];
			l->peer.sin_family = AF_INET;
			l->peer.sin_port = htons(port);
			l->peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			r = call(json_pack("{s:s, s:s, s:s, s:s}", "cmd",
			    "participant.add", "room", room, "participant",
			    k ? "b" : "a", "offer", offer(l)));
			answer_parse(l, json_string_value(json_object_get(r,
			    "answer")));
			json_decref(r);
		}
		json_decref(call(json_pack("{s:s, s:s, s:[{s:s,s:s,s:s,s:s},"
		    "{s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s}]}",
		    "cmd", "forward.set", "room", room, "rules",
		    "to", "a", "mid", "0", "from", "b", "from_mid", "0",
		    "to", "a", "mid", "1", "from", "b", "from_mid", "1",
		    "to", "b", "mid", "0", "from", "a", "from_mid", "0",
		    "to", "b", "mid", "1", "from", "a", "from_mid", "1")));
		connect_leg(&legs[2 * i]);
		connect_leg(&legs[2 * i + 1]);
	}
}

/* Janus: one session, an EchoTest handle per leg. */
static void
setup_janus(void)
{
	json_t		*r, *ev, *evs;
	char		 path[128];
	long long	 h;
	size_t		 k;
	int		 i, got;

	jsession = jid(jhttp("", json_pack("{s:s}", "janus", "create")));
	snprintf(path, sizeof(path), "/%lld", jsession);
	for (i = 0; i < nlegs; i++) {
		struct leg *l = &legs[i];

		h = jid(jhttp(path, json_pack("{s:s, s:s}", "janus", "attach",
		    "plugin", "janus.plugin.echotest")));
		snprintf(path, sizeof(path), "/%lld/%lld", jsession, h);
		json_decref(jhttp(path, json_pack("{s:s, s:{s:b, s:b}, "
		    "s:{s:s, s:s}}", "janus", "message", "body", "audio", 1,
		    "video", 1, "jsep", "type", "offer", "sdp", offer(l))));
		/* Half trickle: our candidates were all in the offer. */
		json_decref(jhttp(path, json_pack("{s:s, s:{s:b}}", "janus",
		    "trickle", "candidate", "completed", 1)));
		snprintf(path, sizeof(path), "/%lld?maxev=10", jsession);
		for (got = 0; !got; ) {
			evs = jhttp(path, NULL);
			if (!json_is_array(evs)) {
				r = json_array();
				json_array_append(r, evs);
				json_decref(evs);
				evs = r;
			}
			json_array_foreach(evs, k, ev) {
				const char *sdp = json_string_value(json_object_get(
				    json_object_get(ev, "jsep"), "sdp"));
				if (json_integer_value(json_object_get(ev,
				    "sender")) == h && sdp != NULL) {
					answer_parse(l, sdp);
					got = 1;
				}
			}
			json_decref(evs);
		}
		snprintf(path, sizeof(path), "/%lld", jsession);
		connect_leg(l);
	}
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	const char		*sock = NULL, *prefix = "media";
	json_t			*r;
	int			 calls = 10, secs = 10, ch, i, port = 0, pid = 0;
	uint64_t		 t0, t, next, end, c0, c1, sent = 0, recv = 0;
	uint64_t		 bsent = 0, brecv = 0, bad = 0, slot = 0;
	long			 rss0, rss1, rssx;
	double			 g0, g1, srv_cpu, p50, p99, b50, b99;

	while ((ch = getopt(argc, argv, "s:n:t:j:p:P:")) != -1) {
		switch (ch) {
		case 's': sock = optarg; break;
		case 'n': calls = atoi(optarg); break;
		case 't': secs = atoi(optarg); break;
		case 'j': janus = optarg; break;
		case 'p': pid = atoi(optarg); break;
		case 'P': prefix = optarg; break;
		default: die("usage: mediaload -s sock | -j url -p pid  -n calls -t seconds [-P prefix]");
		}
	}
	if ((sock == NULL) == (janus == NULL) || calls < 1 || calls > 30000 ||
	    (janus != NULL && pid == 0))
		die("usage: mediaload -s sock | -j url -p pid  -n calls -t seconds [-P prefix]");
	sec_init();
	client_ctx();
	udp_open();
	if (janus != NULL) {
		struct sockaddr_in	probe;
		socklen_t		plen = sizeof(probe);
		int			fd = socket(AF_INET, SOCK_DGRAM, 0);

		/* The address of the default route's interface (no packet sent). */
		memset(&probe, 0, sizeof(probe));
		probe.sin_family = AF_INET;
		probe.sin_port = htons(9);
		inet_pton(AF_INET, "198.51.100.1", &probe.sin_addr);
		if (connect(fd, (struct sockaddr *)&probe, sizeof(probe)) == -1 ||
		    getsockname(fd, (struct sockaddr *)&probe, &plen) == -1)
			die("no host address");
		hostip = probe.sin_addr;
		close(fd);
		if ((ep = epoll_create1(0)) == -1)
			die("epoll");
	}
	nlegs = 2 * calls;
	ntotal = nlegs + NBASE;
	legs = calloc(ntotal, sizeof(*legs));
	lat[0] = malloc(caplat * sizeof(uint64_t));
	lat[1] = malloc(caplat * sizeof(uint64_t));
	for (i = 0; i < ntotal; i++)
		leg_init(&legs[i], i);
	baseline();
	if (sock != NULL) {
		ctl = socket(AF_UNIX, SOCK_STREAM, 0);
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
		if (connect(ctl, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			die("control connect");
		r = call(json_pack("{s:s}", "cmd", "hello"));
		port = (int)json_integer_value(json_object_get(r, "port"));
		pid = (int)json_integer_value(json_object_get(r, "pid"));
		json_decref(r);
	} else
		curl_global_init(CURL_GLOBAL_DEFAULT);
	proc_stat(pid, &c0, &rss0);
	t0 = now_us();
	if (sock != NULL)
		setup_relay(calls, port);
	else
		setup_janus();
	printf("%s_setup_ms_per_call: %.1f ms\n", prefix,
	    (now_us() - t0) / 1000.0 / calls);
	fflush(stdout);

	/*
	 * 1 ms slots: in each, the legs i with i % 20 == slot % 20 send
	 * their 20 ms worth (one Opus packet, 1.8 video packets on average).
	 */
	recv_all();
	for (i = 0; i < ntotal; i++) {
		legs[i].recv = legs[i].bad = 0;
		legs[i].next_check = now_us() + (uint64_t)i * CHECK_US / ntotal;
	}
	nlat[0] = nlat[1] = 0;
	proc_stat(pid, &c0, &rssx);
	g0 = self_cpu_s();
	t0 = now_us();
	end = t0 + (uint64_t)secs * 1000000;
	for (next = t0; (t = now_us()) < end; ) {
		while (t >= next) {
			for (i = slot % 20; i < ntotal; i += 20) {
				struct leg *l = &legs[i];

				send_rtp(l, 0, 100, t);
				for (l->vacc += 1.8; l->vacc >= 1; l->vacc -= 1)
					send_rtp(l, 1, 1100, t);
				if (t >= l->next_check && !l->base) {
					send_check(l);
					l->next_check = t + CHECK_US;
				}
			}
			flush_out();
			slot++;
			next += 1000;
		}
		recv_all();
		t = now_us();
		if (t < next)
			wait_in((int)((next - t + 999) / 1000));
	}
	/* What is in flight arrives; then the figures. */
	for (t = now_us(); now_us() < t + 500000; ) {
		recv_all();
		wait_in(10);
	}
	g1 = self_cpu_s();
	proc_stat(pid, &c1, &rss1);
	for (i = 0; i < ntotal; i++) {
		if (legs[i].base) {
			bsent += legs[i].sent;
			brecv += legs[i].recv;
		} else {
			sent += legs[i].sent;
			recv += legs[i].recv;
			bad += legs[i].bad;
		}
	}
	qsort(lat[0], nlat[0], sizeof(uint64_t), cmp64);
	qsort(lat[1], nlat[1], sizeof(uint64_t), cmp64);
	p50 = nlat[0] ? (double)lat[0][nlat[0] / 2] : 0;
	p99 = nlat[0] ? (double)lat[0][nlat[0] * 99 / 100] : 0;
	b50 = nlat[1] ? (double)lat[1][nlat[1] / 2] : 0;
	b99 = nlat[1] ? (double)lat[1][nlat[1] * 99 / 100] : 0;
	/* The CPU window includes the 0.5 s drain. */
	srv_cpu = 100.0 * (double)(c1 - c0) / sysconf(_SC_CLK_TCK) / (secs + 0.5);
	printf("%s_calls: %d calls\n", prefix, calls);
	printf("%s_packets_sent: %llu packets\n", prefix, (unsigned long long)sent);
	printf("%s_loss: %.3f %%\n", prefix, sent ? 100.0 * (double)(sent > recv ?
	    sent - recv : 0) / (double)sent : 0);
	printf("%s_latency_p50: %.0f us\n", prefix, p50);
	printf("%s_latency_p99: %.0f us\n", prefix, p99);
	if (getenv("MEDIALOAD_DIST") != NULL && nlat[0] > 0) {
		static const int q[] = { 500, 900, 950, 980, 990, 995, 999 };
		for (i = 0; i < 7; i++)
			fprintf(stderr, "q%d server %llu baseline %llu\n", q[i],
			    (unsigned long long)lat[0][nlat[0] * q[i] / 1000],
			    (unsigned long long)(nlat[1] ? lat[1][nlat[1] * q[i] / 1000] : 0));
	}
	printf("%s_baseline_latency_p50: %.0f us\n", prefix, b50);
	printf("%s_baseline_latency_p99: %.0f us\n", prefix, b99);
	printf("%s_added_latency_p50: %.0f us\n", prefix, p50 - b50);
	printf("%s_added_latency_p99: %.0f us\n", prefix, p99 - b99);
	printf("%s_baseline_loss: %.3f %%\n", prefix, bsent ? 100.0 *
	    (double)(bsent > brecv ? bsent - brecv : 0) / (double)bsent : 0);
	printf("%s_server_cpu: %.1f %% of one core\n", prefix, srv_cpu);
	printf("%s_cpu_per_call: %.3f %% of one core\n", prefix, srv_cpu / calls);
	printf("%s_rss_per_call: %.0f KiB\n", prefix, (double)(rss1 - rss0) / calls);
	printf("%s_generator_cpu: %.1f %% of one core\n", prefix, 100.0 * (g1 - g0) /
	    (secs + 0.5));
	printf("%s_undecryptable: %llu packets\n", prefix, (unsigned long long)bad);
	return (0);
}
