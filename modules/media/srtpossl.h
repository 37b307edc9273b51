/*
 * SRTP primitives on OpenSSL (libcrypto EVP) for libsrtp2's crypto kernel:
 * AES-128/256-GCM, AES-128-ICM (the CM profile and libsrtp's key
 * derivation for every profile) and HMAC-SHA1, replacing the NSS ones
 * Debian's libsrtp2 is built with. libsrtp2 keeps the protocol (key
 * derivation, replay window, ROC, packet formats). See docs/media.md.
 */
#ifndef SRTPOSSL_H
#define SRTPOSSL_H

#include <srtp2/auth.h>
#include <srtp2/cipher.h>

extern const srtp_cipher_type_t	srtpossl_aes_gcm_128;
extern const srtp_cipher_type_t	srtpossl_aes_gcm_256;
extern const srtp_cipher_type_t	srtpossl_aes_icm_128;
extern const srtp_auth_type_t	srtpossl_hmac_sha1;

/* After srtp_init(): 0, or -1 and a message in *err. Idempotent. */
int	srtpossl_register(const char **err);

#endif
