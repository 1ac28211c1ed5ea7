# Runs the resource-limit probe (tests/ref/rlimits.c).
mount -t tmpfs tmpfs /tmp 2>/dev/null
/bin/rlimits
echo "exit $?"
echo '==== SCRIPT END ===='
