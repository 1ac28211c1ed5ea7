# Runs the inotify probe (tests/ref/inotify.c) on a fresh tmpfs, then Debian's inotifywait
# (inotify-tools) watching a directory while the script changes it.
mkdir -p /tmp
mount -t tmpfs tmpfs /tmp
/bin/inotify
echo "exit $?"

# Waits (at most 10 s) until file $1 holds a line matching $2.
wait_for() {
    i=0
    while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
}
mkdir /tmp/iw
inotifywait -m -e create,modify,attrib,close_write,moved_from,moved_to,delete,delete_self \
    --format '%e %f' /tmp/iw >/tmp/iw.log 2>/tmp/iw.err &
monitor=$!
wait_for /tmp/iw.err established
echo hello >/tmp/iw/a
echo more >>/tmp/iw/a
chmod 600 /tmp/iw/a
mv /tmp/iw/a /tmp/iw/b
mkdir /tmp/iw/d
rmdir /tmp/iw/d
rm /tmp/iw/b
rmdir /tmp/iw
wait_for /tmp/iw.log DELETE_SELF
# Busybox sh may report the killed job ("Terminated") or not, depending on when it reaps
# it: that line is hidden, its status shown.
{ kill $monitor; wait $monitor; } 2>/dev/null
echo "monitor status $?"
cat /tmp/iw.err /tmp/iw.log

mkdir /tmp/once && touch /tmp/once/f
inotifywait -e delete_self /tmp/once/f >/tmp/once.log 2>/tmp/once.err &
waiter=$!
wait_for /tmp/once.err established
rm /tmp/once/f
wait $waiter
echo "inotifywait exit $?"
cat /tmp/once.err /tmp/once.log
echo '==== SCRIPT END ===='
