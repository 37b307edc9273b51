/*
 * SRTP/SRTCP for one participant through libsrtp2: one inbound session
 * (any SSRC the browser sends) and one outbound (any SSRC we send),
 * keyed from the DTLS-SRTP exporter (RFC 5764).
 */
#ifndef SEC_H
#define SEC_H

#include <stddef.h>
#include <stdint.h>

enum sec_profile { SEC_NONE, SEC_AES128_CM_SHA1_80, SEC_AEAD_AES_128_GCM };

#define SEC_MAX_KEY	16
#define SEC_MAX_SALT	14
#define SEC_MAX_TRAILER	16	/* tag; SRTCP adds 4 (E + index) more */

struct sec {
	void		*in;	/* srtp_t */
	void		*out;
	enum sec_profile profile;
};

int	sec_init(void);
size_t	sec_key_len(enum sec_profile);
size_t	sec_salt_len(enum sec_profile);
int	sec_start(struct sec *, enum sec_profile, const uint8_t *,
	    const uint8_t *, const uint8_t *, const uint8_t *);
void	sec_stop(struct sec *);
int	sec_unprotect_rtp(struct sec *, uint8_t *, size_t *);
int	sec_unprotect_rtcp(struct sec *, uint8_t *, size_t *);
int	sec_protect_rtp(struct sec *, uint8_t *, size_t *, size_t);
int	sec_protect_rtcp(struct sec *, uint8_t *, size_t *, size_t);
const char *sec_profile_name(enum sec_profile);

#endif
