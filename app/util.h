/*
 * Pure helpers with no Kore dependency, so unit tests build them alone:
 * a growable string buffer, JSON escaping, validators for untrusted input,
 * tokens and password hashing (libsodium), TOTP (liboath) and QR codes.
 */
#ifndef VB_UTIL_H
#define VB_UTIL_H

#include <stddef.h>
#include <stdint.h>

struct sbuf {
	char	*data;
	size_t	len;
	size_t	cap;
};

void	 sbuf_init(struct sbuf *);
void	 sbuf_free(struct sbuf *);
void	 sbuf_reset(struct sbuf *);
void	 sbuf_add(struct sbuf *, const void *, size_t);
void	 sbuf_adds(struct sbuf *, const char *);
void	 sbuf_addc(struct sbuf *, char);
void	 sbuf_addf(struct sbuf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 sbuf_json_str(struct sbuf *, const char *);
void	 sbuf_pg_elem(struct sbuf *, const char *);

int	 util_utf8_valid(const char *, size_t);
size_t	 util_utf8_chars(const char *);
int	 util_email_valid(const char *);
int	 util_origin_valid(const char *);
int	 util_slug_valid(const char *);
int	 util_perm_valid(const char *);
int	 util_time_valid(const char *);
int	 util_token_valid(const char *, size_t);
int	 util_digits(const char *, size_t);
int	 util_path_match(const char *, const char *, int64_t *, int *, int);

void	 util_hex(const unsigned char *, size_t, char *);
void	 util_random_token(char *, size_t);
void	 util_sha256_hex(const char *, size_t, char *);
void	 util_temp_password(char *, size_t);
int	 util_ct_equal(const char *, const char *);
void	 util_js_squeeze(struct sbuf *, const char *, size_t);
int	 util_gzip(struct sbuf *, const void *, size_t);
int	 util_accepts_gzip(const char *);

int	 pwd_init(void);
int	 pwd_hash(const char *, char *, size_t);
int	 pwd_verify(const char *, const char *);

#define TOTP_SECRET_LEN	20
void	 totp_secret(unsigned char *);
int	 totp_base32(const unsigned char *, size_t, char *, size_t);
int64_t	 totp_verify(const unsigned char *, size_t, const char *, int64_t);
int	 totp_code(const unsigned char *, size_t, int64_t, char *);
int	 totp_qr_svg(const char *, struct sbuf *);

#endif
