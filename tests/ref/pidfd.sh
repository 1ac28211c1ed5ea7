# Runs the pidfd and /proc probe (tests/ref/pidfd.c).
/bin/pidfd
echo "exit $?"
grep -c proc /proc/mounts
echo '==== SCRIPT END ===='
