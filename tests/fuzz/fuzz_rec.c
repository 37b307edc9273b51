/*
 * libFuzzer harness for the recording library (modules/media/rec*.c):
 * arbitrary packets to rec_rtp (Opus/Ogg and VP8/WebM) and rec_mix_rtp,
 * files under /tmp. The input is a list of records; each either is a raw
 * packet (the RTP parser's view) or has its header built from sequence
 * and timestamp deltas with the payload from the input, so that the
 * reordering, gap, depacketization and decoding paths are reached too.
 * Checks: no memory error or undefined behaviour, every close succeeds
 * and never leaves a .part, a kept file has the size and a 64-digit
 * hash rec_info reports.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../modules/media/rec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	paths[3][64];

static void
fuzz_done(const char *path, int rc, const struct rec_info *info)
{
	char		part[80];
	struct stat	st;

	snprintf(part, sizeof(part), "%s.part", path);
	if (rc != 0 || access(part, F_OK) == 0)
		abort();
	if (info->bytes > 0) {
		if (stat(path, &st) == -1 || (uint64_t)st.st_size != info->bytes ||
		    strlen(info->sha256) != 64)
			abort();
	} else if (access(path, F_OK) == 0) {
		abort();
	}
	unlink(path);
}

/* libFuzzer may exit in the middle of an input: leave nothing in /tmp. */
static void
fuzz_cleanup(void)
{
	char	part[80];
	int	k;

	for (k = 0; k < 3; k++) {
		unlink(paths[k]);
		snprintf(part, sizeof(part), "%s.part", paths[k]);
		unlink(part);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec	*r[2];
	struct rec_mix	*m;
	struct rec_info	 info;
	uint8_t		 pkt[12 + 256];
	uint16_t	 seq[4] = { 65000, 100, 65530, 7 };
	uint32_t	 ts[4] = { 0xffff0000u, 0, 0x7fffffffu, 12345 }, ssrc[4] = { 1, 2, 3, 4 };
	uint64_t	 now = 1000000;
	size_t		 len, i = 0;
	uint8_t		 op;
	int		 t, k;
	char		 err[128];

	if (paths[0][0] == '\0') {
		snprintf(paths[0], sizeof(paths[0]), "/tmp/fuzz_rec.%d.ogg", (int)getpid());
		snprintf(paths[1], sizeof(paths[1]), "/tmp/fuzz_rec.%d.webm", (int)getpid());
		snprintf(paths[2], sizeof(paths[2]), "/tmp/fuzz_rec.%d.mix.ogg", (int)getpid());
		atexit(fuzz_cleanup);
	}
	for (k = 0; k < 3; k++) {
		unlink(paths[k]);
		snprintf(err, sizeof(err), "%s.part", paths[k]);
		unlink(err);
	}
	r[0] = rec_open(paths[0], REC_OPUS_OGG, err, sizeof(err));
	r[1] = rec_open(paths[1], REC_VP8_WEBM, err, sizeof(err));
	m = rec_mix_open(paths[2], err, sizeof(err));
	if (r[0] == NULL || r[1] == NULL || m == NULL)
		abort();

	while (size - i >= 5) {
		op = data[i];
		t = op & 3;
		now += (uint64_t)(op >> 4) * 4000;
		if (data[i + 1] == 0x80)
			ssrc[t]++;
		seq[t] += (uint16_t)(int8_t)data[i + 1];
		ts[t] += (uint32_t)((int16_t)(data[i + 2] << 8 | data[i + 3]) * 10);
		len = data[i + 4];
		i += 5;
		if (len > size - i)
			len = size - i;
		if (op & 4) {
			memcpy(pkt, data + i, len);
		} else {
			pkt[0] = 0x80;
			pkt[1] = (uint8_t)((op & 8 ? 0x80 : 0) | (t == 1 ? 96 : 111));
			pkt[2] = seq[t] >> 8;
			pkt[3] = seq[t] & 0xff;
			pkt[4] = ts[t] >> 24;
			pkt[5] = (ts[t] >> 16) & 0xff;
			pkt[6] = (ts[t] >> 8) & 0xff;
			pkt[7] = ts[t] & 0xff;
			pkt[8] = ssrc[t] >> 24;
			pkt[9] = (ssrc[t] >> 16) & 0xff;
			pkt[10] = (ssrc[t] >> 8) & 0xff;
			pkt[11] = ssrc[t] & 0xff;
			memcpy(pkt + 12, data + i, len);
			len += 12;
		}
		i += op & 4 ? len : len - 12;
		if (t < 2)
			rec_rtp(r[t], pkt, len, now);
		else
			rec_mix_rtp(m, t - 2, pkt, len, now);
	}
	for (k = 0; k < 2; k++)
		fuzz_done(paths[k], rec_close(r[k], &info), &info);
	fuzz_done(paths[2], rec_mix_close(m, &info), &info);
	return (0);
}
