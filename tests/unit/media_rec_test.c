/*
 * Recording library (modules/media/rec*.c): real Opus and VP8 streams are
 * encoded here with libopus and libvpx, packetized as a browser would
 * (RFC 7587, RFC 7741), disturbed (loss, gaps, reordering, duplicates,
 * sequence wrap-around) and fed to rec_*; the files are read back with
 * libopusfile and libavformat and checked.
 */
#include <sys/stat.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <opus/opus.h>
#include <opus/opusfile.h>
#include <ogg/ogg.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>
#include <libavformat/avformat.h>
#include <openssl/evp.h>

#include "check.h"
#include "../../modules/media/rec.h"

#define RATE	48000
#define FRAME	960

static char	dir[] = "/tmp/media_rec_test.XXXXXX";

struct pkt {
	uint8_t		data[1500];
	size_t		len;
	uint64_t	arrival;
	int		frame;		/* VP8: frame index */
};

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

/* n 20 ms Opus packets of a sine at freq (mono, 32 kbit/s). */
static int
opus_sine(double freq, int n, uint8_t (*out)[400], int *lens)
{
	OpusEncoder	*enc;
	opus_int16	 pcm[FRAME];
	int		 i, j, e;

	if ((enc = opus_encoder_create(RATE, 1, OPUS_APPLICATION_VOIP, &e)) == NULL)
		return (-1);
	opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000));
	for (i = 0; i < n; i++) {
		for (j = 0; j < FRAME; j++)
			pcm[j] = (opus_int16)(8000 * sin(2 * M_PI * freq * (i * FRAME + j) / RATE));
		if ((lens[i] = opus_encode(enc, pcm, FRAME, out[i], 400)) <= 0)
			return (-1);
	}
	opus_encoder_destroy(enc);
	return (0);
}

/* Relative power at freq: about 1 for a pure tone, about 0 without it. */
static double
goertzel(const float *x, int n, int stride, double freq)
{
	double	w = 2 * M_PI * freq / RATE, c = 2 * cos(w), s0, s1 = 0, s2 = 0, e = 0, p;
	int	i;

	for (i = 0; i < n; i++) {
		s0 = x[i * stride] + c * s1 - s2;
		s2 = s1;
		s1 = s0;
		e += (double)x[i * stride] * x[i * stride];
	}
	if (e == 0)
		return (0);
	p = s1 * s1 + s2 * s2 - c * s1 * s2;
	return (2 * p / ((double)n * e));
}

static double
rms(const float *x, int n, int stride)
{
	double	e = 0;
	int	i;

	for (i = 0; i < n; i++)
		e += (double)x[i * stride] * x[i * stride];
	return (n > 0 ? sqrt(e / n) : 0);
}

/* Decodes a whole Ogg Opus file; returns samples per channel or -1. */
static long
opus_read_all(const char *path, float **pcm, int *channels)
{
	OggOpusFile	*of;
	long		 total, got = 0;
	int		 e, n;

	if ((of = op_open_file(path, &e)) == NULL)
		return (-1);
	total = (long)op_pcm_total(of, -1);
	*channels = op_channel_count(of, -1);
	*pcm = calloc((size_t)(total + 5760) * (size_t)*channels, sizeof(float));
	while ((n = op_read_float(of, *pcm + got * *channels, (int)((total + 5760 - got) * *channels), NULL)) > 0)
		got += n;
	op_free(of);
	return (n < 0 ? -1 : got);
}

/*
 * Samples trimmed from the end of an Ogg Opus file: what its packets hold
 * minus the last granule position. RFC 7845 4.4 allows trimming within
 * the last packet; opusinfo warns about more.
 */
static long
ogg_end_trim(const char *path)
{
	ogg_sync_state		 oy;
	ogg_stream_state	 os;
	ogg_page		 og;
	ogg_packet		 op;
	FILE			*fp;
	char			*buf;
	size_t			 n;
	long			 sum = 0, npk = 0, last = -1;
	int			 started = 0, k;

	if ((fp = fopen(path, "rb")) == NULL)
		return (-1);
	ogg_sync_init(&oy);
	for (;;) {
		buf = ogg_sync_buffer(&oy, 4096);
		if ((n = fread(buf, 1, 4096, fp)) == 0)
			break;
		ogg_sync_wrote(&oy, (long)n);
		while (ogg_sync_pageout(&oy, &og) == 1) {
			if (!started) {
				ogg_stream_init(&os, ogg_page_serialno(&og));
				started = 1;
			}
			ogg_stream_pagein(&os, &og);
			while (ogg_stream_packetout(&os, &op) == 1) {
				if (npk++ < 2)
					continue;	/* OpusHead, OpusTags */
				if ((k = opus_packet_get_nb_samples(op.packet, op.bytes, 48000)) > 0)
					sum += k;
				if (op.granulepos >= 0)
					last = (long)op.granulepos;
			}
		}
	}
	fclose(fp);
	if (started)
		ogg_stream_clear(&os);
	ogg_sync_clear(&oy);
	return (last < 0 ? -1 : sum - last);
}

