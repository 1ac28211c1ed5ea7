# Runs the futex probe (tests/ref/futex.c): robust lists and mutexes, FUTEX_WAKE_OP.
/bin/futex
echo "exit $?"
echo '==== SCRIPT END ===='
