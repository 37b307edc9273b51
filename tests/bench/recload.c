/*
 * Recording library load (tests/bench/rec.sh): many recordings written at
 * once, as fast as the library takes them, timing every call the relay's
 * loop would make. Prints "name: value unit" lines.
 *
 *   recload DIR OPUS_STREAMS VP8_STREAMS MIXES SECONDS
 *
 * Opus: real libopus packets (20 ms, 32 kbit/s). VP8: a 720p-like stream,
 * 30 frames/s of three ~1100-byte packets, a keyframe every 2 s (the
 * bytes are not decodable video; the recorder never decodes VP8). Mix:
 * both sides decoded and the stereo mix re-encoded. For comparison the
 * same bytes are also written with plain write() from this thread.
 */
#define _GNU_SOURCE
#include <sys/resource.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <opus/opus.h>

#include "../../modules/media/rec.h"

static double	*lat;
static size_t	 nlat, caplat;
static long	 ivcsw0;

/* Times this thread was preempted: a slow call may just be the scheduler. */
static long
ivcsw(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_THREAD, &ru);
	return (ru.ru_nivcsw);
}

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

static void
lat_add(double us)
{
	if (nlat == caplat) {
		caplat = caplat ? caplat * 2 : 1 << 16;
		if ((lat = realloc(lat, caplat * sizeof(*lat))) == NULL)
			exit(1);
	}
	lat[nlat++] = us;
}

/* Resident memory of the process in kB. */
static long
rss_kb(void)
{
	FILE	*fp = fopen("/proc/self/statm", "r");
	long	 size = 0, res = 0;

	if (fp != NULL) {
		if (fscanf(fp, "%ld %ld", &size, &res) != 2)
			res = 0;
		fclose(fp);
	}
	return (res * (sysconf(_SC_PAGESIZE) / 1024));
}

static int
cmpd(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

static void
lat_report(const char *name, double total_us, double units, const char *unit)
{
	size_t	i, slow = 0;

	qsort(lat, nlat, sizeof(*lat), cmpd);
	for (i = 0; i < nlat; i++)
		slow += lat[i] > 1000;
	printf("%s: %.2f %s\n", name, total_us / units, unit);
	printf("%s_call_p99: %.1f us\n", name, lat[(size_t)(nlat * 0.99)]);
	printf("%s_call_max: %.1f us\n", name, lat[nlat - 1]);
	printf("%s_calls_over_1ms: %zu of %zu (thread preempted %ld times meanwhile)\n",
	    name, slow, nlat, ivcsw() - ivcsw0);
	nlat = 0;
}

static size_t
rtp(uint8_t *b, int pt, uint16_t seq, uint32_t ts, uint32_t ssrc, int marker,
    const uint8_t *payload, size_t len)
{
	b[0] = 0x80;
	b[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
	b[2] = seq >> 8;
	b[3] = seq & 0xff;
	b[4] = ts >> 24;
	b[5] = (ts >> 16) & 0xff;
	b[6] = (ts >> 8) & 0xff;
	b[7] = ts & 0xff;
	b[8] = ssrc >> 24;
	b[9] = (ssrc >> 16) & 0xff;
	b[10] = (ssrc >> 8) & 0xff;
	b[11] = ssrc & 0xff;
	memcpy(b + 12, payload, len);
	return (12 + len);
}

#define NOPUS	250		/* 5 s of packets, reused */

static uint8_t	opus_pkt[NOPUS][400];
static int	opus_len[NOPUS];

static void
opus_make(void)
{
	OpusEncoder	*enc;
	opus_int16	 pcm[960];
	int		 i, j, e;

	enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &e);
	opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000));
	for (i = 0; i < NOPUS; i++) {
		for (j = 0; j < 960; j++)
			pcm[j] = (opus_int16)(6000 * sin(2 * M_PI * (300 + i) * (i * 960 + j) / 48000) +
			    (rand() % 600));
		opus_len[i] = opus_encode(enc, pcm, 960, opus_pkt[i], 400);
	}
	opus_encoder_destroy(enc);
}

static void
close_report(const char *name, double *ms, int n)
{
	qsort(ms, (size_t)n, sizeof(*ms), cmpd);
	printf("%s_close_p50: %.1f ms\n", name, ms[n / 2]);
	printf("%s_close_max: %.1f ms\n", name, ms[n - 1]);
}