static int
sha256_file(const char *path, char *hex)
{
	unsigned char	md[32], buf[8192];
	unsigned	mdlen, i;
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	FILE		*fp;
	size_t		 n;

	if ((fp = fopen(path, "rb")) == NULL)
		return (-1);
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		EVP_DigestUpdate(ctx, buf, n);
	fclose(fp);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < 32; i++)
		sprintf(hex + i * 2, "%02x", md[i]);
	return (0);
}

static void
check_file(const char *path, const struct rec_info *info, const char *what)
{
	char		part[512], hex[65], name[256];
	struct stat	st;

	snprintf(part, sizeof(part), "%s.part", path);
	snprintf(name, sizeof(name), "%s: no .part left after close", what);
	CHECK(access(part, F_OK) == -1, name);
	snprintf(name, sizeof(name), "%s: rec_info bytes = file size", what);
	CHECK(stat(path, &st) == 0 && (uint64_t)st.st_size == info->bytes && info->bytes > 0, name);
	snprintf(name, sizeof(name), "%s: rec_info sha256 = SHA-256 of the file", what);
	CHECK(sha256_file(path, hex) == 0 && strcmp(hex, info->sha256) == 0, name);
}

/*
 * 150 packets of 440 Hz, 20 ms each, with a 2 s silence (timestamps and
 * clock jump) after packet 99, packet 20 lost, packet 30 sent twice,
 * 40/41 swapped, sequence numbers wrapping, plus garbage: the file lasts
 * 150 * 20 ms + 2 s = 5 s.
 */
