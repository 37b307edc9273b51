/*
 * vb-media: settings (conf file, then environment), sockets, and the one
 * epoll loop that runs everything.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "media.h"
#include "mrec.h"

#define MAIN_TICK_US	20000
#define MAIN_EVENTS	64

static volatile sig_atomic_t	main_quit;

struct main_key {
	const char	*name;
	const char	*env;
	int		 (*set)(const char *);
};

static int
main_set_port(const char *v)
{
	char	*end;
	long	 n = strtol(v, &end, 10);

	if (*v == '\0' || *end != '\0' || n < 0 || n > 65535)
		return (-1);
	media.conf.port = (int)n;
	return (0);
}

static int
main_set_str(char *dst, size_t cap, const char *v)
{
	if (*v == '\0' || strlen(v) >= cap)
		return (-1);
	snprintf(dst, cap, "%s", v);
	return (0);
}

static int
main_set_bind(const char *v)
{
	return (main_set_str(media.conf.bind, sizeof(media.conf.bind), v));
}

static int
main_set_addr(const char *v)
{
	struct in6_addr	a6;
	struct in_addr	a4;

	/* The answer's candidate needs a literal address. */
	if (inet_pton(AF_INET, v, &a4) != 1 && inet_pton(AF_INET6, v, &a6) != 1)
		return (-1);
	return (main_set_str(media.conf.addr, sizeof(media.conf.addr), v));
}

static int
main_set_sock(const char *v)
{
	return (main_set_str(media.conf.sock, sizeof(media.conf.sock), v));
}

static int
main_set_kbps(const char *v)
{
	char	*end;
	long	 n = strtol(v, &end, 10);

	if (*v == '\0' || *end != '\0' || n < 100 || n > 100000)
		return (-1);
	media.conf.max_bps = (uint64_t)n * 1000;
	return (0);
}

static int
main_set_consent(const char *v)
{
	char	*end;
	long	 n = strtol(v, &end, 10);

	if (*v == '\0' || *end != '\0' || n < 2 || n > 300)
		return (-1);
	media.conf.consent_us = (uint64_t)n * 1000000;
	return (0);
}

static const struct main_key main_keys[] = {
	{ "port",	"VB_MEDIA_PORT",	main_set_port },
	{ "bind",	"VB_MEDIA_BIND",	main_set_bind },
	{ "address",	"VB_MEDIA_ADDR",	main_set_addr },
	{ "socket",	"VB_MEDIA_SOCK",	main_set_sock },
	{ "max_kbps",	"VB_MEDIA_MAX_KBPS",	main_set_kbps },
	{ "consent_s",	"VB_MEDIA_CONSENT_S",	main_set_consent },
	{ NULL,		NULL,			NULL },
};

/* "key value" lines; '#' starts a comment. */
static int
main_conf_file(const char *path)
{
	const struct main_key	*k;
	FILE			*fp;
	char			 line[512], *key, *val, *e;
	int			 ln = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		media_log("%s: %s", path, strerror(errno));
		return (-1);
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		ln++;
		if ((e = strchr(line, '#')) != NULL)
			*e = '\0';
		key = strtok(line, " \t\r\n");
		if (key == NULL)
			continue;
		val = strtok(NULL, " \t\r\n");
		for (k = main_keys; k->name != NULL; k++)
			if (strcmp(k->name, key) == 0)
				break;
		if (k->name == NULL || val == NULL || k->set(val) == -1) {
			media_log("%s:%d: bad setting \"%s\"", path, ln, key);
			fclose(fp);
			return (-1);
		}
	}
	fclose(fp);
	return (0);
}

