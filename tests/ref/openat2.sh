# Runs the openat2 probe (tests/ref/openat2.c) on a fresh tmpfs.
mkdir -p /tmp
mount -t tmpfs tmpfs /tmp
/bin/openat2
echo "exit $?"
echo '==== SCRIPT END ===='