static void
test_opus(void)
{
	static uint8_t	 enc[150][400];
	static int	 lens[150];
	struct rec	*r;
	struct rec_info	 info;
	uint8_t		 b[1500], junk[40];
	size_t		 n;
	char		 path[256], err[128];
	float		*pcm = NULL;
	long		 got;
	int		 i, k, ch = 0, order[150], bad = 0, sound;
	uint16_t	 seq0 = 65500;
	uint32_t	 ts0 = 0xfffff000;
	uint64_t	 t;

	CHECK(opus_sine(440, 150, enc, lens) == 0, "opus: 440 Hz test stream encoded");
	snprintf(path, sizeof(path), "%s/a.ogg", dir);
	r = rec_open(path, REC_OPUS_OGG, err, sizeof(err));
	CHECK(r != NULL, "opus: rec_open");
	if (r == NULL)
		return;
	rec_set_payload_type(r, 111);
	for (i = 0; i < 150; i++)
		order[i] = i;
	order[40] = 41;
	order[41] = 40;
	for (k = 60; k < 70; k++)	/* 60 comes 200 ms late, after 70 */
		order[k] = k + 1;
	order[70] = 60;
	for (k = 0; k < 150; k++) {
		i = order[k];
		if (i == 20)
			continue;
		if (i == 60) {
			n = rtp(b, 111, (uint16_t)(seq0 + i), ts0 + (uint32_t)(i * FRAME), 0x1234, 0,
			    enc[i], (size_t)lens[i]);
			bad += rec_rtp(r, b, n, 1000000 + (uint64_t)k * 20000) == -1 ? 100000 : 0;
			continue;
		}
		t = 1000000 + (uint64_t)k * 20000 + (i >= 100 ? 2000000 : 0);
		n = rtp(b, 111, (uint16_t)(seq0 + i), ts0 + (uint32_t)(i * FRAME + (i >= 100 ? 2 * RATE : 0)),
		    0x1234, 0, enc[i], (size_t)lens[i]);
		if (rec_rtp(r, b, n, t) != 0)
			bad++;
		if (i == 30 && rec_rtp(r, b, n, t + 100) == -1)
			bad += 100;
		if (i == 50) {
			memset(junk, 0xff, sizeof(junk));
			bad += rec_rtp(r, junk, sizeof(junk), t) == -1 ? 1000 : 0;
			n = rtp(b, 96, (uint16_t)(seq0 + i), 0, 0x1234, 0, enc[i], 10);
			bad += rec_rtp(r, b, n, t) == -1 ? 10000 : 0;
		}
	}
	CHECK(bad == 111100, "opus: duplicate, garbage, a foreign payload type and a packet 200 ms "
	    "late refused; the rest (reordered within 60 ms) taken");
	CHECK(rec_close(r, &info) == 0, "opus: rec_close");
	CHECK(info.duration_ms == 5000, "opus: duration = wall time (5000 ms) with lost packets and a 2 s gap");
	CHECK(info.packets == 148 && info.lost == 2, "opus: 148 packets used, 2 lost (one never sent, one too late)");
	CHECK(info.dropped == 4, "opus: 4 packets dropped (duplicate, garbage, payload type, late)");
	check_file(path, &info, "opus");

	got = opus_read_all(path, &pcm, &ch);
	CHECK(got == 5 * RATE && ch == 1, "opus: libopusfile reads 5 s of mono");
	if (got == 5 * RATE) {
		sound = goertzel(pcm + RATE / 2, RATE, 1, 440) > 0.8 && rms(pcm + RATE / 2, RATE, 1) > 0.1;
		CHECK(sound, "opus: 0.5-1.5 s is a 440 Hz tone");
		CHECK(goertzel(pcm + 42 * RATE / 10, RATE / 2, 1, 440) > 0.8,
		    "opus: the tone continues after the gap at the right time");
		CHECK(rms(pcm + 25 * RATE / 10, RATE, 1) < 0.001, "opus: the 2 s gap is silent");
		CHECK(rms(pcm + 402 * RATE / 1000, 960, 1) > 0.01,
		    "opus: the lost packet is concealed, not a hole");
	}
	free(pcm);

	/* An Opus recording without packets is still a valid file. */
	snprintf(path, sizeof(path), "%s/empty.ogg", dir);
	r = rec_open(path, REC_OPUS_OGG, err, sizeof(err));
	CHECK(r != NULL && rec_close(r, &info) == 0, "opus: empty recording closes");
	got = opus_read_all(path, &pcm, &ch);
	CHECK(got == 0 && info.duration_ms == 0, "opus: empty recording opens with 0 samples");
	free(pcm);
	CHECK(rec_open(path, REC_OPUS_OGG, err, sizeof(err)) == NULL && strstr(err, "exists") != NULL,
	    "rec_open refuses an existing file");
	CHECK(rec_open("/nonexistent/x.ogg", REC_OPUS_OGG, err, sizeof(err)) == NULL && err[0] != '\0',
	    "rec_open reports an unwritable path");
}

/*
 * The sender changes SSRC (new sequence numbers and timestamps) after a
 * 0.5 s pause: the new stream continues by arrival time, 1 + 0.5 + 1 s.
 */
static void
test_opus_ssrc(void)
{
	static uint8_t	 enc[100][400];
	static int	 lens[100];
	struct rec	*r;
	struct rec_info	 info;
	uint8_t		 b[1500];
	size_t		 n;
	char		 path[256], err[128];
	int		 i, ok = 1;

	opus_sine(440, 100, enc, lens);
	snprintf(path, sizeof(path), "%s/ssrc.ogg", dir);
	if ((r = rec_open(path, REC_OPUS_OGG, err, sizeof(err))) == NULL) {
		CHECK(0, "ssrc: rec_open");
		return;
	}
	for (i = 0; i < 100; i++) {
		if (i < 50)
			n = rtp(b, 111, (uint16_t)(1000 + i), (uint32_t)(i * FRAME), 1, 0, enc[i], (size_t)lens[i]);
		else
			n = rtp(b, 111, (uint16_t)(40000 + i), 0x80000000u + (uint32_t)(i * FRAME), 2, 0,
			    enc[i], (size_t)lens[i]);
		ok &= rec_rtp(r, b, n, 3000000 + (uint64_t)i * 20000 + (i >= 50 ? 500000 : 0)) == 0;
	}
	CHECK(ok && rec_close(r, &info) == 0, "ssrc: both streams taken");
	CHECK(info.duration_ms == 2500 && info.lost == 0 && info.packets == 100,
	    "ssrc: a new SSRC continues by arrival time (2500 ms, nothing lost)");
	check_file(path, &info, "ssrc");
}

