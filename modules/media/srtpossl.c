/*
 * SRTP crypto on OpenSSL inside libsrtp2 (issue 4, "Performance").
 *
 * Debian's libsrtp2 2.5 is built on NSS, which sets up a fresh context,
 * takes locks and allocates for every packet. libsrtp2's crypto kernel is
 * pluggable and its public headers (srtp2/cipher.h, auth.h) declare the
 * cipher and auth type tables and srtp_replace_cipher_type() /
 * srtp_replace_auth_type(). This file gives the kernel libcrypto EVP
 * implementations of what our two profiles use:
 *
 *   SRTP_AES_GCM_128, SRTP_AES_GCM_256  AEAD_AES_128_GCM / _256_GCM
 *   SRTP_AES_ICM_128                    AES_CM_128_HMAC_SHA1_80, and the
 *                                       key derivation of every profile
 *   SRTP_HMAC_SHA1                      AES_CM_128_HMAC_SHA1_80
 *
 * The design follows libsrtp's own OpenSSL back end (crypto/cipher/
 * aes_gcm_ossl.c, aes_icm_ossl.c, crypto/hash/hmac_ossl.c in
 * github.com/cisco/libsrtp, BSD licence): the EVP context is made when
 * libsrtp allocates a cipher (once per session key), keyed at init, and
 * per packet only re-armed with the IV: no allocation, lock or key
 * schedule per packet. The algorithms are fetched once at registration.
 *
 * The kernel runs srtp_cipher_type_self_test() on each replacement with
 * the test vectors below, then the replaced NSS type's own vectors, and
 * refuses a type that fails either; srtpossl_register() then fails and the
 * relay does not start.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "srtpossl.h"

#define SRTPOSSL_GCM_IV		12
#define SRTPOSSL_GCM_SALT	12
#define SRTPOSSL_ICM_SALT	14
#define SRTPOSSL_SHA1_LEN	20
#define SRTPOSSL_HMAC_MAXKEY	64

struct srtpossl_gcm {
	srtp_cipher_t		 c;	/* first: libsrtp's handle */
	EVP_CIPHER_CTX		*ctx;
	int			 tag_len;
	srtp_cipher_direction_t	 dir;
};

struct srtpossl_icm {
	srtp_cipher_t		 c;
	EVP_CIPHER_CTX		*ctx;
	uint8_t			 offset[16];	/* salt, two zero octets */
	uint32_t		 first;		/* low 16 counter bits at set_iv */
	uint32_t		 used;		/* octets since set_iv */
};

struct srtpossl_hmac {
	srtp_auth_t		 a;
	EVP_MAC_CTX		*ctx;
};

static EVP_CIPHER	*srtpossl_evp_gcm128;
static EVP_CIPHER	*srtpossl_evp_gcm256;
static EVP_CIPHER	*srtpossl_evp_ctr128;
static EVP_MAC		*srtpossl_evp_hmac;
static int		 srtpossl_done;

/* AES-GCM (RFC 7714). The key given to init is the key then the salt. */

static srtp_err_status_t
srtpossl_gcm_alloc(srtp_cipher_t **cp, int key_len, int tag_len,
    const srtp_cipher_type_t *type, int algorithm, int want,
    EVP_CIPHER *evp)
{
	struct srtpossl_gcm	*g;

	*cp = NULL;
	if (key_len != want || (tag_len != 16 && tag_len != 8) || evp == NULL)
		return (srtp_err_status_bad_param);
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return (srtp_err_status_alloc_fail);
	if ((g->ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    !EVP_CipherInit_ex(g->ctx, evp, NULL, NULL, NULL, 1) ||
	    !EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_AEAD_SET_IVLEN,
	    SRTPOSSL_GCM_IV, NULL)) {
		EVP_CIPHER_CTX_free(g->ctx);
		free(g);
		return (srtp_err_status_alloc_fail);
	}
	g->tag_len = tag_len;
	g->dir = srtp_direction_any;
	g->c.type = type;
	g->c.state = g;
	g->c.key_len = key_len;
	g->c.algorithm = algorithm;
	*cp = &g->c;
	return (srtp_err_status_ok);
}

