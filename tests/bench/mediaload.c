/*
 * Load generator for vb-media: opens N two-party calls through a running
 * relay, each leg a real ICE-lite check, a real DTLS-SRTP handshake
 * (OpenSSL client) and SRTP (libsrtp2), then sends a 720p-like stream per
 * leg (90 video packets of 1100 bytes and 50 Opus packets of 100 bytes a
 * second) for the given time. Every received packet is decrypted and its
 * send time (in the payload) gives the added latency.
 *
 * usage: mediaload -s control.sock -n calls -t seconds
 * prints "name: value unit" lines.
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/epoll.h>
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

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "sec.h"
#include "stun.h"

struct leg {
	int		 fd;
	char		 name[16];
	char		 ufrag[16], pwd[40];
	char		 rufrag[64], rpwd[64];
	uint32_t	 assrc, vssrc;
	uint16_t	 aseq, vseq;
	SSL		*ssl;
	struct sec	 sec;
	uint64_t	 sent, recv, bad;
};

static int		 ctl;
static char		*ctl_buf;
static size_t		 ctl_len;
static int		 ctl_id;
static char		 fp_hex[200];
static SSL_CTX		*cctx;
static uint64_t		*lat;
static size_t		 nlat, caplat;

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

/* One request, its answer (events skipped). */
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
	    "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM");
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

	snprintf(buf, sizeof(buf),
	    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	    "a=group:BUNDLE 0 1\r\n"
	    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
	    "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\n"
	    "a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n"
	    "a=rtpmap:111 opus/48000/2\r\na=ssrc:%u cname:load\r\n"
	    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n"
	    "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\n"
	    "a=setup:actpass\r\na=mid:1\r\na=sendrecv\r\na=rtcp-mux\r\n"
	    "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\n"
	    "a=ssrc:%u cname:load\r\n",
	    l->ufrag, l->pwd, fp_hex, l->assrc, l->ufrag, l->pwd, fp_hex,
	    l->vssrc);
	return (buf);
}

static void
answer_creds(struct leg *l, const char *ans)
{
	const char	*u = strstr(ans, "a=ice-ufrag:"), *p = strstr(ans, "a=ice-pwd:");

	if (u == NULL || p == NULL || sscanf(u + 12, "%63[^\r]", l->rufrag) != 1 ||
	    sscanf(p + 10, "%63[^\r]", l->rpwd) != 1)
		die("answer without ICE credentials");
}