/* VP8 ----------------------------------------------------------------- */

#define VW	320
#define VH	240
#define VFRAMES	90
#define VMTU	300

static int	 vp8_npkts;
static struct pkt *vp8_pkts;

/* RFC 7741 packetization with a 15-bit PictureID, VMTU bytes of payload. */
static void
vp8_packetize(const uint8_t *f, size_t len, int idx, uint16_t *seq)
{
	uint8_t		pl[VMTU + 4];
	size_t		off = 0, n;
	struct pkt	*p;

	while (off < len) {
		n = len - off > VMTU ? VMTU : len - off;
		pl[0] = 0x80 | (off == 0 ? 0x10 : 0);	/* X, S, PID 0 */
		pl[1] = 0x80;				/* I */
		pl[2] = 0x80 | ((idx >> 8) & 0x7f);	/* M: 15-bit PictureID */
		pl[3] = idx & 0xff;
		memcpy(pl + 4, f + off, n);
		p = &vp8_pkts[vp8_npkts++];
		p->len = rtp(p->data, 96, (*seq)++, 90000 + (uint32_t)idx * 3000, 0xabcd,
		    off + n == len, pl, n + 4);
		p->frame = idx;
		p->arrival = 5000000 + (uint64_t)idx * 33333;
		off += n;
	}
}

static int
vp8_stream(void)
{
	vpx_codec_ctx_t		 c;
	vpx_codec_enc_cfg_t	 cfg;
	vpx_image_t		*img;
	const vpx_codec_cx_pkt_t *cx;
	vpx_codec_iter_t	 it;
	uint16_t		 seq = 65000;
	int			 i, x, y;

	if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK)
		return (-1);
	cfg.g_w = VW;
	cfg.g_h = VH;
	cfg.g_timebase.num = 1;
	cfg.g_timebase.den = 30;
	cfg.rc_target_bitrate = 1500;
	cfg.kf_mode = VPX_KF_DISABLED;
	cfg.g_lag_in_frames = 0;
	if (vpx_codec_enc_init(&c, vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK)
		return (-1);
	img = vpx_img_alloc(NULL, VPX_IMG_FMT_I420, VW, VH, 1);
	vp8_pkts = calloc(20000, sizeof(*vp8_pkts));
	for (i = 0; i < VFRAMES; i++) {
		for (y = 0; y < VH; y++)
			for (x = 0; x < VW; x++)
				img->planes[0][y * img->stride[0] + x] =
				    (uint8_t)((x * 7 + y * 3 + i * 11) ^ (rand() & 0x1f));
		memset(img->planes[1], 128 + i, (size_t)img->stride[1] * VH / 2);
		memset(img->planes[2], 128 - i, (size_t)img->stride[2] * VH / 2);
		if (vpx_codec_encode(&c, img, i, 1, i % 30 == 0 ? VPX_EFLAG_FORCE_KF : 0,
		    VPX_DL_REALTIME) != VPX_CODEC_OK)
			return (-1);
		it = NULL;
		while ((cx = vpx_codec_get_cx_data(&c, &it)) != NULL)
			if (cx->kind == VPX_CODEC_CX_FRAME_PKT)
				vp8_packetize(cx->data.frame.buf, cx->data.frame.sz, i, &seq);
	}
	vpx_img_free(img);
	vpx_codec_destroy(&c);
	return (0);
}

