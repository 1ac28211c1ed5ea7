# Runs the System V shared memory probe (tests/ref/sysvshm.c).
/bin/sysvshm
echo "exit $?"
echo '==== SCRIPT END ===='
