# Runs the PID namespace probe (tests/ref/pidns.c): numbers inside, init's protection and end, /proc inside and out.
/bin/pidns
echo "exit $?"
echo '==== SCRIPT END ===='
