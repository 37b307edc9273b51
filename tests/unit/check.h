/* A minimal test harness: each CHECK prints one "ok - " or "not ok - " line. */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>
static int check_failed;
#define CHECK(cond, name) do {						\
	if (cond) printf("ok - %s\n", name);				\
	else { printf("not ok - %s (%s:%d)\n", name, __FILE__, __LINE__); check_failed++; } \
} while (0)
#endif