static void
bench_opus(const char *dir, int streams, int secs)
{
	struct rec	**r = calloc((size_t)streams, sizeof(*r));
	struct rec_info	 info;
	double		 total = 0, *cl = calloc((size_t)streams, sizeof(double));
	uint8_t		 b[1500];
	char		 path[512], err[128];
	uint64_t	 t, bytes = 0;
	long		 rss0;
	size_t		 n;
	int		 s, i;

	rss0 = rss_kb();
	for (s = 0; s < streams; s++) {
		snprintf(path, sizeof(path), "%s/o%d.ogg", dir, s);
		if ((r[s] = rec_open(path, REC_OPUS_OGG, err, sizeof(err))) == NULL) {
			fprintf(stderr, "recload: %s\n", err);
			exit(1);
		}
	}
	ivcsw0 = ivcsw();
	for (i = 0; i < secs * 50; i++) {
		for (s = 0; s < streams; s++) {
			n = rtp(b, 111, (uint16_t)i, (uint32_t)i * 960, (uint32_t)s, 0,
			    opus_pkt[i % NOPUS], (size_t)opus_len[i % NOPUS]);
			t = now_ns();
			rec_rtp(r[s], b, n, (uint64_t)i * 20000);
			t = now_ns() - t;
			total += t / 1000.0;
			lat_add(t / 1000.0);
		}
	}
	lat_report("rec_opus_write", total, (double)streams * secs * 50, "us/packet");
	printf("rec_opus_memory: %ld kB/recording\n", (rss_kb() - rss0) / streams);
	for (s = 0; s < streams; s++) {
		t = now_ns();
		if (rec_close(r[s], &info) != 0) {
			fprintf(stderr, "recload: rec_close failed\n");
			exit(1);
		}
		cl[s] = (now_ns() - t) / 1e6;
		bytes += info.bytes;
	}
	close_report("rec_opus", cl, streams);
	printf("rec_opus_bytes_per_minute: %.0f kB\n", bytes / 1000.0 / streams / (secs / 60.0));
	free(r);
	free(cl);
}

static void
bench_vp8(const char *dir, int streams, int secs)
{
	struct rec	**r = calloc((size_t)streams, sizeof(*r));
	struct rec_info	 info;
	double		 total = 0, *cl = calloc((size_t)streams, sizeof(double));
	uint8_t		 b[1500], pl[1200];
	char		 path[512], err[128];
	uint64_t	 t;
	size_t		 n;
	uint16_t	*seq = calloc((size_t)streams, sizeof(*seq));
	long		 rss0;
	int		 s, f, k;

	for (k = 0; k < (int)sizeof(pl); k++)
		pl[k] = (uint8_t)rand();
	rss0 = rss_kb();
	for (s = 0; s < streams; s++) {
		snprintf(path, sizeof(path), "%s/v%d.webm", dir, s);
		if ((r[s] = rec_open(path, REC_VP8_WEBM, err, sizeof(err))) == NULL) {
			fprintf(stderr, "recload: %s\n", err);
			exit(1);
		}
	}
	ivcsw0 = ivcsw();
	for (f = 0; f < secs * 30; f++) {
		for (s = 0; s < streams; s++) {
			t = now_ns();
			for (k = 0; k < 3; k++) {
				pl[0] = k == 0 ? 0x10 : 0x00;		/* S, PID 0 */
				if (k == 0) {
					/* VP8 frame tag; keyframes carry the 1280x720 header. */
					pl[1] = f % 60 == 0 ? 0x00 : 0x01;
					memcpy(pl + 4, "\x9d\x01\x2a\x00\x05\xd0\x02", 7);
				}
				n = rtp(b, 96, seq[s]++, (uint32_t)f * 3000, (uint32_t)s, k == 2,
				    pl, 1100);
				rec_rtp(r[s], b, n, (uint64_t)f * 33333);
			}
			t = now_ns() - t;
			total += t / 1000.0;
			lat_add(t / 1000.0);
		}
	}
	lat_report("rec_vp8_write", total, (double)streams * secs * 30, "us/frame");
	printf("rec_vp8_memory: %ld kB/recording\n", (rss_kb() - rss0) / streams);
	for (s = 0; s < streams; s++) {
		t = now_ns();
		if (rec_close(r[s], &info) != 0) {
			fprintf(stderr, "recload: rec_close failed\n");
			exit(1);
		}
		cl[s] = (now_ns() - t) / 1e6;
	}
	close_report("rec_vp8", cl, streams);
	free(r);
	free(cl);
	free(seq);
}

static double
cpu_us(clockid_t id)
{
	struct timespec	ts;

	clock_gettime(id, &ts);
	return (ts.tv_sec * 1e6 + ts.tv_nsec / 1e3);
}

