#!/bin/sh
# Fetches Debian's fio and the shared libraries it loads into a cache directory, and prints the
# path of a tree that holds only what fio needs to run in the guest:
#   bin/fio                          Debian's /usr/bin/fio
#   lib/ld-linux-x86-64.so.2         the dynamic loader
#   lib/*.so*                        every library the loader resolves for fio (files, not links)
# Run it in the guest as `lib/ld-linux-x86-64.so.2 --library-path lib bin/fio ...`.
#
# Usage: fetch-fio.sh CACHE_DIR
# The packages (fio and the library packages it depends on, recursively) are downloaded with
# `apt-get download` and unpacked with `dpkg-deb -x`; nothing is installed. The tree is rebuilt
# only when apt's candidate version of fio changes, so this needs the network once.
set -eu

cache=${1:?usage: fetch-fio.sh CACHE_DIR}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
root=$cache/root

version=$(apt-cache policy fio 2>/dev/null | sed -n 's/^ *Candidate: //p')
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
    # No apt metadata (offline?): use the tree made before.
    [ -x "$root/bin/fio" ] || { echo "fetch-fio: apt-cache does not know fio" >&2; exit 1; }
    echo "$root"
    exit 0
fi
if [ -x "$root/bin/fio" ] && [ "$(cat "$root/.fio-version" 2>/dev/null)" = "$version" ]; then
    echo "$root"
    exit 0
fi

# fio's Depends, recursively, without Recommends and the like; only library packages (lib*,
# zlib1g) hold what the loader needs (fio's python scripts and init script are left out).
pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances fio | grep -v '^ ' | grep -E '^(lib|zlib1g$)' | sort -u)
rm -rf "$cache/debs" "$cache/stage" "$root.tmp"
mkdir -p "$cache/debs" "$cache/stage" "$root.tmp/bin" "$root.tmp/lib"
echo "fetch-fio: apt-get download fio=$version and $(echo "$pkgs" | wc -l) library packages" >&2
# shellcheck disable=SC2086
(cd "$cache/debs" && apt-get download -q "fio=$version" $pkgs >"$cache/download.log" 2>&1) || {
    cat "$cache/download.log" >&2
    exit 1
}
for deb in "$cache"/debs/*.deb; do
    dpkg-deb -x "$deb" "$cache/stage"
done

stage=$cache/stage
libdirs=$stage/lib/x86_64-linux-gnu:$stage/usr/lib/x86_64-linux-gnu:$stage/usr/lib/x86_64-linux-gnu/ceph
loader=$stage/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
[ -e "$loader" ] || loader=$stage/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
# The unpacked loader lists what it would load (it runs nothing of fio's).
"$loader" --list --library-path "$libdirs" "$stage/usr/bin/fio" > "$cache/libs.txt"
if grep -q 'not found' "$cache/libs.txt"; then
    echo "fetch-fio: libraries missing from the downloaded packages:" >&2
    grep 'not found' "$cache/libs.txt" >&2
    exit 1
fi
cp "$stage/usr/bin/fio" "$root.tmp/bin/fio"
cp -L "$loader" "$root.tmp/lib/ld-linux-x86-64.so.2"
awk '$1 !~ /^\// && $2 == "=>" && $3 ~ /^\// { print $1, $3 }' "$cache/libs.txt" | while read -r name path; do
    case $path in
    "$stage"/*) cp -L "$path" "$root.tmp/lib/$name" ;;
    *) echo "fetch-fio: $name resolved outside the download: $path" >&2; exit 1 ;;
    esac
done
echo "$version" > "$root.tmp/.fio-version"
rm -rf "$root" "$cache/stage"
mv "$root.tmp" "$root"
echo "$root"
