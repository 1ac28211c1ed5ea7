# Runs the adjtimex/settimeofday probe (tests/ref/adjtime.c).
/bin/adjtime
echo "exit $?"
echo '==== SCRIPT END ===='
