/* Included by every C probe here: counts the result lines the probe prints, and probe_end()
 * prints `checks: N` as its last line. The host judge (tests/src/reference.rs) requires that
 * line, with N > 0, under both kernels: a probe that was not found, crashed or stopped early
 * prints none, so an identical failure on both kernels does not compare equal to a pass.
 * Every printf of the probe's own process counts (children keep their own counter). A probe
 * that keeps its own count of checks (sigtargets.c, oom.c) prints the same last line itself. */
#include <stdio.h>

static int probe_checks;
#define printf(...) (probe_checks++, printf(__VA_ARGS__))

/* Prints the count; main returns its value. */
static int probe_end(void) {
    int ran = probe_checks;
    fflush(stdout);
    printf("checks: %d\n", ran);
    fflush(stdout);
    return 0;
}
