# Runs the FIFO/eventfd/epoll probe (tests/ref/events.c).
/bin/events
echo "exit $?"
echo '==== SCRIPT END ===='
