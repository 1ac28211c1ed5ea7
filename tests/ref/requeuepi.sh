# Runs the requeue-to-PI futex probe (tests/ref/requeuepi.c): FUTEX_WAIT_REQUEUE_PI and
# FUTEX_CMP_REQUEUE_PI, their errors, the lock taken for the first waiter or handed on by
# UNLOCK_PI, timeouts and signals before and after the requeue.
/bin/requeuepi
echo "exit $?"
echo '==== SCRIPT END ===='
