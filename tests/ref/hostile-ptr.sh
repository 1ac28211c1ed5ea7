# Runs the hostile-pointer probe (tests/ref/hostile-ptr.c): bad addresses in syscall arguments, bad sigreturn frames.
cd /tmp
/bin/hostile-ptr
echo "exit $?"
echo '==== SCRIPT END ===='
