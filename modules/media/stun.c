/*
 * STUN message parsing and building for ICE-lite (RFC 5389, RFC 8445).
 * Every read of the untrusted datagram is preceded by a length check.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include "stun.h"

#define STUN_FP_XOR	0x5354554eU

static uint16_t
rd16(const uint8_t *p)
{
	return ((uint16_t)p[0] << 8) | p[1];
}

static uint32_t
rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

static void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void
wr32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

/* RFC 7983: first byte 0..3, plus the magic cookie. */
int
stun_is(const uint8_t *p, size_t len)
{
	if (len < STUN_HDR || p[0] > 3)
		return (0);
	return (rd32(p + 4) == STUN_COOKIE);
}

static int
stun_xor_addr(struct stun_msg *m, const uint8_t *v, size_t vlen)
{
	struct sockaddr_in	*s4;
	struct sockaddr_in6	*s6;
	size_t			 i;
	uint16_t		 port;

	if (vlen < 4)
		return (-1);
	port = rd16(v + 2) ^ (STUN_COOKIE >> 16);
	memset(&m->xor_mapped, 0, sizeof(m->xor_mapped));
	if (v[1] == 0x01 && vlen == 8) {
		s4 = (struct sockaddr_in *)&m->xor_mapped;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = htonl(rd32(v + 4) ^ STUN_COOKIE);
	} else if (v[1] == 0x02 && vlen == 20) {
		s6 = (struct sockaddr_in6 *)&m->xor_mapped;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		for (i = 0; i < 16; i++)
			s6->sin6_addr.s6_addr[i] = v[4 + i] ^ (i < 4 ?
			    (uint8_t)(STUN_COOKIE >> (24 - 8 * i)) :
			    m->tid[i - 4]);
	} else
		return (-1);
	m->has_xor_mapped = 1;
	return (0);
}

/*
 * Walks the attributes. MESSAGE-INTEGRITY may only be followed by
 * FINGERPRINT, and FINGERPRINT must be last (RFC 5389 15.4, 15.5):
 * anything after them is ignored, as the RFC asks.
 */
int
stun_parse(struct stun_msg *m, const uint8_t *p, size_t len)
{
	size_t		 off, alen, total;
	uint16_t	 atype;
	const uint8_t	*v;

	memset(m, 0, sizeof(*m));
	if (!stun_is(p, len))
		return (-1);
	total = rd16(p + 2);
	if ((total & 3) != 0 || STUN_HDR + total > len)
		return (-1);
	m->raw = p;
	m->rawlen = STUN_HDR + total;
	m->type = rd16(p);
	m->tid = p + 8;

	for (off = STUN_HDR; off < m->rawlen; off += (alen + 3) & ~(size_t)3) {
		if (m->rawlen - off < 4)
			return (-1);
		atype = rd16(p + off);
		alen = rd16(p + off + 2);
		off += 4;
		if (alen > m->rawlen - off)
			return (-1);
		v = p + off;
		if (m->fingerprint_off != 0)
			break;
		if (m->integrity_off != 0 && atype != STUN_A_FINGERPRINT)
			continue;
		switch (atype) {
		case STUN_A_USERNAME:
			if (alen == 0 || alen > 513)
				return (-1);
			m->username = v;
			m->username_len = alen;
			break;
		case STUN_A_INTEGRITY:
			if (alen != 20)
				return (-1);
			m->integrity_off = off - 4;
			break;
		case STUN_A_FINGERPRINT:
			if (alen != 4)
				return (-1);
			m->fingerprint_off = off - 4;
			break;
		case STUN_A_PRIORITY:
			if (alen != 4)
				return (-1);
			m->priority = rd32(v);
			break;
		case STUN_A_USE_CANDIDATE:
			m->use_candidate = 1;
			break;
		case STUN_A_ICE_CONTROLLING:
			m->controlling = 1;
			break;
		case STUN_A_XOR_MAPPED:
			if (stun_xor_addr(m, v, alen) == -1)
				return (-1);
			break;
		default:
			break;
		}
	}
	return (0);
}

/*
 * HMAC-SHA1 over the message up to MESSAGE-INTEGRITY, with the header
 * length adjusted to end just after it (RFC 5389 15.4).
 */
static int
stun_hmac(const uint8_t *p, size_t upto, const void *key, size_t keylen,
    uint8_t out[20])
{
	uint8_t		 buf[STUN_MAX_MSG];
	unsigned int	 olen = 0;

	if (upto < STUN_HDR || upto > sizeof(buf) || keylen > 0x7fffffff)
		return (-1);
	memcpy(buf, p, upto);
	wr16(buf + 2, (uint16_t)(upto + 24 - STUN_HDR));
	if (HMAC(EVP_sha1(), key, (int)keylen, buf, upto, out, &olen) == NULL ||
	    olen != 20)
		return (-1);
	return (0);
}

int
stun_check_integrity(const struct stun_msg *m, const void *key, size_t keylen)
{
	uint8_t		mac[20];

	if (m->integrity_off == 0)
		return (-1);
	if (stun_hmac(m->raw, m->integrity_off, key, keylen, mac) == -1)
		return (-1);
	return (CRYPTO_memcmp(mac, m->raw + m->integrity_off + 4, 20) == 0 ?
	    0 : -1);
}

static uint32_t
stun_crc(const uint8_t *p, size_t upto)
{
	uint8_t		hdr[STUN_HDR];
	uLong		crc;

	memcpy(hdr, p, STUN_HDR);
	wr16(hdr + 2, (uint16_t)(upto + 8 - STUN_HDR));
	crc = crc32(0L, hdr, STUN_HDR);
	crc = crc32(crc, p + STUN_HDR, (uInt)(upto - STUN_HDR));
	return ((uint32_t)crc ^ STUN_FP_XOR);
}

