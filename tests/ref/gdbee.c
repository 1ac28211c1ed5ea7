/* A small program for Debian's gdb to debug (tests/ref/gdb.sh): locals to print, a call to
 * step into, a global to watch, and its own output last. */
// musl-gcc flags: -g -O0
#include "probe.h"

static int counter;

static int square(int n)
{
	int result = n * n;
	return result;
}

int main(void)
{
	int x = 6;
	x = square(x);
	counter += x;
	counter += 1;
	printf("x=%d counter=%d\n", x, counter);
	return probe_end();
}