static void
test_vp8(void)
{
	struct rec		*r;
	struct rec_info		 info;
	char			 path[256], part[300], err[128];
	int			 i, first0 = -1, mid40 = -1, n40 = 0, swap = -1, dup = -1, wk = -1;
	int			 frames = 0, keyfirst = 0, decoded = 0, decerr = 0;
	struct pkt		 tmp;
	AVFormatContext		*ic = NULL;
	AVPacket		*ap;
	vpx_codec_ctx_t		 d;
	int64_t			 dur = 0;

	CHECK(vp8_stream() == 0, "vp8: libvpx test stream encoded");
	for (i = 0; i < vp8_npkts; i++) {
		if (vp8_pkts[i].frame == 0 && first0 == -1)
			first0 = i;
		if (vp8_pkts[i].frame == 40 && n40++ == 1)
			mid40 = i;
		if (vp8_pkts[i].frame == 31 && swap == -1 && i + 1 < vp8_npkts &&
		    vp8_pkts[i + 1].frame == 31)
			swap = i;
		if (vp8_pkts[i].frame == 32 && dup == -1)
			dup = i;
	}
	CHECK(mid40 != -1 && swap != -1 && vp8_npkts > VFRAMES * 2,
	    "vp8: frames are fragmented over several packets");
	if (mid40 == -1 || swap == -1)
		return;
	tmp = vp8_pkts[swap];
	vp8_pkts[swap] = vp8_pkts[swap + 1];
	vp8_pkts[swap + 1] = tmp;

	snprintf(path, sizeof(path), "%s/v.webm", dir);
	r = rec_open(path, REC_VP8_WEBM, err, sizeof(err));
	CHECK(r != NULL, "vp8: rec_open");
	if (r == NULL)
		return;
	rec_set_payload_type(r, 96);
	for (i = 0; i < vp8_npkts; i++) {
		if (i == first0 || i == mid40)
			continue;	/* frame 0 loses its start, frame 40 its middle */
		rec_rtp(r, vp8_pkts[i].data, vp8_pkts[i].len, vp8_pkts[i].arrival);
		if (i == dup)
			rec_rtp(r, vp8_pkts[i].data, vp8_pkts[i].len, vp8_pkts[i].arrival);
		if (vp8_pkts[i].frame == 50 && wk == -1)
			wk = rec_want_keyframe(r);
	}
	CHECK(wk == 1, "vp8: after a loss the recorder asks for a keyframe");
	CHECK(rec_close(r, &info) == 0, "vp8: rec_close");
	check_file(path, &info, "vp8");
	CHECK(info.lost == 1 && info.dropped == 1, "vp8: 1 packet lost, 1 duplicate dropped");
	CHECK(info.duration_ms >= 1960 && info.duration_ms <= 1970,
	    "vp8: duration from frame 30 to frame 89 (1967 ms)");

	if (avformat_open_input(&ic, path, NULL, NULL) != 0 || avformat_find_stream_info(ic, NULL) < 0) {
		CHECK(0, "vp8: libavformat opens the WebM");
		return;
	}
	CHECK(strcmp(ic->iformat->name, "matroska,webm") == 0 && ic->nb_streams == 1 &&
	    ic->streams[0]->codecpar->codec_id == AV_CODEC_ID_VP8 &&
	    ic->streams[0]->codecpar->width == VW && ic->streams[0]->codecpar->height == VH,
	    "vp8: WebM with one VP8 320x240 track");
	vpx_codec_dec_init(&d, vpx_codec_vp8_dx(), NULL, 0);
	ap = av_packet_alloc();
	while (av_read_frame(ic, ap) == 0) {
		if (frames == 0)
			keyfirst = (ap->flags & AV_PKT_FLAG_KEY) != 0 && !(ap->data[0] & 1);
		frames++;
		if (vpx_codec_decode(&d, ap->data, (unsigned)ap->size, NULL, 0) == VPX_CODEC_OK)
			decoded++;
		else
			decerr++;
		dur = ap->pts;
		av_packet_unref(ap);
	}
	dur = av_rescale_q(dur, ic->streams[0]->time_base, (AVRational){ 1, 1000 });
	CHECK(frames == 40, "vp8: 40 frames written (30-39, 60-89): incomplete frames and "
	    "frames until the next keyframe dropped");
	CHECK(keyfirst, "vp8: the first frame is a keyframe");
	CHECK(decoded == 40 && decerr == 0, "vp8: libvpx decodes every recorded frame");
	CHECK(dur >= 1960 && dur <= 1970 && ic->duration > 0,
	    "vp8: last frame at 1967 ms and the container has a duration");
	av_packet_free(&ap);
	vpx_codec_destroy(&d);
	avformat_close_input(&ic);
	free(vp8_pkts);

	/* Without any keyframe there is nothing to play: no file. */
	snprintf(path, sizeof(path), "%s/empty.webm", dir);
	r = rec_open(path, REC_VP8_WEBM, err, sizeof(err));
	snprintf(part, sizeof(part), "%s.part", path);
	CHECK(r != NULL && rec_close(r, &info) == 0 && info.bytes == 0 && access(path, F_OK) == -1 &&
	    access(part, F_OK) == -1, "vp8: a recording without a keyframe leaves no file");
}

