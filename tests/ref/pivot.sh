# Runs the pivot_root probe (tests/ref/pivot.c).
/bin/pivot
echo "exit $?"
echo '==== SCRIPT END ===='