static int
main_conf(const char *file)
{
	const struct main_key	*k;
	const char		*v;

	media.conf.port = 10000;
	snprintf(media.conf.bind, sizeof(media.conf.bind), "0.0.0.0");
	snprintf(media.conf.addr, sizeof(media.conf.addr), "127.0.0.1");
	media.conf.max_bps = 2500000;
	media.conf.consent_us = 30ULL * 1000000;
	v = getenv("VB_VAR");
	snprintf(media.conf.sock, sizeof(media.conf.sock), "%s/run/media.sock",
	    v != NULL && *v != '\0' ? v : "var");
	if (file == NULL)
		file = getenv("VB_MEDIA_CONF");
	if (file != NULL && *file != '\0' && main_conf_file(file) == -1)
		return (-1);
	for (k = main_keys; k->name != NULL; k++) {
		if ((v = getenv(k->env)) == NULL || *v == '\0')
			continue;
		if (k->set(v) == -1) {
			media_log("bad %s=\"%s\"", k->env, v);
			return (-1);
		}
	}
	return (0);
}

static void
main_signal(int sig)
{
	main_quit = 1;
}

static int
main_bound_port(void)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);

	if (getsockname(media.udp, (struct sockaddr *)&ss, &len) == -1)
		return (-1);
	if (ss.ss_family == AF_INET)
		return (ntohs(((struct sockaddr_in *)&ss)->sin_port));
	return (ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
}

static void
main_loop(void)
{
	struct epoll_event	evs[MAIN_EVENTS];
	uint64_t		now, next_tick = 0;
	int			n, i, rounds;

	while (!main_quit) {
		n = epoll_wait(media.ep, evs, MAIN_EVENTS, MAIN_TICK_US / 1000);
		if (n == -1 && errno != EINTR) {
			media_log("epoll_wait: %s", strerror(errno));
			return;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == media.udp) {
				/* Bounded, so timers and control still run. */
				for (rounds = 0; rounds < 16 && net_recv() > 0;
				    rounds++)
					;
			} else if (ctl_owns(evs[i].data.fd))
				ctl_accept();
			else if (mrec_owns(evs[i].data.fd))
				mrec_io();
			else
				ctl_io(evs[i].data.fd, evs[i].events);
		}
		now = media_now_us();
		if (now >= next_tick) {
			media.now_us = now;
			room_tick(now);
			net_flush();
			next_tick = now + MAIN_TICK_US;
		}
	}
}

int
main(int argc, char *argv[])
{
	struct epoll_event	ev;
	const char		*conf = NULL;
	int			ch;

	while ((ch = getopt(argc, argv, "c:")) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		default:
			fprintf(stderr, "usage: vb-media [-c media.conf]\n");
			return (2);
		}
	}
	TAILQ_INIT(&media.rooms);
	media.started = (uint64_t)time(NULL);
	if (main_conf(conf) == -1)
		return (1);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, main_signal);
	signal(SIGTERM, main_signal);
	if (sec_init() == -1 || dtls_init() == -1) {
		media_log("crypto setup failed");
		return (1);
	}
	if ((media.ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    net_open(media.conf.bind, media.conf.port) == -1) {
		media_log("udp %s:%d: %s", media.conf.bind, media.conf.port,
		    strerror(errno));
		return (1);
	}
	media.conf.port = main_bound_port();
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = media.udp;
	if (epoll_ctl(media.ep, EPOLL_CTL_ADD, media.udp, &ev) == -1 ||
	    ctl_open(media.conf.sock) == -1 || mrec_init() == -1) {
		media_log("control socket %s: %s", media.conf.sock,
		    strerror(errno));
		return (1);
	}
	media_log("version %s, udp %s:%d (advertised %s), control %s, "
	    "fingerprint %s", MEDIA_VERSION, media.conf.bind, media.conf.port,
	    media.conf.addr, media.conf.sock, dtls_fingerprint());
	main_loop();
	media_log("stopping");
	while (!TAILQ_EMPTY(&media.rooms))
		room_destroy(TAILQ_FIRST(&media.rooms));
	/* Recordings are complete (and reported) before the socket goes. */
	mrec_shutdown(30000);
	ctl_close_all();
	close(media.udp);
	return (0);
}
