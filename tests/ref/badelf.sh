# Runs the hostile-ELF probe (tests/ref/badelf.c): a few hundred corrupted executables.
/bin/badelf
echo "exit $?"
echo '==== SCRIPT END ===='
