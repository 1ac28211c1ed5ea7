# Runs the edge-of-range argument probe (tests/ref/extremes.c).
/bin/extremes
echo "exit $?"
echo '==== SCRIPT END ===='
