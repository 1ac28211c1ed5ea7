# Runs the pthread probe (tests/ref/threads.c).
/bin/threads
echo "exit $?"
echo '==== SCRIPT END ===='
