/*
 * DTLS-SRTP server (RFC 5763/5764) with OpenSSL over memory BIOs: the
 * relay feeds datagrams in and takes datagrams out, so one UDP socket
 * serves every participant. One certificate for the process.
 */
#ifndef DTLS_H
#define DTLS_H

#include <stddef.h>
#include <stdint.h>

#include "sec.h"

enum dtls_state { DTLS_NONE, DTLS_HANDSHAKE, DTLS_DONE, DTLS_FAILED,
	DTLS_CLOSED };

struct dtls {
	void			*ssl;		/* SSL * */
	enum dtls_state		 state;
	char			 fp_alg[16];
	uint8_t			 fp[64];	/* expected peer fingerprint */
	size_t			 fplen;
	enum sec_profile	 profile;
	/* client key, server key, client salt, server salt (RFC 5764 4.2) */
	uint8_t			 keys[2 * (SEC_MAX_KEY + SEC_MAX_SALT)];
	char			 err[128];
};

int	dtls_init(void);
const char *dtls_fingerprint(void);
int	dtls_new(struct dtls *, const char *, const uint8_t *, size_t);
void	dtls_free(struct dtls *);
int	dtls_input(struct dtls *, const uint8_t *, size_t);
size_t	dtls_output(struct dtls *, uint8_t *, size_t);
int	dtls_timer(struct dtls *);
int	dtls_sec_start(struct dtls *, struct sec *);

#endif
