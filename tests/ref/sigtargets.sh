# Runs the signal-target probe (tests/ref/sigtargets.c), then job-control signals from the
# shell, then a SIGKILL to the whole of init's process group (the script's shell is in it).
/bin/sigtargets
echo "exit $?"
sleep 5 &
kill -CONT $!
echo "kill -CONT of a background sleep: $?"
kill -CONT $$
echo "kill -CONT of the shell itself: $?"
kill -9 $!
# Whether ash prints "Killed" here depends on scheduling, not on the kernel: it does if the
# sleep is still alive when wait starts, and not if its SIGCHLD came first (ash then reaps it
# quietly after the kill). The status is what the probe compares.
wait $! 2>/dev/null
echo "background sleep ended: $?"
echo "shell checks: 4"
# The script ends with the kill below; init's shell then reports it ("Killed"), which is
# compared with Linux like the rest.
echo '==== SCRIPT END ===='
# Init has no SIGKILL handler, so of its process group only this shell dies; init goes on
# to print the end marker.
kill -9 0
echo "not reached"
