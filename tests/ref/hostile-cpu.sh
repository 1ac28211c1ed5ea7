# Runs the hostile-CPU probe (tests/ref/hostile-cpu.c): flags, single-step, int N, selectors, FP state.
/bin/hostile-cpu
echo "exit $?"
echo '==== SCRIPT END ===='
