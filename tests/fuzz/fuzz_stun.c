/*
 * libFuzzer harness for the relay's STUN parser (modules/media/stun.c):
 * any datagram whose first byte says STUN. Offsets it reports must lie
 * inside the message, and a request it takes must get a well-formed
 * answer that itself parses and verifies.
 */
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stun.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	key[] = "0123456789abcdefghijkl";
	struct stun_msg		m, r;
	struct sockaddr_in6	peer;
	uint8_t			out[STUN_MAX_MSG];
	size_t			n;

	if (size > STUN_MAX_MSG)
		return (0);
	if (stun_parse(&m, data, size) == -1)
		return (0);
	if (m.rawlen > size || (m.integrity_off != 0 &&
	    m.integrity_off + 24 > m.rawlen) || (m.fingerprint_off != 0 &&
	    m.fingerprint_off + 8 > m.rawlen))
		abort();
	if (m.username != NULL && (m.username < data ||
	    m.username + m.username_len > data + m.rawlen))
		abort();
	(void)stun_check_integrity(&m, key, strlen(key));
	(void)stun_check_fingerprint(&m);
	memset(&peer, 0, sizeof(peer));
	peer.sin6_family = AF_INET6;
	peer.sin6_port = htons(4242);
	memcpy(&peer.sin6_addr, m.tid, 12);
	n = stun_binding_success(out, sizeof(out), m.tid,
	    (struct sockaddr *)&peer, NULL, key, strlen(key));
	if (n == 0 || stun_parse(&r, out, n) == -1 ||
	    stun_check_integrity(&r, key, strlen(key)) == -1 ||
	    stun_check_fingerprint(&r) == -1 || !r.has_xor_mapped ||
	    memcmp(r.tid, m.tid, 12) != 0)
		abort();
	return (0);
}
