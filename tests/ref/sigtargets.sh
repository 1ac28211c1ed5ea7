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
wait $!
echo "background sleep ended: $?"
echo "shell checks: 4"
# The script's last line is the kill below; the judge requires this marker to be the last
# line of the output, so a kill that returns (and prints "not reached") fails the run.
echo '==== SCRIPT END ===='
# Init has no SIGKILL handler, so of its process group only this shell dies; init goes on
# to print the end marker.
kill -9 0
echo "not reached"
