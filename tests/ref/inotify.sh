# Runs the inotify probe (tests/ref/inotify.c) on a fresh tmpfs.
mkdir -p /tmp
mount -t tmpfs tmpfs /tmp
/bin/inotify
echo "exit $?"
echo '==== SCRIPT END ===='
