# Runs the errno probe (tests/ref/errno.c) from /tmp, as both kernels see it.
cd /tmp && /bin/errno
echo "exit $?"
echo '==== SCRIPT END ===='
