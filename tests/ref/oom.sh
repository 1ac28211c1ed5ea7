# Runs the running-out probe (tests/ref/oom.c): address space, memory, threads, arguments.
/bin/oom
echo "exit $?"
echo '==== SCRIPT END ===='
