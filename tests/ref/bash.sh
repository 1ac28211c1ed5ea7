# Debian's bash (dynamically linked): arrays, subshells, process substitution, here-docs,
# traps, wait -n. Run through busybox sh, which hands the real script to bash.
ln -s /proc/self/fd /dev/fd 2>/dev/null
cat > /tmp/t.bash <<'EOF'
set -u
declare -a fruits=(banana apple cherry)
fruits+=(date)
echo "count ${#fruits[@]} second ${fruits[1]}"
declare -A colour=([apple]=red [banana]=yellow)
for k in $(printf '%s\n' "${!colour[@]}" | sort); do echo "$k is ${colour[$k]}"; done
x=$( (echo sub; exit 3); echo "inner status $?" )
echo "$x"
while read -r line; do echo "read: $line"; done < <(printf 'one\ntwo\n')
cat <<HERE
here-doc with $((6 * 7))
HERE
trap 'echo "trap EXIT runs"' EXIT
trap 'echo got USR1' USR1
kill -USR1 $$
sleep 0.2 & a=$!
(sleep 0.05; exit 5) & b=$!
wait -n; echo "first done: $?"
wait $a; echo "sleep done: $?"
f() { local v=$1; echo "local $v"; return 4; }
f arg || echo "f failed with $?"
echo "${fruits[*]^^}"
[[ "abc" =~ ^a(b)c$ ]] && echo "regex group ${BASH_REMATCH[1]}"
printf '%05d|%-4s|%x\n' 42 ab 255
EOF
/usr/bin/bash /tmp/t.bash
echo "bash exit $?"
echo '==== SCRIPT END ===='
