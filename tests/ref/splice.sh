# Runs the tee/vmsplice probe (tests/ref/splice.c) on a fresh tmpfs.
mkdir -p /tmp
mount -t tmpfs tmpfs /tmp
/bin/splice
echo "exit $?"
echo '==== SCRIPT END ===='
