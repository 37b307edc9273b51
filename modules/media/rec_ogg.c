/*
 * rec_ogg: Opus in Ogg (RFC 7845) with libogg. One Opus packet per Ogg
 * packet, granule positions in 48 kHz samples. The last packet is held
 * back so that it can carry the end-of-stream flag when the file closes.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>

#include "rec_priv.h"

#define REC_OGG_VENDOR	"virtual-branch rec"
#define REC_OPUS_MAXDUR	5760		/* 120 ms: longest Opus packet */

static void
rec_ogg_le16(uint8_t *p, unsigned v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
}

static void
rec_ogg_le32(uint8_t *p, uint32_t v)
{
	rec_ogg_le16(p, v & 0xffff);
	rec_ogg_le16(p + 2, v >> 16);
}

static void
rec_ogg_pages(struct rec_ogg *o, int flush)
{
	ogg_page	og;

	while ((flush ? ogg_stream_flush(&o->os, &og) : ogg_stream_pageout(&o->os, &og)) != 0) {
		rec_file_write(o->f, og.header, (size_t)og.header_len);
		rec_file_write(o->f, og.body, (size_t)og.body_len);
	}
}

static void
rec_ogg_submit(struct rec_ogg *o, const uint8_t *data, size_t len, int64_t granule,
    int bos, int eos)
{
	ogg_packet	op;

	memset(&op, 0, sizeof(op));
	op.packet = (unsigned char *)(uintptr_t)data;
	op.bytes = (long)len;
	op.b_o_s = bos;
	op.e_o_s = eos;
	op.granulepos = granule;
	op.packetno = o->packetno++;
	ogg_stream_packetin(&o->os, &op);
	rec_ogg_pages(o, bos || eos || o->packetno == 2);
}

/*
 * family 0: mono or stereo in one stream; family 1 with 2 channels: two
 * uncoupled mono streams, left and right (the compliance mix).
 */
void
rec_ogg_init(struct rec_ogg *o, struct rec_file *f, int channels, unsigned preskip,
    int family)
{
	uint8_t		head[19 + 2 + 255], tags[8 + 4 + sizeof(REC_OGG_VENDOR) - 1 + 4];
	size_t		vlen = sizeof(REC_OGG_VENDOR) - 1, hlen = 19;
	int		i;

	memset(o, 0, sizeof(*o));
	o->f = f;
	o->preskip = preskip;
	ogg_stream_init(&o->os, (int)(arc4random() & 0x7fffffff));

	memcpy(head, "OpusHead", 8);
	head[8] = 1;
	head[9] = (uint8_t)channels;
	rec_ogg_le16(head + 10, preskip);
	rec_ogg_le32(head + 12, 48000);
	rec_ogg_le16(head + 16, 0);
	head[18] = (uint8_t)family;
	if (family == 1) {
		head[19] = (uint8_t)channels;	/* streams */
		head[20] = 0;			/* coupled */
		for (i = 0; i < channels; i++)
			head[hlen + 2 + (size_t)i] = (uint8_t)i;
		hlen += 2 + (size_t)channels;
	}
	rec_ogg_submit(o, head, hlen, 0, 1, 0);

	memcpy(tags, "OpusTags", 8);
	rec_ogg_le32(tags + 8, (uint32_t)vlen);
	memcpy(tags + 12, REC_OGG_VENDOR, vlen);
	rec_ogg_le32(tags + 12 + vlen, 0);
	rec_ogg_submit(o, tags, sizeof(tags), 0, 0, 0);
	o->granule = 0;
}

void
rec_ogg_packet(struct rec_ogg *o, const uint8_t *data, size_t len, int64_t granule)
{
	if (len > sizeof(o->pending))
		return;
	if (o->have_pending)
		rec_ogg_submit(o, o->pending, o->pending_len, o->pending_granule, 0, 0);
	memcpy(o->pending, data, len);
	o->pending_len = len;
	o->pending_granule = granule;
	o->have_pending = 1;
	o->granule = granule;
}

/*
 * CELT frames of digital silence (2.5, 5, 10 and 20 ms; mono, stereo),
 * made once per process by libopus itself.
 */
static struct {
	pthread_once_t	once;
	uint8_t		pkt[2][4][16];
	int		len[2][4];
} rec_silence = { .once = PTHREAD_ONCE_INIT };

