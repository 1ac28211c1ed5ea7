# Runs the prctl probe (tests/ref/prctl.c): options, errors, child subreapers.
/bin/prctl
echo "exit $?"
echo '==== SCRIPT END ===='
