# Runs the signalfd probe (tests/ref/signalfd.c): signalfd, rt_sigqueueinfo, queued signals.
/bin/signalfd
echo "exit $?"
echo '==== SCRIPT END ===='
