# Debian's gdb on a small program (tests/ref/gdbee.c, built with -g -O0): break on main, print
# a local and step over a line, a hardware breakpoint in a callee, a backtrace, finish with
# the value returned, a register, the breakpoint table, a hardware watchpoint on a global
# (debug registers: DR0-DR3 and DR7 through PTRACE_POKEUSER, DR6 read back), a read
# watchpoint, a software watchpoint (gdb single-steps), then the program runs to its end. gdb
# reads and writes the program through /proc/PID/task/TID/mem. The PID differs: named.
/bin/debugregs
echo "exit $?"
cd /tmp
export SHELL=/bin/sh HOME=/tmp
gdb -batch -nx -ex 'break main' -ex run -ex 'print x' -ex next -ex 'print x' \
    -ex 'hbreak square' -ex continue -ex bt -ex 'print n' -ex finish -ex 'info registers rip' \
    -ex 'info breakpoints' -ex 'watch counter' -ex continue -ex 'delete 3' \
    -ex 'set can-use-hw-watchpoints 0' -ex 'watch counter' -ex continue \
    -ex 'set can-use-hw-watchpoints 1' -ex 'delete 4' -ex 'rwatch counter' -ex continue \
    -ex 'print counter' -ex delete -ex continue /bin/gdbee > /tmp/gdb.out 2>&1
echo "gdb exit $?"
sed -E -e 's/process [0-9]+/process PID/g' /tmp/gdb.out
echo '==== SCRIPT END ===='
