# Runs the Unix socket probe (tests/ref/sockets.c).
/bin/sockets
echo "exit $?"
echo '==== SCRIPT END ===='
