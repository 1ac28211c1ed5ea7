# Runs the clone/clone3 probe (tests/ref/clone.c).
/bin/clone
echo "exit $?"
echo '==== SCRIPT END ===='