/* Mix ----------------------------------------------------------------- */

/*
 * Agent: 440 Hz for 3 s from t=0. Customer: 1000 Hz for 3 s from t=0.5 s,
 * one packet lost. Result: 3.5 s, 440 Hz only left, 1000 Hz only right.
 */
static void
test_mix(void)
{
	static uint8_t	 a[150][400], c[150][400];
	static int	 al[150], cl[150];
	struct rec_mix	*m;
	struct rec_info	 info;
	uint8_t		 b[1500];
	size_t		 n;
	char		 path[256], err[128];
	float		*pcm = NULL;
	long		 got, trim;
	int		 i, ch = 0, ok = 1;
	uint64_t	 t0 = 9000000;

	CHECK(opus_sine(440, 150, a, al) == 0 && opus_sine(1000, 150, c, cl) == 0,
	    "mix: agent and customer streams encoded");
	snprintf(path, sizeof(path), "%s/mix.ogg", dir);
	m = rec_mix_open(path, err, sizeof(err));
	CHECK(m != NULL, "mix: rec_mix_open");
	if (m == NULL)
		return;
	for (i = 0; i < 175; i++) {
		if (i < 150) {
			n = rtp(b, 111, (uint16_t)(65530 + i), (uint32_t)(i * FRAME), 1, 0, a[i], (size_t)al[i]);
			ok &= rec_mix_rtp(m, 0, b, n, t0 + (uint64_t)i * 20000) == 0;
		}
		if (i >= 25 && i - 25 != 70) {
			n = rtp(b, 111, (uint16_t)(100 + i - 25), 777 + (uint32_t)((i - 25) * FRAME), 2, 0,
			    c[i - 25], (size_t)cl[i - 25]);
			ok &= rec_mix_rtp(m, 1, b, n, t0 + (uint64_t)i * 20000 + 3000) == 0;
		}
	}
	CHECK(ok, "mix: every packet taken");
	CHECK(rec_mix_rtp(m, 2, b, n, t0) == -1, "mix: channel 2 refused");
	CHECK(rec_mix_close(m, &info) == 0, "mix: rec_mix_close");
	check_file(path, &info, "mix");
	CHECK(info.packets == 299 && info.lost == 1, "mix: 299 packets used, 1 lost");
	got = opus_read_all(path, &pcm, &ch);
	CHECK(ch == 2 && got >= 7 * RATE / 2 - 960 && got <= 7 * RATE / 2 + 960,
	    "mix: stereo, 3.5 s long");
	CHECK(info.duration_ms >= 3480 && info.duration_ms <= 3520, "mix: rec_info duration 3.5 s");
	trim = ogg_end_trim(path);
	CHECK(trim >= 0 && trim < 960, "mix: the end is trimmed within the last packet");
	if (ch == 2 && got >= 3 * RATE) {
		CHECK(goertzel(pcm + 2 * RATE, RATE, 2, 440) > 0.8, "mix: agent's 440 Hz on the left");
		CHECK(goertzel(pcm + 2 * RATE + 1, RATE, 2, 1000) > 0.8, "mix: customer's 1000 Hz on the right");
		CHECK(rms(pcm + 1, RATE / 3, 2) < 0.001,
		    "mix: right silent before the customer's first packet (aligned by arrival)");
		CHECK(goertzel(pcm + 2 * RATE, RATE, 2, 1000) < 0.001 &&
		    goertzel(pcm + 2 * RATE + 1, RATE, 2, 440) < 0.001,
		    "mix: no customer on the left, no agent on the right");
		CHECK(rms(pcm + 2 * (3 * RATE + RATE / 4), RATE / 4, 2) < 0.001 &&
		    rms(pcm + 2 * (3 * RATE + RATE / 4) + 1, RATE / 5, 2) > 0.05,
		    "mix: after 3 s only the customer (right) is heard");
	}
	free(pcm);
}

int
main(void)
{
	char	cmd[300];

	if (mkdtemp(dir) == NULL)
		return (1);
	test_opus();
	test_opus_ssrc();
	test_vp8();
	test_mix();
	/* MEDIA_REC_KEEP=1 keeps the files (e.g. to play them in a browser). */
	if (getenv("MEDIA_REC_KEEP") != NULL) {
		fprintf(stderr, "files kept in %s\n", dir);
	} else {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return (1);
	}
	return (check_failed ? 1 : 0);
}
