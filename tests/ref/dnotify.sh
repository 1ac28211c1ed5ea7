# Runs the dnotify probe (tests/ref/dnotify.c) on a fresh tmpfs.
mkdir -p /tmp
mount -t tmpfs tmpfs /tmp
/bin/dnotify
echo "exit $?"
echo '==== SCRIPT END ===='
