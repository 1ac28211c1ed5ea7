# Runs the permission probe (tests/ref/perms.c).
/bin/perms
echo "exit $?"
echo '==== SCRIPT END ===='
