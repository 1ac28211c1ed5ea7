# Runs the namespaces probe (tests/ref/namespaces.c): /proc/PID/ns, nsfs ioctls, unshare, setns, UTS/IPC/mount namespaces.
/bin/namespaces
echo "exit $?"
echo '==== SCRIPT END ===='
