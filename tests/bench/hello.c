/* lmbench's hello: what fork+execve and fork+/bin/sh -c start. */
#include <unistd.h>

int main(void)
{
	write(1, "Hello world\n", 12);
	return 0;
}