static srtp_err_status_t
srtpossl_gcm128_alloc(srtp_cipher_pointer_t *cp, int key_len, int tag_len)
{
	return (srtpossl_gcm_alloc(cp, key_len, tag_len, &srtpossl_aes_gcm_128,
	    SRTP_AES_GCM_128, 16 + SRTPOSSL_GCM_SALT, srtpossl_evp_gcm128));
}

static srtp_err_status_t
srtpossl_gcm256_alloc(srtp_cipher_pointer_t *cp, int key_len, int tag_len)
{
	return (srtpossl_gcm_alloc(cp, key_len, tag_len, &srtpossl_aes_gcm_256,
	    SRTP_AES_GCM_256, 32 + SRTPOSSL_GCM_SALT, srtpossl_evp_gcm256));
}

static srtp_err_status_t
srtpossl_gcm_dealloc(srtp_cipher_pointer_t c)
{
	struct srtpossl_gcm	*g;

	if (c == NULL)
		return (srtp_err_status_bad_param);
	g = c->state;
	EVP_CIPHER_CTX_free(g->ctx);	/* cleanses the key schedule */
	OPENSSL_cleanse(g, sizeof(*g));
	free(g);
	return (srtp_err_status_ok);
}

static srtp_err_status_t
srtpossl_gcm_init(void *state, const uint8_t *key)
{
	struct srtpossl_gcm	*g = state;

	g->dir = srtp_direction_any;
	if (!EVP_CipherInit_ex(g->ctx, NULL, NULL, key, NULL, 1))
		return (srtp_err_status_init_fail);
	return (srtp_err_status_ok);
}

static srtp_err_status_t
srtpossl_gcm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir)
{
	struct srtpossl_gcm	*g = state;

	if (dir != srtp_direction_encrypt && dir != srtp_direction_decrypt)
		return (srtp_err_status_bad_param);
	g->dir = srtp_direction_any;
	if (!EVP_CipherInit_ex(g->ctx, NULL, NULL, NULL, iv,
	    dir == srtp_direction_encrypt))
		return (srtp_err_status_init_fail);
	g->dir = dir;
	return (srtp_err_status_ok);
}

/* May be called more than once per packet (SRTCP: header, then trailer). */
static srtp_err_status_t
srtpossl_gcm_set_aad(void *state, const uint8_t *aad, uint32_t len)
{
	struct srtpossl_gcm	*g = state;
	int			 n;

	if (g->dir == srtp_direction_any || len > INT_MAX)
		return (srtp_err_status_bad_param);
	if (len == 0)
		return (srtp_err_status_ok);
	if (!EVP_CipherUpdate(g->ctx, NULL, &n, aad, (int)len) ||
	    n != (int)len)
		return (srtp_err_status_algo_fail);
	return (srtp_err_status_ok);
}

static srtp_err_status_t
srtpossl_gcm_encrypt(void *state, uint8_t *buf, unsigned int *len)
{
	struct srtpossl_gcm	*g = state;
	int			 n;

	if (g->dir != srtp_direction_encrypt || *len > INT_MAX)
		return (srtp_err_status_bad_param);
	if (*len == 0)
		return (srtp_err_status_ok);
	if (!EVP_CipherUpdate(g->ctx, buf, &n, buf, (int)*len) ||
	    n != (int)*len)
		return (srtp_err_status_cipher_fail);
	return (srtp_err_status_ok);
}