int
stun_check_fingerprint(const struct stun_msg *m)
{
	if (m->fingerprint_off == 0)
		return (-1);
	return (stun_crc(m->raw, m->fingerprint_off) ==
	    rd32(m->raw + m->fingerprint_off + 4) ? 0 : -1);
}

/* Appends one attribute; padding bytes are spaces, like RFC 5769's. */
static size_t
stun_attr(uint8_t *out, size_t cap, size_t off, uint16_t type,
    const void *v, size_t vlen)
{
	size_t		padded = (vlen + 3) & ~(size_t)3;

	if (off == 0 || off > cap || vlen > 0xffff || cap - off < 4 + padded)
		return (0);
	wr16(out + off, type);
	wr16(out + off + 2, (uint16_t)vlen);
	if (vlen > 0)
		memcpy(out + off + 4, v, vlen);
	memset(out + off + 4 + vlen, 0x20, padded - vlen);
	return (off + 4 + padded);
}

/* MESSAGE-INTEGRITY (when a key is given) then FINGERPRINT. */
static size_t
stun_finish(uint8_t *out, size_t cap, size_t off, const void *key,
    size_t keylen)
{
	uint8_t		mac[20], crc[4];

	if (off == 0)
		return (0);
	if (key != NULL) {
		if (stun_hmac(out, off, key, keylen, mac) == -1)
			return (0);
		if ((off = stun_attr(out, cap, off, STUN_A_INTEGRITY,
		    mac, sizeof(mac))) == 0)
			return (0);
	}
	wr32(crc, stun_crc(out, off));
	if ((off = stun_attr(out, cap, off, STUN_A_FINGERPRINT, crc, 4)) == 0)
		return (0);
	wr16(out + 2, (uint16_t)(off - STUN_HDR));
	return (off);
}

static size_t
stun_header(uint8_t *out, size_t cap, uint16_t type, const uint8_t *tid)
{
	if (cap < STUN_HDR)
		return (0);
	wr16(out, type);
	wr16(out + 2, 0);
	wr32(out + 4, STUN_COOKIE);
	memcpy(out + 8, tid, 12);
	return (STUN_HDR);
}

/*
 * A binding success response carrying XOR-MAPPED-ADDRESS for the peer
 * (IPv4-mapped IPv6 addresses are reported as IPv4), an optional SOFTWARE,
 * MESSAGE-INTEGRITY with our password and FINGERPRINT. Returns the length.
 */
size_t
stun_binding_success(uint8_t *out, size_t cap, const uint8_t *tid,
    const struct sockaddr *peer, const char *software, const void *key,
    size_t keylen)
{
	const struct sockaddr_in	*s4;
	const struct sockaddr_in6	*s6;
	uint8_t				 xa[20];
	size_t				 off, xlen, i;
	uint32_t			 a4;

	if ((off = stun_header(out, cap, STUN_BINDING_SUCCESS, tid)) == 0)
		return (0);
	if (software != NULL)
		off = stun_attr(out, cap, off, STUN_A_SOFTWARE, software,
		    strlen(software));
	xa[0] = 0;
	if (peer->sa_family == AF_INET) {
		s4 = (const struct sockaddr_in *)peer;
		xa[1] = 0x01;
		wr16(xa + 2, ntohs(s4->sin_port) ^ (STUN_COOKIE >> 16));
		wr32(xa + 4, ntohl(s4->sin_addr.s_addr) ^ STUN_COOKIE);
		xlen = 8;
	} else if (peer->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)peer;
		wr16(xa + 2, ntohs(s6->sin6_port) ^ (STUN_COOKIE >> 16));
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			xa[1] = 0x01;
			memcpy(&a4, s6->sin6_addr.s6_addr + 12, 4);
			wr32(xa + 4, ntohl(a4) ^ STUN_COOKIE);
			xlen = 8;
		} else {
			xa[1] = 0x02;
			for (i = 0; i < 16; i++)
				xa[4 + i] = s6->sin6_addr.s6_addr[i] ^
				    (i < 4 ? (uint8_t)(STUN_COOKIE >>
				    (24 - 8 * i)) : tid[i - 4]);
			xlen = 20;
		}
	} else
		return (0);
	off = stun_attr(out, cap, off, STUN_A_XOR_MAPPED, xa, xlen);
	return (stun_finish(out, cap, off, key, keylen));
}

/*
 * A binding request as a full ICE agent sends it (used by the tests and
 * the load generator): USERNAME, PRIORITY, ICE-CONTROLLING and optionally
 * USE-CANDIDATE, integrity with the remote password, FINGERPRINT.
 */
size_t
stun_binding_request(uint8_t *out, size_t cap, const uint8_t *tid,
    const char *username, const char *software, uint32_t priority,
    int use_candidate, const void *key, size_t keylen)
{
	uint8_t		v[8];
	size_t		off;

	if ((off = stun_header(out, cap, STUN_BINDING_REQUEST, tid)) == 0)
		return (0);
	if (software != NULL)
		off = stun_attr(out, cap, off, STUN_A_SOFTWARE, software,
		    strlen(software));
	off = stun_attr(out, cap, off, STUN_A_USERNAME, username,
	    strlen(username));
	wr32(v, priority);
	off = stun_attr(out, cap, off, STUN_A_PRIORITY, v, 4);
	memset(v, 0, sizeof(v));
	off = stun_attr(out, cap, off, STUN_A_ICE_CONTROLLING, v, 8);
	if (use_candidate)
		off = stun_attr(out, cap, off, STUN_A_USE_CANDIDATE, NULL, 0);
	return (stun_finish(out, cap, off, key, keylen));
}
