/*
 * rec_mix: the compliance mix. Each participant's Opus is decoded to mono
 * with libopus (packet loss concealment for lost packets, silence for
 * gaps), placed on a common timeline, and re-encoded as stereo Ogg Opus:
 * agent left, customer right. The two sides are two uncoupled Opus
 * streams (channel mapping family 1), so neither ever leaks into the
 * other as joint stereo coding would.
 *
 * Timeline: sample 0 is the arrival of the first packet on either side.
 * A side starts where its first packet arrived and then follows its RTP
 * timestamps. A 20 ms output frame is encoded once both sides have
 * reached its end, or REC_MIX_LATENCY after it ended by the arrival
 * clock (a silent or absent side is not waited for longer).
 *
 * Decoding and encoding cost far more than the relay may spend per packet
 * (hundreds of microseconds per 20 ms), so rec_mix_rtp() only copies the
 * packet into the mix's queue; mixer threads (one per CPU, up to
 * REC_MIX_THREADS, each mix always on the same one) do the rest.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <opus/opus.h>
#include <opus/opus_multistream.h>

#include "rec_priv.h"

#define REC_MIX_FRAME		960		/* 20 ms at 48 kHz */
#define REC_MIX_RING		(4 * 48000)	/* samples per side buffered */
#define REC_MIX_LATENCY		(48000 / 2)	/* wait for a late side */
#define REC_MIX_AHEAD		48000		/* timestamps ahead of the clock */
#define REC_MIX_PLC_MAX		(48000 / 5)	/* conceal at most 200 ms */
#define REC_MIX_SLOTS		16
#define REC_MIX_WAIT_US		60000
#define REC_MIX_BITRATE		48000		/* both sides together */
#define REC_MIX_COMPLEXITY	1		/* see tests/bench/rec.sh */
#define REC_MIX_QUEUE		(128 * 1024)	/* bytes queued per mix (~10 s) */
#define REC_MIX_WRAP		UINT32_MAX	/* queue entry: continue at 0 */
#define REC_MIX_THREADS		8

struct rec_mix;

struct rec_mix_ch {
	struct rec_jb	 jb;
	struct rec_mix	*m;
	OpusDecoder	*dec;
	int		 idx;
	int		 started;
	uint32_t	 ssrc;
	uint32_t	 next_ts;
	int64_t		 pos;		/* timeline position of next_ts */
	int		 last_n;
	uint64_t	 dropped;
};

/* A queue entry: this header, then len bytes, padded to 16. */
struct rec_mix_in {
	uint32_t	len;
	int32_t		channel;
	uint64_t	arrival_us;
};

struct rec_mix_worker {
	pthread_mutex_t		 lock;
	pthread_cond_t		 work;
	pthread_cond_t		 done;
	struct rec_mix		*head;
	struct rec_mix		**tail;
};

struct rec_mix {
	/* Queue: the caller writes in, the mixer thread out. */
	uint8_t			*q;		/* REC_MIX_QUEUE bytes */
	size_t			 q_in;
	_Atomic size_t		 q_pub;
	_Atomic size_t		 q_out;
	uint64_t		 overflow;
	struct rec_mix_worker	*w;
	struct rec_mix		*next;		/* on w's run list, under w->lock */
	int			 queued;	/* under w->lock */
	int			 running;	/* under w->lock */

	struct rec_file		*f;
	struct rec_ogg		 ogg;
	OpusMSEncoder		*enc;
	struct rec_mix_ch	 ch[2];
	int			 started;
	uint64_t		 t0_us;
	int64_t			 now;		/* arrival clock, samples */
	int64_t			 encoded;	/* samples encoded so far */
	int64_t			 horizon[2];	/* end of what each side wrote */
	int16_t			*ring;		/* stereo, REC_MIX_RING frames */
	int16_t			 pcm[5760];
	uint8_t			 out[1500];
	int			 failed;
};

static struct {
	pthread_once_t		once;
	struct rec_mix_worker	w[REC_MIX_THREADS];
	unsigned		n;
	_Atomic unsigned	next;
} rec_mixers = { .once = PTHREAD_ONCE_INIT };

static void	rec_mix_wait(struct rec_mix *);

static size_t
rec_mix_entry(size_t len)
{
	return ((sizeof(struct rec_mix_in) + len + 15) & ~(size_t)15);
}
static void	rec_mixers_start(void);

static int64_t
rec_mix_clock(const struct rec_mix *m, uint64_t arrival_us)
{
	if (arrival_us <= m->t0_us)
		return (0);
	return ((int64_t)((arrival_us - m->t0_us) / 1000 * 48));
}

