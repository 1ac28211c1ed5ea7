# Runs the /proc/sys probe (tests/ref/sysctl.c), then busybox's and Debian's sysctl(8).
/bin/sysctl
echo "exit $?"
busybox sysctl kernel.ostype net.core.somaxconn
busybox sysctl -w vm.max_map_count=70000
busybox sysctl -n vm.max_map_count
busybox sysctl -w vm.max_map_count=oops; echo "busybox sysctl -w bad: $?"
/usr/sbin/sysctl kernel.ostype fs.nr_open kernel.pid_max
/usr/sbin/sysctl -w vm.max_map_count=65530 kernel.hostname=sysctl-test
/usr/sbin/sysctl -n kernel.hostname vm.overcommit_memory
/usr/sbin/sysctl -w vm.overcommit_memory=7; echo "sysctl -w out of range: $?"
/usr/sbin/sysctl fs.inotify.max_queued_events fs.inotify.max_user_instances
/usr/sbin/sysctl -w fs.inotify.max_user_instances=-1; echo "inotify instances -1: $?"
/usr/sbin/sysctl -w fs.inotify.max_user_instances=2147483648; echo "inotify instances 2^31: $?"
/usr/sbin/sysctl no.such.key; echo "sysctl unknown key: $?"
printf 'kernel.hostname = from-a-file\n# a comment\nnet.core.somaxconn=2048\n' > /tmp/s.conf
/usr/sbin/sysctl -p /tmp/s.conf; echo "sysctl -p: $?"
cat /proc/sys/kernel/hostname /proc/sys/net/core/somaxconn
echo '==== SCRIPT END ===='
