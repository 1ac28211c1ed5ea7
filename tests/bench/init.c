/*
 * /init of the benchmark image. Its first act is to write the boot marker on the console, so
 * the host can time "QEMU start -> first instruction of /init"; then it execs the busybox script.
 */
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

static const char marker[] = "BENCH-INIT-REACHED\n";

int main(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	if (write(1, marker, sizeof marker - 1) < 0) {
		/* No console on fd 1 (no /dev/console in the image): make one. */
		mount("dev", "/dev", "devtmpfs", 0, 0);
		int fd = open("/dev/console", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		write(1, marker, sizeof marker - 1);
	}
	char *args[] = { "sh", "/bench.sh", 0 };
	execve("/bin/busybox", args, envp);
	write(2, "init: cannot exec /bin/busybox\n", 31);
	return 1;
}
