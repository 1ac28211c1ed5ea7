# Deterministic busybox workout, run under Linux and under cocoon; the outputs must match
# byte for byte. No PIDs, times, addresses or sizes that depend on the kernel are printed.
echo "== control flow"
for i in 1 2 3; do
    case $i in 1) echo one ;; 2) echo two ;; *) echo other ;; esac
done
f() { echo "f got $# args: $*"; return 3; }
f a "b c" d; echo "status $?"
x=0; while [ $x -lt 5 ]; do x=$((x + 1)); done; echo "x=$x"
trap 'echo trapped USR1' USR1
kill -USR1 $$
trap - USR1
if false; then echo wrong; elif true; then echo elif-ok; fi
echo "== text tools"
printf 'banana\napple\ncherry\napple\n' > /tmp/fruit
sort /tmp/fruit | uniq -c
sed 's/a/A/g' /tmp/fruit | head -n 2
awk '{ n += length($0) } END { print "chars", n }' /tmp/fruit
grep -n an /tmp/fruit
echo "abc def" | tr 'a-z' 'A-Z'
echo "== files"
mkdir -p /tmp/t/a/b && cd /tmp/t
echo hello > a/b/f
ln -s a/b/f link && cat link
cp -a a c && find . | sort
find . -name f -type f | sort | xargs cat
tar cf /tmp/t.tar a && tar tf /tmp/t.tar | sort
mkdir /tmp/u && cd /tmp/u && tar xf /tmp/t.tar && cat a/b/f && cd /tmp/t
gzip -c /tmp/fruit > /tmp/fruit.gz && gzip -dc /tmp/fruit.gz | md5sum
sha256sum /tmp/fruit
# getcwd inside a mounted filesystem names the mountpoint (procfs and devtmpfs are mounts).
(cd /proc && /bin/busybox pwd -P); (cd /dev && /bin/busybox pwd -P)
dd if=/dev/zero of=/tmp/z bs=1k count=4 2>/dev/null && stat -c '%s %F %a' /tmp/z
chmod 640 /tmp/z && stat -c '%a %h' /tmp/z
ln /tmp/z /tmp/z-hard && stat -c '%h' /tmp/z
mv /tmp/z /tmp/z2 && ls /tmp/z2 && rm /tmp/z2 /tmp/z-hard
ls /tmp/z2 2>/dev/null || echo "z2 gone"
stat -c '%F' link
readlink link
echo "== redirection"
echo out > /tmp/r; echo more >> /tmp/r; cat < /tmp/r
cat /nonexistent 2>&1 | sed 's/^cat: //'
{ echo to-stderr >&2; } 2>&1
echo "== processes"
sleep 0.1 &
wait $!; echo "sleep exited $?"
(exit 7); echo "subshell exit $?"
sh -c 'kill -TERM $$'; echo "killed status $?"
sh -c 'exit 42'; echo "exit status $?"
echo "$(echo nested $(echo deeper))"
(sleep 0.5; echo child-done) &
c=$!; kill -STOP $c; echo stopped; sleep 0.2; kill -CONT $c; wait $c; echo "continued child status $?"
sh -c 'trap "echo alarm trapped" ALRM; sleep 0.3 & kill -ALRM $$; wait'
cat /proc/self/stat | cut -d' ' -f3
tr '\0' ' ' < /proc/self/cmdline; echo
sleep 0.2 & kill %1 2>/dev/null; wait; echo "after kill %1"
i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i + 1)); done; echo "forked $i children"
echo "== done"
echo '==== SCRIPT END ===='
