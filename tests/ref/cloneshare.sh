# Runs the probe of processes that share tables (tests/ref/cloneshare.c): CLONE_FILES,
# CLONE_FS, CLONE_SIGHAND and CLONE_VM without CLONE_THREAD, and unshare(2) of them.
/bin/cloneshare
echo "exit $?"
echo '==== SCRIPT END ===='
