# Runs the seccomp probe (tests/ref/seccomp.c): seccomp(2), filters and their verdicts,
# strict mode.
/bin/seccomp
echo "exit $?"
echo '==== SCRIPT END ===='
