# Runs the file-lease probe (tests/ref/leases.c): fcntl F_SETLEASE/F_GETLEASE, lease breaks, /proc/locks.
/bin/leases
echo "exit $?"
echo '==== SCRIPT END ===='
