/*
 * SRTP cost per packet, Debian's libsrtp2 on NSS against the same libsrtp2
 * with our OpenSSL primitives (modules/media/srtpossl.c), for both
 * profiles: one 1,100-byte-payload RTP packet (the bench's video size)
 * protected by one session and unprotected by another, as the relay does
 * for each forwarded packet. Same process, same sessions' shape: the NSS
 * figures are taken first, then our types are swapped in.
 *
 * CPU time of the thread, not wall time. Prints "name: value unit"
 * lines (tests/bench/media.sh runs it first).
 * SRTPBENCH_PACKETS sets the packets per figure (default 200000);
 * SRTPBENCH_ONLY=openssl skips the NSS figures (for perf).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <srtp2/srtp.h>

#include "srtpossl.h"

#define PAYLOAD	1100

/* CPU time of this thread: the figure stands even on a busy machine. */
static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static srtp_t
session(int gcm, int inbound, const uint8_t *master)
{
	srtp_policy_t	pol;
	srtp_t		s;

	memset(&pol, 0, sizeof(pol));
	if (gcm) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
	} else {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	}
	pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	pol.key = (uint8_t *)master;
	pol.window_size = 1024;
	pol.next = NULL;
	if (srtp_create(&s, &pol) != srtp_err_status_ok) {
		fprintf(stderr, "srtpbench: srtp_create failed\n");
		exit(1);
	}
	return (s);
}

/*
 * Microseconds of CPU per packet: protect, unprotect, and both. Batches of
 * BATCH packets are made, protected (timed), then unprotected (timed).
 */
#define BATCH	256
static void
run(const char *name, int gcm, long packets)
{
	static uint8_t	pkt[BATCH][PAYLOAD + 12 + 64];
	static int	len[BATCH];
	uint8_t		tmpl[PAYLOAD + 12], master[30];
	srtp_t		out, in;
	double		t0, tp = 0, tu = 0;
	long		done, seq = 0;
	int		b, k, warm = 4;

	for (k = 0; k < 30; k++)
		master[k] = (uint8_t)(k * 11 + 3);
	out = session(gcm, 0, master);
	in = session(gcm, 1, master);
	memcpy(tmpl, "\x80\x60\x00\x00\x00\x01\xe2\x40\xca\xfe\xf0\x0d", 12);
	for (k = 0; k < PAYLOAD; k++)
		tmpl[12 + k] = (uint8_t)(k * 7);
	for (done = 0; done < packets; ) {
		for (b = 0; b < BATCH; b++, seq++) {
			memcpy(pkt[b], tmpl, sizeof(tmpl));
			pkt[b][2] = (uint8_t)(seq >> 8);
			pkt[b][3] = (uint8_t)seq;
			len[b] = (int)sizeof(tmpl);
		}
		t0 = now();
		for (b = 0; b < BATCH; b++)
			if (srtp_protect(out, pkt[b], &len[b]) != 0)
				goto fail;
		if (!warm)
			tp += now() - t0;
		t0 = now();
		for (b = 0; b < BATCH; b++)
			if (srtp_unprotect(in, pkt[b], &len[b]) != 0 ||
			    len[b] != (int)sizeof(tmpl))
				goto fail;
		if (warm)	/* the first batches warm up */
			warm--;
		else {
			tu += now() - t0;
			done += BATCH;
		}
	}
	srtp_dealloc(out);
	srtp_dealloc(in);
	printf("srtp_%s_protect: %.2f us per packet\n", name, tp * 1e6 / done);
	printf("srtp_%s_unprotect: %.2f us per packet\n", name, tu * 1e6 / done);
	printf("srtp_%s_both: %.2f us per packet\n", name,
	    (tp + tu) * 1e6 / done);
	return;
fail:
	fprintf(stderr, "srtpbench: %s: packet %ld failed\n", name, seq);
	exit(1);
}

int
main(void)
{
	const char	*err, *e;
	long		 packets = 200000;

	if ((e = getenv("SRTPBENCH_PACKETS")) != NULL && atol(e) > 0)
		packets = atol(e);
	if (srtp_init() != srtp_err_status_ok)
		return (1);
	printf("srtp_packet: %d-byte payload, %ld packets per figure\n",
	    PAYLOAD, packets);
	if ((e = getenv("SRTPBENCH_ONLY")) == NULL || strcmp(e, "openssl") != 0) {
		run("gcm_nss", 1, packets);
		run("cm_nss", 0, packets);
	}
	if (srtpossl_register(&err) == -1) {
		fprintf(stderr, "srtpbench: %s refused\n", err);
		return (1);
	}
	run("gcm_openssl", 1, packets);
	run("cm_openssl", 0, packets);
	return (0);
}
