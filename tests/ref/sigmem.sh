# Runs the mremap/sigtimedwait probe (tests/ref/sigmem.c).
/bin/sigmem
echo "exit $?"
echo '==== SCRIPT END ===='
