/* Process-wide helpers: the clock, logging, randomness, the global state. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/rand.h>

#include "media.h"

struct media	media;

uint64_t
media_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

void
media_log(const char *fmt, ...)
{
	va_list		ap;
	struct timespec	ts;
	struct tm	tm;
	char		when[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ vb-media: ", when, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Unpredictable: ICE passwords and SSRCs must not be guessable. */
void
media_random(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1) {
		media_log("RAND_bytes failed");
		abort();
	}
}