static void
rec_mix_encode(struct rec_mix *m)
{
	int16_t		*frame;
	int64_t		 at = m->encoded % REC_MIX_RING;
	opus_int32	 n;

	/* REC_MIX_RING is a multiple of REC_MIX_FRAME: frames never wrap. */
	frame = m->ring + at * 2;
	n = opus_multistream_encode(m->enc, frame, REC_MIX_FRAME, m->out, sizeof(m->out));
	if (n < 0)
		m->failed = 1;
	else
		rec_ogg_packet(&m->ogg, m->out, (size_t)n, m->ogg.granule + REC_MIX_FRAME);
	memset(frame, 0, REC_MIX_FRAME * 2 * sizeof(*frame));
	m->encoded += REC_MIX_FRAME;
}

static void
rec_mix_pump(struct rec_mix *m)
{
	int64_t		end;

	for (;;) {
		end = m->encoded + REC_MIX_FRAME;
		if ((m->horizon[0] >= end && m->horizon[1] >= end) ||
		    m->now >= end + REC_MIX_LATENCY)
			rec_mix_encode(m);
		else
			break;
	}
}

static void
rec_mix_put(struct rec_mix *m, int side, int64_t pos, const int16_t *pcm, int n)
{
	int64_t		p;
	int		i;

	for (i = 0; i < n; i++) {
		p = pos + i;
		if (p < m->encoded)
			continue;		/* too late */
		while (p >= m->encoded + REC_MIX_RING)
			rec_mix_encode(m);
		m->ring[(p % REC_MIX_RING) * 2 + side] = pcm[i];
	}
	if (pos + n > m->horizon[side])
		m->horizon[side] = pos + n;
}

/* Conceals n samples lost just before a packet, then leaves silence. */
static void
rec_mix_conceal(struct rec_mix_ch *c, int64_t pos, int64_t n)
{
	int	k, chunk;

	if (n > REC_MIX_PLC_MAX)
		n = REC_MIX_PLC_MAX;
	while (n >= 120) {
		chunk = n > 5760 ? 5760 : (int)(n - n % 120);
		if ((k = opus_decode(c->dec, NULL, 0, c->m->pcm, chunk, 0)) <= 0)
			return;
		rec_mix_put(c->m, c->idx, pos, c->m->pcm, k);
		pos += k;
		n -= k;
	}
}

static void
rec_mix_emit(void *arg, const struct rec_pkt *p, uint64_t lost)
{
	struct rec_mix_ch	*c = arg;
	struct rec_mix		*m = c->m;
	const uint8_t		*d = p->buf + p->off;
	int64_t			 n, gap, clock, pos;
	int			 k;

	if (p->len == 0)
		return;
	n = opus_packet_get_nb_samples(d, (opus_int32)p->len, 48000);
	if (n <= 0 || n > 5760) {
		c->dropped++;
		return;
	}
	clock = rec_mix_clock(m, p->arrival_us);
	if (!c->started || p->ssrc != c->ssrc ||
	    rec_tsdiff(p->ts, c->next_ts) < -REC_MIX_AHEAD) {
		/* First packet, another stream or a restarted clock: by arrival. */
		pos = clock;
		if (c->started && pos < c->pos)
			pos = c->pos;
		gap = 0;
	} else {
		gap = rec_tsdiff(p->ts, c->next_ts);
		if (gap < 0) {
			c->dropped++;
			return;
		}
		if (c->pos + gap > clock + REC_MIX_AHEAD)
			gap = clock > c->pos ? clock - c->pos : 0;
		pos = c->pos + gap;
	}
	if (gap > 0 && lost > 0)
		rec_mix_conceal(c, c->pos, gap < (int64_t)lost * c->last_n ? gap : (int64_t)lost * c->last_n);
	if (pos < m->encoded)
		pos = m->encoded;		/* this side fell behind: catch up */
	if ((k = opus_decode(c->dec, d, (opus_int32)p->len, m->pcm, 5760, 0)) < 0) {
		c->dropped++;
		return;
	}
	rec_mix_put(m, c->idx, pos, m->pcm, k);
	c->started = 1;
	c->ssrc = p->ssrc;
	c->next_ts = p->ts + (uint32_t)n;
	c->pos = pos + k;
	c->last_n = (int)n;
}