/*
 * Mixes run in real time (a tick every 20 ms, two packets per mix), as
 * the relay would feed them: the caller's cost per call, the mixer
 * threads' CPU per mix and 20 ms, and packets refused for a full queue.
 */
static void
bench_mix(const char *dir, int mixes, int secs)
{
	struct rec_mix	**m = calloc((size_t)mixes, sizeof(*m));
	struct rec_info	  info;
	struct timespec	  next;
	double		  total = 0, *cl = calloc((size_t)mixes, sizeof(double)), p0, t0, mixcpu;
	uint8_t		  b[1500];
	char		  path[512], err[128];
	uint64_t	  t, dropped = 0;
	long		  rss0;
	size_t		  n;
	int		  s, i, c;

	rss0 = rss_kb();
	for (s = 0; s < mixes; s++) {
		snprintf(path, sizeof(path), "%s/m%d.ogg", dir, s);
		if ((m[s] = rec_mix_open(path, err, sizeof(err))) == NULL) {
			fprintf(stderr, "recload: %s\n", err);
			exit(1);
		}
	}
	p0 = cpu_us(CLOCK_PROCESS_CPUTIME_ID);
	t0 = cpu_us(CLOCK_THREAD_CPUTIME_ID);
	clock_gettime(CLOCK_MONOTONIC, &next);
	ivcsw0 = ivcsw();
	for (i = 0; i < secs * 50; i++) {
		for (s = 0; s < mixes; s++) {
			t = now_ns();
			for (c = 0; c < 2; c++) {
				n = rtp(b, 111, (uint16_t)i, (uint32_t)i * 960, (uint32_t)c, 0,
				    opus_pkt[(i + c * 77) % NOPUS], (size_t)opus_len[(i + c * 77) % NOPUS]);
				rec_mix_rtp(m[s], c, b, n, (uint64_t)i * 20000 + (uint64_t)c * 3000);
			}
			t = now_ns() - t;
			total += t / 1000.0;
			lat_add(t / 1000.0);
		}
		next.tv_nsec += 20000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	lat_report("rec_mix_enqueue", total, (double)mixes * secs * 50, "us/20ms");
	printf("rec_mix_memory: %ld kB/mix\n", (rss_kb() - rss0) / mixes);
	for (s = 0; s < mixes; s++) {
		t = now_ns();
		if (rec_mix_close(m[s], &info) != 0) {
			fprintf(stderr, "recload: rec_mix_close failed\n");
			exit(1);
		}
		cl[s] = (now_ns() - t) / 1e6;
		dropped += info.dropped;
	}
	mixcpu = (cpu_us(CLOCK_PROCESS_CPUTIME_ID) - p0) - (cpu_us(CLOCK_THREAD_CPUTIME_ID) - t0);
	printf("rec_mix: %.1f us/20ms (mixer thread CPU per mix, decode 2 + encode stereo)\n",
	    mixcpu / ((double)mixes * secs * 50));
	printf("rec_mix_per_core: %.0f mixes\n", 20000.0 / (mixcpu / ((double)mixes * secs * 50)));
	printf("rec_mix_dropped: %llu packets (mixer behind)\n", (unsigned long long)dropped);
	close_report("rec_mix", cl, mixes);
	free(m);
	free(cl);
}

/*
 * For comparison: 256 MiB written with plain write() in 64 KiB pieces on
 * this thread, what a recorder without the writer thread would do.
 */
static void
bench_direct(const char *dir)
{
	static uint8_t	buf[65536];
	char		path[512];
	uint64_t	t;
	int		fd, i;

	memset(buf, 0x5a, sizeof(buf));
	snprintf(path, sizeof(path), "%s/direct", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		return;
	for (i = 0; i < 4096; i++) {
		t = now_ns();
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			break;
		lat_add((now_ns() - t) / 1000.0);
	}
	close(fd);
	unlink(path);
	if (nlat == 0)
		return;
	qsort(lat, nlat, sizeof(*lat), cmpd);
	printf("direct_write_64k_p99: %.1f us\n", lat[(size_t)(nlat * 0.99)]);
	printf("direct_write_64k_max: %.1f us\n", lat[nlat - 1]);
	nlat = 0;
}

int
main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: recload DIR OPUS VP8 MIXES SECONDS\n");
		return (1);
	}
	opus_make();
	bench_opus(argv[1], atoi(argv[2]), atoi(argv[5]));
	bench_vp8(argv[1], atoi(argv[3]), atoi(argv[5]));
	bench_mix(argv[1], atoi(argv[4]), atoi(argv[5]));
	bench_direct(argv[1]);
	return (0);
}
