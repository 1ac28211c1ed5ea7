# Runs the memory-locking probe (tests/ref/mlock.c).
/bin/mlock
echo "exit $?"
echo '==== SCRIPT END ===='
