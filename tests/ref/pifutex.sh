# Runs the priority-inheritance futex probe (tests/ref/pifutex.c).
/bin/pifutex
echo "exit $?"
echo '==== SCRIPT END ===='