/* After encrypt: finishes the packet and writes the tag at tag. */
static srtp_err_status_t
srtpossl_gcm_get_tag(void *state, uint8_t *tag, uint32_t *len)
{
	struct srtpossl_gcm	*g = state;
	uint8_t			 rest[16];
	int			 n;

	if (g->dir != srtp_direction_encrypt)
		return (srtp_err_status_bad_param);
	g->dir = srtp_direction_any;
	if (!EVP_CipherFinal_ex(g->ctx, rest, &n) || n != 0 ||
	    !EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_AEAD_GET_TAG, g->tag_len,
	    tag))
		return (srtp_err_status_algo_fail);
	*len = (uint32_t)g->tag_len;
	return (srtp_err_status_ok);
}

/* In place; *len includes the tag, which is checked and cut off. */
static srtp_err_status_t
srtpossl_gcm_decrypt(void *state, uint8_t *buf, unsigned int *len)
{
	struct srtpossl_gcm	*g = state;
	uint8_t			 rest[16];
	unsigned int		 clen;
	int			 n;

	if (g->dir != srtp_direction_decrypt || *len > INT_MAX)
		return (srtp_err_status_bad_param);
	g->dir = srtp_direction_any;
	if (*len < (unsigned int)g->tag_len)
		return (srtp_err_status_auth_fail);
	clen = *len - (unsigned int)g->tag_len;
	if (!EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_AEAD_SET_TAG, g->tag_len,
	    buf + clen))
		return (srtp_err_status_algo_fail);
	if (clen > 0 && (!EVP_CipherUpdate(g->ctx, buf, &n, buf, (int)clen) ||
	    n != (int)clen))
		return (srtp_err_status_cipher_fail);
	if (EVP_CipherFinal_ex(g->ctx, rest, &n) <= 0)
		return (srtp_err_status_auth_fail);
	*len = clen;
	return (srtp_err_status_ok);
}

/*
 * AES-ICM (RFC 3711 4.1.1): AES-CTR from (salt << 16) XOR iv. SRTP counts
 * in the low 16 bits only; OpenSSL's CTR carries into the rest, so a run
 * that would wrap those 16 bits is refused as libsrtp's own ICM does.
 */

static srtp_err_status_t
srtpossl_icm_alloc(srtp_cipher_pointer_t *cp, int key_len, int tag_len)
{
	struct srtpossl_icm	*s;

	(void)tag_len;
	*cp = NULL;
	if (key_len != 16 + SRTPOSSL_ICM_SALT || srtpossl_evp_ctr128 == NULL)
		return (srtp_err_status_bad_param);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (srtp_err_status_alloc_fail);
	if ((s->ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    !EVP_EncryptInit_ex(s->ctx, srtpossl_evp_ctr128, NULL, NULL,
	    NULL)) {
		EVP_CIPHER_CTX_free(s->ctx);
		free(s);
		return (srtp_err_status_alloc_fail);
	}
	s->c.type = &srtpossl_aes_icm_128;
	s->c.state = s;
	s->c.key_len = key_len;
	s->c.algorithm = SRTP_AES_ICM_128;
	*cp = &s->c;
	return (srtp_err_status_ok);
}

static srtp_err_status_t
srtpossl_icm_dealloc(srtp_cipher_pointer_t c)
{
	struct srtpossl_icm	*s;

	if (c == NULL)
		return (srtp_err_status_bad_param);
	s = c->state;
	EVP_CIPHER_CTX_free(s->ctx);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
	return (srtp_err_status_ok);
}

static srtp_err_status_t
srtpossl_icm_init(void *state, const uint8_t *key)
{
	struct srtpossl_icm	*s = state;

	memset(s->offset, 0, sizeof(s->offset));
	memcpy(s->offset, key + 16, SRTPOSSL_ICM_SALT);
	if (!EVP_EncryptInit_ex(s->ctx, NULL, NULL, key, s->offset))
		return (srtp_err_status_init_fail);
	s->first = s->used = 0;
	return (srtp_err_status_ok);
}

static srtp_err_status_t
srtpossl_icm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir)
{
	struct srtpossl_icm	*s = state;
	uint8_t			 ctr[16];
	size_t			 i;

	(void)dir;	/* a stream cipher: both ways are the same */
	for (i = 0; i < sizeof(ctr); i++)
		ctr[i] = s->offset[i] ^ iv[i];
	if (!EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, ctr))
		return (srtp_err_status_init_fail);
	s->first = (uint32_t)ctr[14] << 8 | ctr[15];
	s->used = 0;
	return (srtp_err_status_ok);
}

