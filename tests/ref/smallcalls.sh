# Runs the small-calls probe (tests/ref/smallcalls.c): personality, getcpu, iopl/ioperm,
# setfsuid/setfsgid, chroot.
mount -t tmpfs tmpfs /tmp 2>/dev/null
/bin/smallcalls
echo "exit $?"
echo '==== SCRIPT END ===='
