# Runs the files/times/scheduling probe (tests/ref/filecalls.c) on a fresh tmpfs.
mkdir -p /tmp
mount -t tmpfs tmpfs /tmp
/bin/filecalls
echo "exit $?"
echo '==== SCRIPT END ===='
