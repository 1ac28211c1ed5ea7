# Runs the /proc/PID/maps probe (tests/ref/maps.c). Its output leaves out the [vvar], [vdso]
# and [vsyscall] lines Linux has and this kernel (no vDSO) does not: the probe prints only
# the lines of the areas it made, the heap, the stack and its own program.
/bin/maps
echo "exit $?"
echo '==== SCRIPT END ===='