static void
rec_silence_init(void)
{
	static const opus_int16	zero[2 * 960];
	OpusEncoder		*enc;
	int			 c, i, e, n;

	for (c = 0; c < 2; c++) {
		for (i = 0; i < 4; i++) {
			enc = opus_encoder_create(48000, c + 1,
			    OPUS_APPLICATION_RESTRICTED_LOWDELAY, &e);
			if (enc == NULL)
				continue;
			n = opus_encode(enc, zero, 120 << i, rec_silence.pkt[c][i],
			    sizeof(rec_silence.pkt[c][i]));
			if (n >= 1 && (rec_silence.pkt[c][i][0] & 0x03) == 0)
				rec_silence.len[c][i] = n;
			opus_encoder_destroy(enc);
		}
	}
}

/* Zero-length frames: the decoder conceals them as lost (RFC 6716 3.2.1). */
static int64_t
rec_ogg_lost(struct rec_ogg *o, int64_t n, uint8_t toc)
{
	static const uint8_t	celt[] = { 31, 30, 29, 28 };
	uint8_t			pkt[2], t = toc;
	int64_t			fs, m, done = 0;
	size_t			i = 0;

	fs = opus_packet_get_samples_per_frame(&t, 48000);
	while (n - done >= 120) {
		if (fs <= 0 || n - done < fs) {
			if (i == sizeof(celt))
				break;
			t = (uint8_t)(celt[i++] << 3) | (toc & 0x04);
			fs = opus_packet_get_samples_per_frame(&t, 48000);
			continue;
		}
		m = (n - done) / fs;
		if (m * fs > REC_OPUS_MAXDUR)
			m = REC_OPUS_MAXDUR / fs;
		pkt[0] = (uint8_t)((t & 0xfc) | 3);
		pkt[1] = (uint8_t)m;
		rec_ogg_packet(o, pkt, sizeof(pkt), o->granule + m * fs);
		done += m * fs;
	}
	return (done);
}

/* Silent frames, as many as fit in one code 3 packet of up to 120 ms. */
static int64_t
rec_ogg_silence(struct rec_ogg *o, int64_t n, int stereo)
{
	uint8_t		pkt[2 + 48 * 16];
	const uint8_t	*f;
	int64_t		fs, m, done = 0;
	int		i, j, len;

	pthread_once(&rec_silence.once, rec_silence_init);
	for (i = 3; i >= 0; i--) {
		fs = 120 << i;
		f = rec_silence.pkt[stereo][i];
		len = rec_silence.len[stereo][i];
		if (len == 0)
			continue;
		while (n - done >= fs) {
			m = (n - done) / fs;
			if (m * fs > REC_OPUS_MAXDUR)
				m = REC_OPUS_MAXDUR / fs;
			pkt[0] = (uint8_t)((f[0] & 0xfc) | 3);
			pkt[1] = (uint8_t)m;
			for (j = 0; j < m; j++)
				memcpy(pkt + 2 + j * (len - 1), f + 1, (size_t)len - 1);
			rec_ogg_packet(o, pkt, 2 + (size_t)m * ((size_t)len - 1),
			    o->granule + m * fs);
			done += m * fs;
		}
	}
	return (done);
}

/*
 * A gap of n samples before the next packet: the first plc samples (what
 * was lost) decode as concealment, the rest as silence. Less than 2.5 ms
 * cannot be expressed and is left out.
 */
void
rec_ogg_gap(struct rec_ogg *o, int64_t n, int64_t plc, uint8_t toc)
{
	if (plc > n)
		plc = n;
	if (plc > 0)
		n -= rec_ogg_lost(o, plc, toc);
	if (n >= 120 && rec_ogg_silence(o, n, (toc & 0x04) != 0) == 0)
		rec_ogg_lost(o, n, toc);
}

/* final_granule < the end of the last packet trims the end (RFC 7845 4.4). */
void
rec_ogg_finish(struct rec_ogg *o, int64_t final_granule)
{
	static const uint8_t	empty[2] = { (31 << 3) | 3, 1 };

	if (!o->have_pending) {
		/* A stream without audio: one 20 ms packet, trimmed away. */
		memcpy(o->pending, empty, sizeof(empty));
		o->pending_len = sizeof(empty);
		o->have_pending = 1;
	}
	if (final_granule < (int64_t)o->preskip)
		final_granule = o->preskip;
	rec_ogg_submit(o, o->pending, o->pending_len, final_granule, 0, 1);
	o->have_pending = 0;
	rec_ogg_pages(o, 1);
	ogg_stream_clear(&o->os);
}
