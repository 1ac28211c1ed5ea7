# util-linux's unshare and nsenter in the guest: a host name, a PID namespace with its own
# /proc, a private mount, and nsenter joining a running process's UTS namespace.
hostname outer
echo "== uts"
unshare --uts sh -c 'hostname inner; hostname; cat /proc/sys/kernel/hostname'
hostname
echo "== pid"
unshare --pid --fork --mount-proc sh -c 'echo "pid $$ ppid $PPID"; echo /proc/[0-9]*; grep -E "^(Pid|PPid|NSpid)" /proc/self/status; sh -c "echo inner child \$\$"'
echo "unshare --pid rc $?"
echo "== pid, exit code"
unshare --pid --fork sh -c 'exit 5'
echo "rc $?"
echo "== mount"
mkdir -p /tmp/private
unshare --mount sh -c 'mount -t tmpfs scratch /tmp/private && touch /tmp/private/inside && ls /tmp/private && grep -c " /tmp/private " /proc/self/mounts'
ls /tmp/private
grep -c " /tmp/private " /proc/self/mounts
echo "== ipc"
unshare --ipc sh -c 'ls /proc/sysvipc; wc -l < /proc/sysvipc/msg'
echo "== net"
unshare --net sh -c '/bin/busybox ip link show; /bin/busybox ip link set lo up; /bin/busybox ip addr show lo'
echo "== nsenter"
rm -f /tmp/target-pid
unshare --uts sh -c 'hostname boxed; echo $$ > /tmp/target-pid; exec sleep 30' &
while [ ! -s /tmp/target-pid ]; do sleep 0.1; done
T=$(cat /tmp/target-pid)
nsenter -t "$T" -u hostname
nsenter -t "$T" -u sh -c 'hostname entered; hostname'
hostname
[ "$(readlink /proc/$T/ns/uts)" != "$(readlink /proc/self/ns/uts)" ] && echo "target's uts differs"
[ "$(readlink /proc/$T/ns/ipc)" = "$(readlink /proc/self/ns/ipc)" ] && echo "target's ipc is ours"
kill "$T"
wait
echo '==== SCRIPT END ===='
