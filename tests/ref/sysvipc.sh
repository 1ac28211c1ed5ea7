# Runs the System V message queue and semaphore probe (tests/ref/sysvipc.c), then util-linux's
# ipcs, ipcmk and ipcrm on what it left (ipcmk's keys are random: they are masked).
/bin/sysvipc
echo "exit $?"
ipcs -q
ipcs -s
echo "==== ipcmk"
Q=$(ipcmk -Q -p 0600 | sed 's/[^0-9]//g')
S=$(ipcmk -S 3 | sed 's/[^0-9]//g')
echo "queue $Q set $S"
ipcs -q | sed 's/^0x[0-9a-f]*/KEY/'
ipcs -s -c
ipcs -q -p | awk '$1 ~ /^[0-9]+$/ { print $1, $2, "lspid set:", ($3 > 0), "lrpid set:", ($4 > 0); next } { print }'
ipcs -q -i "$Q" | grep -v time
ipcs -s -i "$S" | grep -v time
ipcs -u
ipcs -l -q -s
echo "==== ipcrm"
ipcrm -q "$Q"; echo "ipcrm -q: $?"
ipcrm -s "$S"; echo "ipcrm -s: $?"
ipcrm -q "$Q"; echo "ipcrm -q again: $?"
ipcrm -Q 0x1234abcd; echo "ipcrm -Q: $?"
ipcrm -a; echo "ipcrm -a: $?"
ipcs -q -s
cat /proc/sysvipc/msg /proc/sysvipc/sem
echo '==== SCRIPT END ===='
