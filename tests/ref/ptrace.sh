# Runs the ptrace probe (tests/ref/ptrace.c): tracing, stops, registers, events, errors.
/bin/ptrace
echo "exit $?"
echo '==== SCRIPT END ===='