struct rec_mix *
rec_mix_open(const char *path, char *err, size_t errlen)
{
	static const unsigned char	 mapping[2] = { 0, 1 };
	struct rec_mix			*m;
	opus_int32			 lookahead = 0;
	int				 e, i;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		rec_errf(err, errlen, "out of memory");
		return (NULL);
	}
	pthread_once(&rec_mixers.once, rec_mixers_start);
	if (rec_mixers.n == 0) {
		rec_errf(err, errlen, "cannot start the mixer threads");
		free(m);
		return (NULL);
	}
	m->w = &rec_mixers.w[atomic_fetch_add(&rec_mixers.next, 1) % rec_mixers.n];
	if ((m->ring = calloc(REC_MIX_RING * 2, sizeof(*m->ring))) == NULL ||
	    (m->q = malloc(REC_MIX_QUEUE)) == NULL)
		goto nomem;
	m->enc = opus_multistream_encoder_create(48000, 2, 2, 0, mapping,
	    OPUS_APPLICATION_VOIP, &e);
	if (m->enc == NULL) {
		rec_errf(err, errlen, "opus encoder: %s", opus_strerror(e));
		goto fail;
	}
	opus_multistream_encoder_ctl(m->enc, OPUS_SET_BITRATE(REC_MIX_BITRATE));
	opus_multistream_encoder_ctl(m->enc, OPUS_SET_COMPLEXITY(REC_MIX_COMPLEXITY));
	opus_multistream_encoder_ctl(m->enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
	opus_multistream_encoder_ctl(m->enc, OPUS_GET_LOOKAHEAD(&lookahead));
	for (i = 0; i < 2; i++) {
		m->ch[i].m = m;
		m->ch[i].idx = i;
		if ((m->ch[i].dec = opus_decoder_create(48000, 1, &e)) == NULL) {
			rec_errf(err, errlen, "opus decoder: %s", opus_strerror(e));
			goto fail;
		}
		if (rec_jb_init(&m->ch[i].jb, REC_MIX_SLOTS, REC_MIX_WAIT_US,
		    rec_mix_emit, &m->ch[i]) == -1)
			goto nomem;
	}
	if ((m->f = rec_file_open(path, err, errlen)) == NULL)
		goto fail;
	rec_ogg_init(&m->ogg, m->f, 2, (unsigned)lookahead, 1);
	return (m);
nomem:
	rec_errf(err, errlen, "out of memory");
fail:
	for (i = 0; i < 2; i++) {
		rec_jb_free(&m->ch[i].jb);
		if (m->ch[i].dec != NULL)
			opus_decoder_destroy(m->ch[i].dec);
	}
	if (m->enc != NULL)
		opus_multistream_encoder_destroy(m->enc);
	free(m->ring);
	free(m->q);
	free(m);
	return (NULL);
}

void
rec_mix_set_payload_type(struct rec_mix *m, int pt)
{
	rec_mix_wait(m);
	m->ch[0].jb.pt = m->ch[1].jb.pt = pt;
}


/* Runs queued packets through the reordering buffers, decoder and encoder. */
static void
rec_mix_process(struct rec_mix *m)
{
	struct rec_mix_in	 in;
	size_t			 out, end, off;
	int64_t			 clock;

	out = atomic_load_explicit(&m->q_out, memory_order_relaxed);
	end = atomic_load_explicit(&m->q_pub, memory_order_acquire);
	while (out != end) {
		off = out % REC_MIX_QUEUE;
		memcpy(&in, m->q + off, sizeof(in));
		if (in.len == REC_MIX_WRAP) {
			out += REC_MIX_QUEUE - off;
			continue;
		}
		if (!m->started) {
			m->started = 1;
			m->t0_us = in.arrival_us;
		}
		clock = rec_mix_clock(m, in.arrival_us);
		if (clock > m->now)
			m->now = clock;
		rec_jb_put(&m->ch[in.channel].jb, m->q + off + sizeof(in), in.len, in.arrival_us);
		rec_mix_pump(m);
		out += rec_mix_entry(in.len);
		atomic_store_explicit(&m->q_out, out, memory_order_release);
	}
	atomic_store_explicit(&m->q_out, out, memory_order_release);
}

static void *
rec_mix_thread(void *arg)
{
	struct rec_mix_worker	*w = arg;
	struct rec_mix		*m;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->head == NULL)
			pthread_cond_wait(&w->work, &w->lock);
		m = w->head;
		if ((w->head = m->next) == NULL)
			w->tail = &w->head;
		m->queued = 0;
		m->running = 1;
		pthread_mutex_unlock(&w->lock);
		rec_mix_process(m);
		pthread_mutex_lock(&w->lock);
		m->running = 0;
		if (atomic_load_explicit(&m->q_out, memory_order_relaxed) !=
		    atomic_load_explicit(&m->q_pub, memory_order_acquire)) {
			m->queued = 1;
			m->next = NULL;
			*w->tail = m;
			w->tail = &m->next;
		}
		pthread_cond_broadcast(&w->done);
	}
	return (NULL);
}

