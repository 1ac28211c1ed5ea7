# Runs the namespaces probe (tests/ref/namespaces.c): /proc/PID/ns, nsfs ioctls, unshare, setns, UTS/IPC/mount namespaces.
# Linux brings lo up DOWN (ours has it up from boot): raise it, as inet.sh does.
/bin/busybox ip link set lo up 2>/dev/null || /bin/busybox ifconfig lo 127.0.0.1 up 2>/dev/null
/bin/namespaces
echo "exit $?"
echo '==== SCRIPT END ===='
