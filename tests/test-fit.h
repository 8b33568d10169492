/*
 * impcore - tests/test-fit.h: the little harness of the fit C tests.
 * CHECK() reports and counts; test_done() gives the exit status.
 */
#ifndef TEST_FIT_H
#define TEST_FIT_H

#include <stdio.h>

static int test_failures;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		printf("FAIL %s:%d: ", __FILE__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		test_failures++;					\
	}								\
} while (0)

static inline int
test_done(const char *name)
{
	if (test_failures == 0) {
		printf("%s: PASS\n", name);
		return (0);
	}
	printf("%s: %d failed\n", name, test_failures);
	return (1);
}

#endif /* TEST_FIT_H */
