/*
 * STUN (RFC 5389) as ICE-lite needs it: parse a binding request, check
 * MESSAGE-INTEGRITY and FINGERPRINT, build a binding success response.
 * Pure: no sockets; HMAC-SHA1 from libcrypto, CRC32 from zlib.
 */
#ifndef STUN_H
#define STUN_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define STUN_HDR		20
#define STUN_MAX_MSG		2048
#define STUN_COOKIE		0x2112A442U
#define STUN_BINDING_REQUEST	0x0001
#define STUN_BINDING_SUCCESS	0x0101
#define STUN_BINDING_ERROR	0x0111
#define STUN_BINDING_INDICATION	0x0011

#define STUN_A_MAPPED_ADDRESS	0x0001
#define STUN_A_USERNAME		0x0006
#define STUN_A_INTEGRITY	0x0008
#define STUN_A_ERROR_CODE	0x0009
#define STUN_A_XOR_MAPPED	0x0020
#define STUN_A_PRIORITY		0x0024
#define STUN_A_USE_CANDIDATE	0x0025
#define STUN_A_SOFTWARE		0x8022
#define STUN_A_FINGERPRINT	0x8028
#define STUN_A_ICE_CONTROLLED	0x8029
#define STUN_A_ICE_CONTROLLING	0x802A

struct stun_msg {
	const uint8_t		*raw;
	size_t			 rawlen;	/* header + attributes */
	uint16_t		 type;
	const uint8_t		*tid;		/* 12 bytes inside raw */
	const uint8_t		*username;
	size_t			 username_len;
	size_t			 integrity_off;	/* 0: absent */
	size_t			 fingerprint_off;	/* 0: absent */
	int			 use_candidate;
	int			 controlling;
	uint32_t		 priority;
	int			 has_xor_mapped;
	struct sockaddr_storage	 xor_mapped;
};

int	stun_is(const uint8_t *, size_t);
int	stun_parse(struct stun_msg *, const uint8_t *, size_t);
int	stun_check_integrity(const struct stun_msg *, const void *, size_t);
int	stun_check_fingerprint(const struct stun_msg *);
size_t	stun_binding_success(uint8_t *, size_t, const uint8_t *,
	    const struct sockaddr *, const char *, const void *, size_t);
size_t	stun_binding_request(uint8_t *, size_t, const uint8_t *,
	    const char *, const char *, uint32_t, int, const void *, size_t);

#endif
