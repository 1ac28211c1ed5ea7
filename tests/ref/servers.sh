# Runs the server-sockets probe (tests/ref/servers.c) over loopback; Linux brings lo up DOWN.
/bin/busybox ip link set lo up 2>/dev/null || /bin/busybox ifconfig lo 127.0.0.1 up 2>/dev/null
/bin/servers
echo "exit $?"
echo '==== SCRIPT END ===='
