# Runs the FIFO/eventfd/epoll probe (tests/ref/events.c).
# The edge-triggered epoll cases use TCP over loopback: Linux brings lo up DOWN, so raise it
# as inet.sh does (ours has lo up from boot; the command may fail there, silently).
/bin/busybox ip link set lo up 2>/dev/null || /bin/busybox ifconfig lo 127.0.0.1 up 2>/dev/null
/bin/events
echo "exit $?"
echo '==== SCRIPT END ===='
