/*
 * The one UDP socket: batched receive (recvmmsg) into static buffers,
 * batched send (sendmmsg) from a static queue. Nothing here allocates.
 */
#define _GNU_SOURCE	/* recvmmsg, sendmmsg, accept4 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "media.h"

#define NET_BATCH	32
#define NET_QUEUE	128

static uint8_t			in_buf[NET_BATCH][MEDIA_BUF];
static struct sockaddr_storage	in_addr[NET_BATCH];
static struct iovec		in_iov[NET_BATCH];
static struct mmsghdr		in_msg[NET_BATCH];

static uint8_t			out_buf[NET_QUEUE][MEDIA_BUF];
static struct sockaddr_storage	out_addr[NET_QUEUE];
static struct iovec		out_iov[NET_QUEUE];
static struct mmsghdr		out_msg[NET_QUEUE];
static int			out_n;
static uint64_t			out_drops;

int
net_open(const char *bind_addr, int port)
{
	struct addrinfo	 hints, *res;
	char		 ps[16];
	int		 fd, off = 0, sz = 4 * 1024 * 1024;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	snprintf(ps, sizeof(ps), "%d", port);
	if (getaddrinfo(bind_addr, ps, &hints, &res) != 0)
		return (-1);
	fd = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		freeaddrinfo(res);
		return (-1);
	}
	/* No SO_REUSEADDR: on UDP it would let a second relay share the port. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	/* "::" serves IPv4 too, as IPv4-mapped addresses. */
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1) {
		close(fd);
		freeaddrinfo(res);
		return (-1);
	}
	freeaddrinfo(res);
	media.udp = fd;
	return (fd);
}

/* Points each receive iovec at its static buffer, once. */
static void
net_setup(void)
{
	int	i;

	for (i = 0; i < NET_BATCH; i++) {
		in_iov[i].iov_base = in_buf[i];
		in_iov[i].iov_len = sizeof(in_buf[i]);
	}
}

/*
 * Reads up to NET_BATCH datagrams and hands each to the demux; sends what
 * they produced in one sendmmsg. Returns the number read, 0 when the
 * socket is drained.
 */
int
net_recv(void)
{
	int	n, i;

	if (in_iov[0].iov_base == NULL)
		net_setup();
	for (i = 0; i < NET_BATCH; i++) {
		memset(&in_msg[i].msg_hdr, 0, sizeof(in_msg[i].msg_hdr));
		in_msg[i].msg_hdr.msg_name = &in_addr[i];
		in_msg[i].msg_hdr.msg_namelen = sizeof(in_addr[i]);
		in_msg[i].msg_hdr.msg_iov = &in_iov[i];
		in_msg[i].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(media.udp, in_msg, NET_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return (0);
	media.now_us = media_now_us();
	for (i = 0; i < n; i++) {
		/* Truncated datagrams (larger than our buffer) are garbage. */
		if (in_msg[i].msg_hdr.msg_flags & MSG_TRUNC) {
			media.garbage++;
			continue;
		}
		peer_datagram(in_buf[i], in_msg[i].msg_len,
		    (struct sockaddr *)&in_addr[i],
		    in_msg[i].msg_hdr.msg_namelen, media.now_us);
	}
	net_flush();
	return (n);
}

/* A free send buffer of MEDIA_BUF bytes; flushes when the queue is full. */
uint8_t *
net_slot(void)
{
	if (out_n == NET_QUEUE)
		net_flush();
	return (out_buf[out_n]);
}

/* Queues the slot net_slot() returned, with its length and destination. */
void
net_send(const struct sockaddr *to, socklen_t tolen, size_t len)
{
	if (len == 0 || len > MEDIA_BUF || tolen > sizeof(out_addr[0]))
		return;
	memcpy(&out_addr[out_n], to, tolen);
	out_iov[out_n].iov_base = out_buf[out_n];
	out_iov[out_n].iov_len = len;
	memset(&out_msg[out_n].msg_hdr, 0, sizeof(out_msg[out_n].msg_hdr));
	out_msg[out_n].msg_hdr.msg_name = &out_addr[out_n];
	out_msg[out_n].msg_hdr.msg_namelen = tolen;
	out_msg[out_n].msg_hdr.msg_iov = &out_iov[out_n];
	out_msg[out_n].msg_hdr.msg_iovlen = 1;
	out_n++;
	if (out_n == NET_QUEUE)
		net_flush();
}

void
net_flush(void)
{
	int	off = 0, n;

	while (off < out_n) {
		n = sendmmsg(media.udp, out_msg + off, out_n - off, 0);
		if (n <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			/* EAGAIN or an unreachable peer: skip one, go on. */
			out_drops++;
			off++;
			continue;
		}
		off += n;
	}
	out_n = 0;
}

uint64_t
net_drops(void)
{
	return (out_drops);
}
