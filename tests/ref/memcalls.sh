# Runs the memory-calls probe (tests/ref/memcalls.c) on a fresh tmpfs.
mkdir -p /tmp
mount -t tmpfs tmpfs /tmp
/bin/memcalls
echo "exit $?"
echo '==== SCRIPT END ===='
