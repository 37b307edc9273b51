/*
 * TOTP second factor (RFC 6238, 30 s steps, 6 digits) with liboath, and the
 * enrolment QR code drawn as SVG from libqrencode's module matrix.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <liboath/oath.h>
#include <qrencode.h>
#include <sodium.h>

#include "util.h"

void
totp_secret(unsigned char *out)
{
	randombytes_buf(out, TOTP_SECRET_LEN);
}

int
totp_base32(const unsigned char *s, size_t len, char *out, size_t outlen)
{
	char	*b32 = NULL;
	size_t	 n;

	if (oath_base32_encode((const char *)s, len, &b32, &n) != OATH_OK)
		return (0);
	/* Authenticator apps want it without '=' padding. */
	while (n > 0 && b32[n - 1] == '=')
		n--;
	if (n + 1 > outlen) {
		free(b32);
		return (0);
	}
	memcpy(out, b32, n);
	out[n] = '\0';
	free(b32);
	return (1);
}

/*
 * Accepts the current step and one either side for clock drift. Returns the
 * matched time step (so the caller can refuse its reuse), or -1.
 */
int64_t
totp_verify(const unsigned char *s, size_t len, const char *code, int64_t now)
{
	int	pos = 0;

	if (!util_digits(code, 6) || now < 0)
		return (-1);
	if (oath_init() != OATH_OK)
		return (-1);
	if (oath_totp_validate2((const char *)s, len, (time_t)now, 30, 0, 1, &pos,
	    code) < 0)
		return (-1);
	return (now / 30 + pos);
}

int
totp_code(const unsigned char *s, size_t len, int64_t now, char *out)
{
	if (oath_init() != OATH_OK)
		return (0);
	return (oath_totp_generate((const char *)s, len, (time_t)now, 30, 0, 6,
	    out) == OATH_OK);
}

int
totp_qr_svg(const char *text, struct sbuf *out)
{
	QRcode	*qr;
	int	 x, y, w;

	if ((qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1)) == NULL)
		return (0);
	w = qr->width;
	sbuf_addf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	    "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
	    "<path fill=\"#000\" d=\"", w + 8, w + 8, w + 8, w + 8);
	for (y = 0; y < w; y++) {
		for (x = 0; x < w; x++) {
			if (qr->data[y * w + x] & 1)
				sbuf_addf(out, "M%d %dh1v1h-1z", x + 4, y + 4);
		}
	}
	sbuf_adds(out, "\"/></svg>");
	QRcode_free(qr);
	return (1);
}
