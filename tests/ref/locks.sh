# Runs the record-lock probe (tests/ref/locks.c): fcntl POSIX and OFD locks, /proc/locks.
/bin/locks
echo "exit $?"
echo '==== SCRIPT END ===='