static srtp_err_status_t
srtpossl_icm_encrypt(void *state, uint8_t *buf, unsigned int *len)
{
	struct srtpossl_icm	*s = state;
	int			 n;

	if (*len == 0)
		return (srtp_err_status_ok);
	/* Counter blocks from set_iv to the end of this run, 16 bits' worth. */
	if (*len > 0x100000 || s->first +
	    (s->used + *len + 15) / 16 > 0x10000)
		return (srtp_err_status_terminus);
	if (!EVP_EncryptUpdate(s->ctx, buf, &n, buf, (int)*len) ||
	    n != (int)*len)
		return (srtp_err_status_cipher_fail);
	s->used += *len;
	return (srtp_err_status_ok);
}

/* HMAC-SHA1 (RFC 2104), truncated to the profile's tag length. */

static srtp_err_status_t
srtpossl_hmac_alloc(srtp_auth_pointer_t *ap, int key_len, int out_len)
{
	struct srtpossl_hmac	*h;

	*ap = NULL;
	if (key_len < 0 || key_len > SRTPOSSL_HMAC_MAXKEY || out_len < 0 ||
	    out_len > SRTPOSSL_SHA1_LEN || srtpossl_evp_hmac == NULL)
		return (srtp_err_status_bad_param);
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return (srtp_err_status_alloc_fail);
	if ((h->ctx = EVP_MAC_CTX_new(srtpossl_evp_hmac)) == NULL) {
		free(h);
		return (srtp_err_status_alloc_fail);
	}
	h->a.type = &srtpossl_hmac_sha1;
	h->a.state = h;
	h->a.out_len = out_len;
	h->a.key_len = key_len;
	h->a.prefix_len = 0;
	*ap = &h->a;
	return (srtp_err_status_ok);
}

static srtp_err_status_t
srtpossl_hmac_dealloc(srtp_auth_pointer_t a)
{
	struct srtpossl_hmac	*h;

	if (a == NULL)
		return (srtp_err_status_bad_param);
	h = a->state;
	EVP_MAC_CTX_free(h->ctx);
	OPENSSL_cleanse(h, sizeof(*h));
	free(h);
	return (srtp_err_status_ok);
}

static srtp_err_status_t
srtpossl_hmac_init(void *state, const uint8_t *key, int key_len)
{
	struct srtpossl_hmac	*h = state;
	OSSL_PARAM		 params[2];

	if (key_len < 0 || key_len > SRTPOSSL_HMAC_MAXKEY)
		return (srtp_err_status_bad_param);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA1", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(h->ctx, key, (size_t)key_len, params))
		return (srtp_err_status_auth_fail);
	return (srtp_err_status_ok);
}

/* Per packet: back to the keyed state (the pads are kept, no rekeying). */
static srtp_err_status_t
srtpossl_hmac_start(void *state)
{
	struct srtpossl_hmac	*h = state;

	if (!EVP_MAC_init(h->ctx, NULL, 0, NULL))
		return (srtp_err_status_auth_fail);
	return (srtp_err_status_ok);
}

static srtp_err_status_t
srtpossl_hmac_update(void *state, const uint8_t *buf, int len)
{
	struct srtpossl_hmac	*h = state;

	if (len < 0)
		return (srtp_err_status_bad_param);
	if (!EVP_MAC_update(h->ctx, buf, (size_t)len))
		return (srtp_err_status_auth_fail);
	return (srtp_err_status_ok);
}

