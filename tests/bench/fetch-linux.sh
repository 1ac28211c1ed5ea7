#!/bin/sh
# Fetches Debian's bookworm Linux cloud kernel into a cache directory and prints the path of its vmlinuz.
#
# Usage: fetch-linux.sh CACHE_DIR
# The package is downloaded with `apt-get download` (nothing is installed) and unpacked with
# `dpkg-deb -x`. A package already in CACHE_DIR is reused, so this needs the network only once.
set -eu

cache=${1:?usage: fetch-linux.sh CACHE_DIR}
mkdir -p "$cache"
cd "$cache"

# The metapackage names the current ABI, e.g. linux-image-6.1.0-56-cloud-amd64.
pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n 1)
if [ -z "$pkg" ]; then
    # No apt metadata (offline?): fall back to whatever was downloaded before.
    deb=$(ls -1 linux-image-*-cloud-amd64_*.deb 2>/dev/null | sort | tail -n 1)
    [ -n "$deb" ] || { echo "fetch-linux: apt-cache does not know linux-image-cloud-amd64" >&2; exit 1; }
else
    deb=$(ls -1 "${pkg}"_*.deb 2>/dev/null | sort | tail -n 1 || true)
    if [ -z "$deb" ]; then
        echo "fetch-linux: apt-get download $pkg" >&2
        apt-get download -q "$pkg" >&2
        deb=$(ls -1 "${pkg}"_*.deb | sort | tail -n 1)
    fi
fi

dir=${deb%.deb}
if [ ! -d "$dir/boot" ]; then
    rm -rf "$dir.tmp"
    dpkg-deb -x "$deb" "$dir.tmp"
    mv "$dir.tmp" "$dir"
fi
vmlinuz=$(ls -1 "$dir"/boot/vmlinuz-* | head -n 1)
echo "$(cd "$(dirname "$vmlinuz")" && pwd)/$(basename "$vmlinuz")"
