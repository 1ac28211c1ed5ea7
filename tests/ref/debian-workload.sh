#!/bin/bash
# Debian userland workout (run by tests/ref/debian-init under both kernels): bash features,
# coreutils at volume, and the Python workout. Deterministic output only.
set -u
cd /tmp
seq 1 100000 | sort -r | head -n 3
seq 1 100000 | sort -n | sha256sum
split -l 25000 <(seq 1 100000) part. && cat part.* | md5sum && ls part.* | wc -l
mkdir -p tree/a/b && echo leaf > tree/a/b/f && ln -s a/b/f tree/link
cp -a tree tree2 && find tree2 -exec stat -c '%n %F' {} \; | sort
tar czf t.tgz tree && mkdir x && tar xzf t.tgz -C x && cat x/tree/link
declare -a arr=(3 1 2); IFS=$'\n' sorted=($(sort <<<"${arr[*]}")); unset IFS; echo "sorted ${sorted[*]}"
( trap 'echo subshell trap' EXIT; exit 0 )
sleep 0.2 & sleep 0.05 & wait -n; echo "wait -n $?"; wait
# Two sqlite3 processes writing one database at once: its locking is POSIX record locks.
sqlite3 /tmp/c.db "CREATE TABLE t(w TEXT, i INTEGER);"
writer() { for i in $(seq 1 60); do echo "BEGIN IMMEDIATE; INSERT INTO t VALUES('$1',$i); COMMIT;"; done | sqlite3 -cmd ".timeout 60000" /tmp/c.db; }
writer a & writer b & wait
sqlite3 /tmp/c.db "SELECT w, count(*), sum(i) FROM t GROUP BY w ORDER BY w; PRAGMA integrity_check;"
python3 /ref/python.py
echo '==== SCRIPT END ===='