static srtp_err_status_t
srtpossl_hmac_compute(void *state, const uint8_t *buf, int len, int tag_len,
    uint8_t *tag)
{
	struct srtpossl_hmac	*h = state;
	uint8_t			 md[SRTPOSSL_SHA1_LEN];
	size_t			 n;

	if (len < 0 || tag_len < 0 || tag_len > SRTPOSSL_SHA1_LEN)
		return (srtp_err_status_bad_param);
	if (!EVP_MAC_update(h->ctx, buf, (size_t)len) ||
	    !EVP_MAC_final(h->ctx, md, &n, sizeof(md)) || n != sizeof(md))
		return (srtp_err_status_auth_fail);
	memcpy(tag, md, (size_t)tag_len);
	OPENSSL_cleanse(md, sizeof(md));
	return (srtp_err_status_ok);
}

/*
 * Known answers for the kernel's self-test. GCM: McGrew and Viega, "The
 * Galois/Counter Mode of Operation", test cases 4 (AES-128) and 16
 * (AES-256), the key followed by a 12-octet salt the cipher ignores, with
 * the 16- and the 8-octet tag. ICM: RFC 3711 appendix B.2. HMAC-SHA1:
 * RFC 2202 test cases 1 and 2.
 */

static const uint8_t srtpossl_gcm_pt[60] = {
	0xd9, 0x31, 0x32, 0x25, 0xf8, 0x84, 0x06, 0xe5, 0xa5, 0x59, 0x09, 0xc5,
	0xaf, 0xf5, 0x26, 0x9a, 0x86, 0xa7, 0xa9, 0x53, 0x15, 0x34, 0xf7, 0xda,
	0x2e, 0x4c, 0x30, 0x3d, 0x8a, 0x31, 0x8a, 0x72, 0x1c, 0x3c, 0x0c, 0x95,
	0x95, 0x68, 0x09, 0x53, 0x2f, 0xcf, 0x0e, 0x24, 0x49, 0xa6, 0xb5, 0x25,
	0xb1, 0x6a, 0xed, 0xf5, 0xaa, 0x0d, 0xe6, 0x57, 0xba, 0x63, 0x7b, 0x39
};
static const uint8_t srtpossl_gcm_aad[20] = {
	0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed, 0xfa, 0xce,
	0xde, 0xad, 0xbe, 0xef, 0xab, 0xad, 0xda, 0xd2
};
static uint8_t srtpossl_gcm_iv[16] = {
	0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88
};
static const uint8_t srtpossl_gcm128_key[28] = {
	0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94,
	0x67, 0x30, 0x83, 0x08,
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c
};
static const uint8_t srtpossl_gcm128_ct[76] = {
	0x42, 0x83, 0x1e, 0xc2, 0x21, 0x77, 0x74, 0x24, 0x4b, 0x72, 0x21, 0xb7,
	0x84, 0xd0, 0xd4, 0x9c, 0xe3, 0xaa, 0x21, 0x2f, 0x2c, 0x02, 0xa4, 0xe0,
	0x35, 0xc1, 0x7e, 0x23, 0x29, 0xac, 0xa1, 0x2e, 0x21, 0xd5, 0x14, 0xb2,
	0x54, 0x66, 0x93, 0x1c, 0x7d, 0x8f, 0x6a, 0x5a, 0xac, 0x84, 0xaa, 0x05,
	0x1b, 0xa3, 0x0b, 0x39, 0x6a, 0x0a, 0xac, 0x97, 0x3d, 0x58, 0xe0, 0x91,
	/* tag */
	0x5b, 0xc9, 0x4f, 0xbc, 0x32, 0x21, 0xa5, 0xdb, 0x94, 0xfa, 0xe9, 0x5a,
	0xe7, 0x12, 0x1a, 0x47
};
static const uint8_t srtpossl_gcm256_key[44] = {
	0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94,
	0x67, 0x30, 0x83, 0x08, 0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c,
	0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08,
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c
};
static const uint8_t srtpossl_gcm256_ct[76] = {
	0x52, 0x2d, 0xc1, 0xf0, 0x99, 0x56, 0x7d, 0x07, 0xf4, 0x7f, 0x37, 0xa3,
	0x2a, 0x84, 0x42, 0x7d, 0x64, 0x3a, 0x8c, 0xdc, 0xbf, 0xe5, 0xc0, 0xc9,
	0x75, 0x98, 0xa2, 0xbd, 0x25, 0x55, 0xd1, 0xaa, 0x8c, 0xb0, 0x8e, 0x48,
	0x59, 0x0d, 0xbb, 0x3d, 0xa7, 0xb0, 0x8b, 0x10, 0x56, 0x82, 0x88, 0x38,
	0xc5, 0xf6, 0x1e, 0x63, 0x93, 0xba, 0x7a, 0x0a, 0xbc, 0xc9, 0xf6, 0x62,
	/* tag */
	0x76, 0xfc, 0x6e, 0xce, 0x0f, 0x4e, 0x17, 0x68, 0xcd, 0xdf, 0x88, 0x53,
	0xbb, 0x2d, 0x55, 0x1b
};

