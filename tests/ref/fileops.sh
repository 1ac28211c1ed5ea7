# Runs the file-operations probe (tests/ref/fileops.c).
/bin/fileops
echo "exit $?"
echo '==== SCRIPT END ===='
