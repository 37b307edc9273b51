/*
 * libFuzzer harness for app/callutil.c: the Range header of recording
 * playback (client bytes) and the recording path check. Checks that an
 * accepted range always lies inside the file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "callutil.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t	sizes[] = { 0, 1, 2, 1000, 4096, INT64_MAX / 2 };
	int64_t			start, end;
	size_t			i;
	char			*s;

	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (callutil_range(s, sizes[i], &start, &end) == CALL_RANGE_OK &&
		    (start < 0 || end < start || end >= sizes[i]))
			abort();
	}
	/* No segment may start with a dot ("..", hidden files), none is empty. */
	if (callutil_rec_path_valid(s) && (strstr(s, "/.") != NULL || strstr(s, "//") != NULL ||
	    s[0] == '/' || s[strlen(s) - 1] == '/'))
		abort();
	free(s);
	return (0);
}