static const srtp_cipher_test_case_t srtpossl_gcm128_test8 = {
	28, srtpossl_gcm128_key, srtpossl_gcm_iv, 60, srtpossl_gcm_pt,
	68, srtpossl_gcm128_ct, 20, srtpossl_gcm_aad, 8, NULL
};
static const srtp_cipher_test_case_t srtpossl_gcm128_test = {
	28, srtpossl_gcm128_key, srtpossl_gcm_iv, 60, srtpossl_gcm_pt,
	76, srtpossl_gcm128_ct, 20, srtpossl_gcm_aad, 16, &srtpossl_gcm128_test8
};
static const srtp_cipher_test_case_t srtpossl_gcm256_test8 = {
	44, srtpossl_gcm256_key, srtpossl_gcm_iv, 60, srtpossl_gcm_pt,
	68, srtpossl_gcm256_ct, 20, srtpossl_gcm_aad, 8, NULL
};
static const srtp_cipher_test_case_t srtpossl_gcm256_test = {
	44, srtpossl_gcm256_key, srtpossl_gcm_iv, 60, srtpossl_gcm_pt,
	76, srtpossl_gcm256_ct, 20, srtpossl_gcm_aad, 16, &srtpossl_gcm256_test8
};

static const uint8_t srtpossl_icm_key[30] = {
	0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88,
	0x09, 0xcf, 0x4f, 0x3c,
	0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb,
	0xfc, 0xfd
};
static uint8_t srtpossl_icm_iv[16];
static const uint8_t srtpossl_icm_pt[48];
static const uint8_t srtpossl_icm_ct[48] = {
	0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d,
	0xd9, 0x2b, 0x4e, 0xb4, 0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7,
	0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab, 0x41, 0xe9, 0x5b, 0x3b,
	0xb0, 0xa2, 0xe8, 0xdd, 0x47, 0x79, 0x01, 0xe4, 0xfc, 0xa8, 0x94, 0xc0
};
static const srtp_cipher_test_case_t srtpossl_icm_test = {
	30, srtpossl_icm_key, srtpossl_icm_iv, 48, srtpossl_icm_pt,
	48, srtpossl_icm_ct, 0, NULL, 0, NULL
};

static const uint8_t srtpossl_hmac_key1[20] = {
	0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
	0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b
};
static const uint8_t srtpossl_hmac_tag1[20] = {
	0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72, 0x64, 0xe2, 0x8b,
	0xc0, 0xb6, 0xfb, 0x37, 0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00
};
static const uint8_t srtpossl_hmac_tag2[20] = {
	0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74,
	0x16, 0xd5, 0xf1, 0x84, 0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79
};
static const srtp_auth_test_case_t srtpossl_hmac_test2 = {
	4, (const uint8_t *)"Jefe", 28,
	(const uint8_t *)"what do ya want for nothing?", 20, srtpossl_hmac_tag2,
	NULL
};
static const srtp_auth_test_case_t srtpossl_hmac_test = {
	20, srtpossl_hmac_key1, 8, (const uint8_t *)"Hi There", 20,
	srtpossl_hmac_tag1, &srtpossl_hmac_test2
};