/* ICE check with USE-CANDIDATE, then the DTLS handshake, blocking. */
static void
connect_leg(struct leg *l, int port)
{
	struct sockaddr_in	 sin;
	struct pollfd		 pfd;
	uint8_t			 buf[4096], tid[12];
	char			 user[160], *data;
	long			 n;
	size_t			 len, kl, sl;
	uint8_t			 keys[60];
	BIO			*rb, *wb;
	int			 i, prof;
	SRTP_PROTECTION_PROFILE	*sp;

	l->fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(l->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("connect");
	snprintf(user, sizeof(user), "%s:%s", l->rufrag, l->ufrag);
	pfd.fd = l->fd;
	pfd.events = POLLIN;
	for (i = 0; i < 10; i++) {
		RAND_bytes(tid, sizeof(tid));
		len = stun_binding_request(buf, sizeof(buf), tid, user, NULL,
		    0x6e7f1eff, 1, l->rpwd, strlen(l->rpwd));
		send(l->fd, buf, len, 0);
		if (poll(&pfd, 1, 200) == 1 && recv(l->fd, buf, sizeof(buf), 0) > 0)
			break;
	}
	if (i == 10)
		die("no STUN answer");
	l->ssl = SSL_new(cctx);
	rb = BIO_new(BIO_s_mem());
	wb = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(rb, -1);
	SSL_set_bio(l->ssl, rb, wb);
	SSL_set_connect_state(l->ssl);
	for (i = 0; i < 100 && !SSL_is_init_finished(l->ssl); i++) {
		SSL_do_handshake(l->ssl);
		while ((n = BIO_get_mem_data(wb, &data)) > 0) {
			send(l->fd, data, n, 0);
			(void)BIO_reset(wb);
		}
		if (SSL_is_init_finished(l->ssl))
			break;
		if (poll(&pfd, 1, 100) == 1 &&
		    (n = recv(l->fd, buf, sizeof(buf), 0)) > 0 && buf[0] >= 20 &&
		    buf[0] <= 63)
			BIO_write(rb, buf, (int)n);
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
	fcntl(l->fd, F_SETFL, O_NONBLOCK);
}

static void
send_rtp(struct leg *l, int video, size_t paylen, uint64_t t)
{
	uint8_t		pkt[1500];
	size_t		len = 12 + paylen;
	uint32_t	ssrc = video ? l->vssrc : l->assrc;
	uint16_t	seq = video ? l->vseq++ : l->aseq++;
	uint32_t	ts = (uint32_t)(t * (video ? 90 : 48) / 1000);

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
	if (sec_protect_rtp(&l->sec, pkt, &len, sizeof(pkt)) == 0 &&
	    send(l->fd, pkt, len, 0) > 0)
		l->sent++;
}

static void
recv_all(struct leg *l)
{
	uint8_t		pkt[2048];
	ssize_t		n;
	size_t		len;
	uint64_t	t;

	while ((n = recv(l->fd, pkt, sizeof(pkt), 0)) > 0) {
		if (pkt[0] < 128 || pkt[0] > 191 || (pkt[1] >= 192 && pkt[1] <= 223))
			continue;
		len = (size_t)n;
		if (sec_unprotect_rtp(&l->sec, pkt, &len) == -1 || len < 24) {
			l->bad++;
			continue;
		}
		l->recv++;
		memcpy(&t, pkt + 16, sizeof(t));
		if (nlat < caplat)
			lat[nlat++] = now_us() - t;
	}
}

static int
cmp64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

static void
proc_stat(int pid, uint64_t *cpu_ticks, long *rss_kb)
{
	char	path[64], buf[2048], *p;
	FILE	*fp;
	unsigned long ut = 0, st = 0;
	int	i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		die("relay pid");
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

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	struct leg		*legs;
	const char		*sock = NULL;
	json_t			*r;
	int			 calls = 10, secs = 10, ch, i, port, pid;
	uint64_t		 t0, t, next, end, c0, c1, sent = 0, recv = 0, bad = 0;
	long			 rss0, rss1;
	double			 vacc = 0;

	while ((ch = getopt(argc, argv, "s:n:t:")) != -1) {
		switch (ch) {
		case 's': sock = optarg; break;
		case 'n': calls = atoi(optarg); break;
		case 't': secs = atoi(optarg); break;
		default: die("usage: mediaload -s sock -n calls -t seconds");
		}
	}
	if (sock == NULL || calls < 1)
		die("usage: mediaload -s sock -n calls -t seconds");
	sec_init();
	client_ctx();
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
	proc_stat(pid, &c0, &rss0);

	legs = calloc(2 * calls, sizeof(*legs));
	caplat = 4000000;
	lat = malloc(caplat * sizeof(*lat));
	t0 = now_us();
	for (i = 0; i < calls; i++) {
		char room[32];
		int k;

		snprintf(room, sizeof(room), "load-%d", i);
		json_decref(call(json_pack("{s:s, s:s}", "cmd", "room.create",
		    "room", room)));
		for (k = 0; k < 2; k++) {
			struct leg *l = &legs[2 * i + k];

			snprintf(l->name, sizeof(l->name), "%c", k ? 'b' : 'a');
			token(l->ufrag, 8);
			token(l->pwd, 24);
			RAND_bytes((uint8_t *)&l->assrc, 4);
			RAND_bytes((uint8_t *)&l->vssrc, 4);
			r = call(json_pack("{s:s, s:s, s:s, s:s}", "cmd",
			    "participant.add", "room", room, "participant",
			    l->name, "offer", offer(l)));
			answer_creds(l, json_string_value(json_object_get(r,
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
		connect_leg(&legs[2 * i], port);
		connect_leg(&legs[2 * i + 1], port);
	}
	printf("media_setup_ms_per_call: %.1f ms\n",
	    (now_us() - t0) / 1000.0 / calls);

	/* 20 ms ticks: one Opus packet and 1.8 video packets per leg. */
	proc_stat(pid, &c0, &rss1);
	t0 = now_us();
	end = t0 + (uint64_t)secs * 1000000;
	for (next = t0; (t = now_us()) < end; ) {
		if (t >= next) {
			for (i = 0; i < 2 * calls; i++) {
				send_rtp(&legs[i], 0, 100, t);
				vacc += 1.8;
			}
			for (; vacc >= 2 * calls; vacc -= 2 * calls)
				for (i = 0; i < 2 * calls; i++)
					send_rtp(&legs[i], 1, 1100, t);
			next += 20000;
		}
		for (i = 0; i < 2 * calls; i++)
			recv_all(&legs[i]);
		usleep(1000);
	}
	usleep(200000);
	for (i = 0; i < 2 * calls; i++)
		recv_all(&legs[i]);
	proc_stat(pid, &c1, &rss1);
	for (i = 0; i < 2 * calls; i++) {
		sent += legs[i].sent;
		recv += legs[i].recv;
		bad += legs[i].bad;
	}
	qsort(lat, nlat, sizeof(*lat), cmp64);
	printf("media_calls: %d calls\n", calls);
	printf("media_packets_sent: %llu packets\n", (unsigned long long)sent);
	printf("media_loss: %.3f %%\n", sent ? 100.0 * (double)(sent - recv) /
	    (double)sent : 0);
	printf("media_latency_p50: %.0f us\n", nlat ? (double)lat[nlat / 2] : 0);
	printf("media_latency_p99: %.0f us\n", nlat ? (double)lat[nlat * 99 / 100] :
	    0);
	printf("media_relay_cpu: %.1f %% of one core\n", 100.0 *
	    (double)(c1 - c0) / sysconf(_SC_CLK_TCK) / secs);
	printf("media_relay_cpu_per_call: %.3f %% of one core\n", 100.0 *
	    (double)(c1 - c0) / sysconf(_SC_CLK_TCK) / secs / calls);
	printf("media_relay_rss_per_call: %.0f KiB\n", (double)(rss1 - rss0) /
	    calls);
	printf("media_undecryptable: %llu packets\n", (unsigned long long)bad);
	return (0);
}
