# Debian's dynamically linked coreutils (glibc, ld.so, shared libraries mapped with mmap).
/usr/bin/printf '%s\n' "dynamic printf" cherry apple banana > /tmp/list
/usr/bin/sort /tmp/list
/usr/bin/md5sum /tmp/list
/usr/bin/ls /bin/busybox /tmp/list
/usr/bin/cat /tmp/list | /usr/bin/wc -l
/usr/bin/env -i A=1 /usr/bin/env
/usr/bin/stat -c '%s %F' /tmp/list
/usr/bin/ls /nonexistent 2>&1; echo "ls status $?"
echo '==== SCRIPT END ===='