const srtp_cipher_type_t srtpossl_aes_gcm_128 = {
	srtpossl_gcm128_alloc, srtpossl_gcm_dealloc, srtpossl_gcm_init,
	srtpossl_gcm_set_aad, srtpossl_gcm_encrypt, srtpossl_gcm_decrypt,
	srtpossl_gcm_set_iv, srtpossl_gcm_get_tag,
	"AES-128 GCM (OpenSSL, vb-media)", &srtpossl_gcm128_test,
	SRTP_AES_GCM_128
};

const srtp_cipher_type_t srtpossl_aes_gcm_256 = {
	srtpossl_gcm256_alloc, srtpossl_gcm_dealloc, srtpossl_gcm_init,
	srtpossl_gcm_set_aad, srtpossl_gcm_encrypt, srtpossl_gcm_decrypt,
	srtpossl_gcm_set_iv, srtpossl_gcm_get_tag,
	"AES-256 GCM (OpenSSL, vb-media)", &srtpossl_gcm256_test,
	SRTP_AES_GCM_256
};

const srtp_cipher_type_t srtpossl_aes_icm_128 = {
	srtpossl_icm_alloc, srtpossl_icm_dealloc, srtpossl_icm_init,
	NULL, srtpossl_icm_encrypt, srtpossl_icm_encrypt,
	srtpossl_icm_set_iv, NULL,
	"AES-128 ICM (OpenSSL, vb-media)", &srtpossl_icm_test,
	SRTP_AES_ICM_128
};

const srtp_auth_type_t srtpossl_hmac_sha1 = {
	srtpossl_hmac_alloc, srtpossl_hmac_dealloc, srtpossl_hmac_init,
	srtpossl_hmac_compute, srtpossl_hmac_update, srtpossl_hmac_start,
	"HMAC-SHA1 (OpenSSL, vb-media)", &srtpossl_hmac_test, SRTP_HMAC_SHA1
};

static const struct {
	const srtp_cipher_type_t	*type;
	const char			*name;
} srtpossl_ciphers[] = {
	{ &srtpossl_aes_icm_128, "AES-128-ICM" },
	{ &srtpossl_aes_gcm_128, "AES-128-GCM" },
	{ &srtpossl_aes_gcm_256, "AES-256-GCM" },
};

int
srtpossl_register(const char **err)
{
	size_t	i;

	if (srtpossl_done)
		return (0);
	*err = "OpenSSL has no AES-GCM, AES-CTR or HMAC";
	if (srtpossl_evp_gcm128 == NULL)
		srtpossl_evp_gcm128 = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	if (srtpossl_evp_gcm256 == NULL)
		srtpossl_evp_gcm256 = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	if (srtpossl_evp_ctr128 == NULL)
		srtpossl_evp_ctr128 = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
	if (srtpossl_evp_hmac == NULL)
		srtpossl_evp_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (srtpossl_evp_gcm128 == NULL || srtpossl_evp_gcm256 == NULL ||
	    srtpossl_evp_ctr128 == NULL || srtpossl_evp_hmac == NULL)
		return (-1);
	for (i = 0; i < sizeof(srtpossl_ciphers) / sizeof(srtpossl_ciphers[0]);
	    i++) {
		if (srtp_replace_cipher_type(srtpossl_ciphers[i].type,
		    srtpossl_ciphers[i].type->id) != srtp_err_status_ok) {
			*err = srtpossl_ciphers[i].name;
			return (-1);
		}
	}
	if (srtp_replace_auth_type(&srtpossl_hmac_sha1, SRTP_HMAC_SHA1) !=
	    srtp_err_status_ok) {
		*err = "HMAC-SHA1";
		return (-1);
	}
	srtpossl_done = 1;
	*err = NULL;
	return (0);
}
