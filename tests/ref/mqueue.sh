# Runs the POSIX message queue probe (tests/ref/mqueue.c): mq_open and friends, the
# descriptor as a file, notification, fs.mqueue.
/bin/mqueue
echo "exit $?"
echo '==== SCRIPT END ===='