static void
rec_mixers_start(void)
{
	pthread_attr_t	a;
	pthread_t	t;
	long		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned	i;

	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > REC_MIX_THREADS)
		ncpu = REC_MIX_THREADS;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	for (i = 0; i < (unsigned)ncpu; i++) {
		pthread_mutex_init(&rec_mixers.w[i].lock, NULL);
		pthread_cond_init(&rec_mixers.w[i].work, NULL);
		pthread_cond_init(&rec_mixers.w[i].done, NULL);
		rec_mixers.w[i].tail = &rec_mixers.w[i].head;
		if (pthread_create(&t, &a, rec_mix_thread, &rec_mixers.w[i]) != 0)
			break;
		rec_mixers.n++;
	}
	pthread_attr_destroy(&a);
}

/* Waits until the mixer thread has processed everything queued for m. */
static void
rec_mix_wait(struct rec_mix *m)
{
	struct rec_mix_worker	*w = m->w;

	pthread_mutex_lock(&w->lock);
	while (m->queued || m->running)
		pthread_cond_wait(&w->done, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

int
rec_mix_rtp(struct rec_mix *m, int channel, const uint8_t *pkt, size_t len,
    uint64_t arrival_us)
{
	struct rec_mix_worker	*w = m->w;
	struct rec_mix_in	 in;
	size_t			 off, need, pad;

	if ((channel != 0 && channel != 1) || len < 12 || len > REC_PKT_MAX ||
	    (pkt[0] >> 6) != 2) {
		m->overflow++;
		return (-1);
	}
	off = m->q_in % REC_MIX_QUEUE;
	need = rec_mix_entry(len);
	pad = need > REC_MIX_QUEUE - off ? REC_MIX_QUEUE - off : 0;
	if (m->q_in + pad + need - atomic_load_explicit(&m->q_out, memory_order_acquire) >
	    REC_MIX_QUEUE) {
		m->overflow++;		/* the mixer thread is behind */
		return (-1);
	}
	if (pad > 0) {
		in.len = REC_MIX_WRAP;
		memcpy(m->q + off, &in, sizeof(in));
		m->q_in += pad;
		off = 0;
	}
	in.len = (uint32_t)len;
	in.channel = channel;
	in.arrival_us = arrival_us;
	memcpy(m->q + off, &in, sizeof(in));
	memcpy(m->q + off + sizeof(in), pkt, len);
	m->q_in += need;
	atomic_store_explicit(&m->q_pub, m->q_in, memory_order_release);

	/*
	 * Never wait for the lock: if the mixer thread holds it (and was
	 * descheduled meanwhile) the next packet schedules the mix, and
	 * rec_mix_close() processes whatever is left.
	 */
	if (pthread_mutex_trylock(&w->lock) != 0)
		return (0);
	if (!m->queued && !m->running) {
		m->queued = 1;
		m->next = NULL;
		*w->tail = m;
		w->tail = &m->next;
		pthread_cond_signal(&w->work);
	}
	pthread_mutex_unlock(&w->lock);
	return (0);
}

int
rec_mix_close(struct rec_mix *m, struct rec_info *info)
{
	struct rec_info	tmp;
	int64_t		total;
	int		i, rc = 0;

	if (info == NULL)
		info = &tmp;
	memset(info, 0, sizeof(*info));
	rec_mix_wait(m);
	rec_mix_process(m);		/* anything never scheduled */
	for (i = 0; i < 2; i++)
		rec_jb_drain(&m->ch[i].jb);
	total = m->horizon[0] > m->horizon[1] ? m->horizon[0] : m->horizon[1];
	if (total < m->encoded)
		total = m->encoded;
	while (m->encoded < total)
		rec_mix_encode(m);
	/*
	 * The encoder's lookahead (pre-skip) delays its output: one more
	 * frame only if the end is not out yet, so the end trimming stays
	 * within the last packet (RFC 7845 4.4; players warn about more).
	 */
	if (m->encoded > 0 && m->encoded < total + (int64_t)m->ogg.preskip)
		rec_mix_encode(m);
	rec_ogg_finish(&m->ogg, total + m->ogg.preskip);
	info->duration_ms = (uint64_t)total / 48;
	for (i = 0; i < 2; i++) {
		info->packets += m->ch[i].jb.packets - m->ch[i].dropped;
		info->lost += m->ch[i].jb.lost;
		info->dropped += m->ch[i].jb.dropped + m->ch[i].dropped;
		if (i == 0)
			info->dropped += m->overflow;
		rec_jb_free(&m->ch[i].jb);
		opus_decoder_destroy(m->ch[i].dec);
	}
	if (m->failed)
		rc = -1;
	if (rec_file_close(m->f, rc == 0, info) == -1)
		rc = -1;
	opus_multistream_encoder_destroy(m->enc);
	free(m->ring);
	free(m->q);
	free(m);
	return (rc);
}
