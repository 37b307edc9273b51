/*
 * libFuzzer harness for the RTCP parser (modules/media/rtcp.c): any
 * compound packet. Counts stay within the arrays; a NACK list rebuilt
 * from what was read parses back to the same list.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtcp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtcp_info	ri, back;
	uint16_t		seqs[RTCP_MAX_NACK];
	uint8_t			buf[1024];
	size_t			n;
	int			i, k = 0;

	if (rtcp_parse(&ri, data, size) == -1)
		return (0);
	if (ri.nblocks < 0 || ri.nblocks > RTCP_MAX_ITEMS || ri.npli < 0 ||
	    ri.npli > RTCP_MAX_ITEMS || ri.nnack < 0 ||
	    ri.nnack > RTCP_MAX_NACK)
		abort();
	/* Rebuild the NACKs of the first media SSRC, ascending and unique. */
	for (i = 0; i < ri.nnack; i++) {
		if (ri.nack[i].media != ri.nack[0].media)
			continue;
		if (k > 0 && (uint16_t)(ri.nack[i].seq - seqs[k - 1]) == 0)
			continue;
		if (k > 0 && (int16_t)(ri.nack[i].seq - seqs[k - 1]) < 0)
			continue;
		seqs[k++] = ri.nack[i].seq;
	}
	if (k == 0)
		return (0);
	n = rtcp_build_nack(buf, sizeof(buf), 1, ri.nack[0].media, seqs, k);
	if (n == 0 || rtcp_parse(&back, buf, n) == -1 || back.nnack != k)
		abort();
	for (i = 0; i < k; i++)
		if (back.nack[i].seq != seqs[i])
			abort();
	return (0);
}
