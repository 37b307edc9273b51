/*
 * libFuzzer harness for the SDP offer parser (modules/media/sdp.c): any
 * text the app could pass on. Whatever parses must have a bounded,
 * NUL-terminated view, and its answer, when one is written, must fit and
 * carry only what the relay supports.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sdp_offer	o;
	static char		ans[32768];
	struct sdp_local	l;
	char			err[128];
	const char		*p, *q;
	int			i, n;

	if (sdp_parse(&o, (const char *)data, size, err, sizeof(err)) == -1) {
		if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
			abort();
		return (0);
	}
	if (o.nmedia < 1 || o.nmedia > SDP_MAX_MEDIA || o.fplen == 0 ||
	    o.fplen > sizeof(o.fp) || strlen(o.ufrag) >= sizeof(o.ufrag))
		abort();
	for (i = 0; i < o.nmedia; i++)
		if (sdp_media_accepted(&o.m[i]) && (o.m[i].pt < 0 ||
		    o.m[i].pt > 127 || o.m[i].mid[0] == '\0'))
			abort();
	memset(&l, 0, sizeof(l));
	l.ufrag = "abcdefgh";
	l.pwd = "abcdefghijklmnopqrstuvwx";
	l.fingerprint = "AA:BB";
	l.addr = "192.0.2.1";
	l.port = 10000;
	l.cname = "c";
	l.stream = "vb";
	n = sdp_answer(&o, &l, ans, sizeof(ans));
	if (n < 0)
		return (0);
	if ((size_t)n != strlen(ans))
		abort();
	/* Visible text in lines, and only the codecs the relay forwards. */
	for (p = ans; *p != '\0'; p++)
		if ((*p < 0x20 || *p > 0x7e) && *p != '\r' && *p != '\n')
			abort();
	for (p = ans; (p = strstr(p, "\na=rtpmap:")) != NULL; p++) {
		q = strchr(p + 11, ' ');
		if (q == NULL || (strncmp(q, " opus/48000/2\r", 14) != 0 &&
		    strncmp(q, " VP8/90000\r", 11) != 0 &&
		    strncmp(q, " H264/90000\r", 12) != 0))
			abort();
	}
	return (0);
}
