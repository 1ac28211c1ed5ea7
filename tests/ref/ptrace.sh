# Runs the ptrace probe (tests/ref/ptrace.c): tracing, stops, registers, events, errors.
/bin/ptrace
echo "exit $?"
# Debian's strace following a small program and its child (tests/ref/stracee.c); the PIDs
# are named, since they differ between kernels.
strace -f -o /tmp/strace.out -e trace=getpid,write,exit_group /bin/stracee > /tmp/stracee.out
echo "strace exit $?"
cat /tmp/stracee.out
read parent child < /tmp/stracee.pids
sed -E -e "s/(^|[^0-9])$parent([^0-9]|\$)/\1PARENT\2/g" -e "s/(^|[^0-9])$child([^0-9]|\$)/\1CHILD\2/g" \
    -e 's/^(PARENT|CHILD) +/\1 /' /tmp/strace.out
# The same with --seccomp-bpf: strace's filter stops only the traced calls (SECCOMP_RET_TRACE).
strace -f --seccomp-bpf -o /tmp/strace.out -e trace=getpid,write,exit_group /bin/stracee > /tmp/stracee.out
echo "strace --seccomp-bpf exit $?"
read parent child < /tmp/stracee.pids
sed -E -e "s/(^|[^0-9])$parent([^0-9]|\$)/\1PARENT\2/g" -e "s/(^|[^0-9])$child([^0-9]|\$)/\1CHILD\2/g" \
    -e 's/^(PARENT|CHILD) +/\1 /' /tmp/strace.out
echo '==== SCRIPT END ===='
