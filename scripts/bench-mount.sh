#!/bin/bash
# Measures cairn mount against restic mount on the same data, in the same
# run: a sequential read of a large file (and cairn dump of it, the bound
# the mount is held to), and a find walk over a source tree. Usage:
#   scripts/bench-mount.sh [BIG_MIB] [TREE_SIZE]   (default 1024, 300MiB)
# Needs bin/cairn (make build), FUSE and root (or fusermount3); restic
# from Debian's package, when installed.
set -euo pipefail
big_mib=${1:-1024}
tree_size=${2:-300MiB}
root=$(cd "$(dirname "$0")/.." && pwd)
cairn="$root/bin/cairn"
work=$(mktemp -d /tmp/cairn-bench-mount.XXXXXX)
mnt="$work/mnt"
cleanup() {
	umount -l "$mnt" 2>/dev/null || true
	kill %1 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$mnt" "$work/data"
echo "generating a $big_mib MiB file and a $tree_size tree"
"$cairn" bench gen --profile tree --size "$tree_size" --seed 1 "$work/data/tree" >/dev/null
head -c $((big_mib << 20)) /dev/urandom >"$work/data/big.bin"

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
seconds() { # the wall time of a command, in seconds
	local start end
	start=$(date +%s.%N)
	"$@" >/dev/null
	end=$(date +%s.%N)
	awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }'
}
mbps() { awk -v m="$big_mib" -v s="$1" 'BEGIN { printf "%.0f", m * 1.048576 / s }'; }
wait_mounted() {
	for _ in $(seq 1 200); do
		mountpoint -q "$mnt" && return 0
		sleep 0.05
	done
	echo "bench-mount: $1 did not mount" >&2
	exit 1
}
files=$(find "$work/data/tree" | wc -l)
export CAIRN_PASSWORD=bench RESTIC_PASSWORD=bench
export CAIRN_REPOSITORY="$work/cairn-repo" RESTIC_REPOSITORY="$work/restic-repo"
"$cairn" init -q
"$cairn" backup -q "$work/data"

drop_caches
dump=$(seconds "$cairn" dump latest "$work/data/big.bin")
"$cairn" mount --refresh 1h "$mnt" 2>/dev/null &
wait_mounted cairn
snap="$mnt/snapshots/latest$work/data"
drop_caches
cread=$(seconds cat "$snap/big.bin")
drop_caches
cfind=$(seconds find "$snap/tree")
umount "$mnt"
wait %1 || true
echo "cairn dump of $big_mib MiB:  ${dump}s ($(mbps "$dump") MB/s)"
echo "cairn mount read:           ${cread}s ($(mbps "$cread") MB/s)"
echo "cairn mount find:           ${cfind}s ($files entries)"
echo "mount read / dump:          $(awk -v a="$dump" -v b="$cread" 'BEGIN { printf "%.2f", a / b }')"

if command -v restic >/dev/null; then
	restic init -q >/dev/null
	restic backup -q "$work/data" >/dev/null
	restic mount "$mnt" >/dev/null 2>&1 &
	wait_mounted restic
	rsnap="$mnt/snapshots/latest$work/data"
	drop_caches
	rread=$(seconds cat "$rsnap/big.bin")
	drop_caches
	rfind=$(seconds find "$rsnap/tree")
	umount "$mnt"
	wait %1 || true
	echo "restic $(restic version | cut -d' ' -f2) mount read:    ${rread}s ($(mbps "$rread") MB/s)"
	echo "restic mount find:          ${rfind}s"
	echo "ratios cairn/restic (above 1, cairn is faster): read $(awk -v a="$rread" -v b="$cread" 'BEGIN { printf "%.2f", a / b }'), find $(awk -v a="$rfind" -v b="$cfind" 'BEGIN { printf "%.2f", a / b }')"
else
	echo "restic is not installed: no comparison"
fi
