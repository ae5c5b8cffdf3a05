#!/bin/sh
# Measures "check --read-data" throughput of cairn and, when installed,
# restic on the same data, in the same run. Usage:
#   scripts/bench-check.sh [SIZE_MIB]   (default 2048)
# Needs bin/cairn (make build). restic comes from scripts/peers.sh (make bench).
set -eu
size_mib=${1:-2048}
root=$(cd "$(dirname "$0")/.." && pwd)
cairn="$root/bin/cairn"
work=$(mktemp -d /tmp/cairn-bench-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
data="$work/data"
mkdir -p "$data/random" "$data/text"
files=$((size_mib / 32))
echo "generating $size_mib MiB in $((files * 2)) files (half random, half base64 text)"
i=0
while [ $i -lt $files ]; do
	head -c 16777216 /dev/urandom >"$data/random/r$i"
	head -c 12582912 /dev/urandom | base64 -w 100 | head -c 16777216 >"$data/text/t$i"
	i=$((i + 1))
done

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }

# seconds prints the wall time of a command in seconds (with fractions).
seconds() {
	start=$(date +%s.%N)
	"$@" >/dev/null
	end=$(date +%s.%N)
	awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}

export CAIRN_PASSWORD=bench CAIRN_REPOSITORY="$work/cairn-repo"
"$cairn" init -q
"$cairn" backup -q "$data"
cairn_size=$(du -sb "$work/cairn-repo" | cut -f1)
drop_caches
cairn_s=$(seconds "$cairn" check --read-data -q)
cairn_mbs=$(awk -v n="$cairn_size" -v s="$cairn_s" 'BEGIN { print n / 1e6 / s }')
printf 'cairn  check --read-data: %6.0f MB repository in %6.2f s = %7.1f MB/s\n' \
	"$(awk -v n="$cairn_size" 'BEGIN { print n / 1e6 }')" "$cairn_s" "$cairn_mbs"

if ! command -v restic >/dev/null 2>&1; then
	echo "restic is not installed (scripts/peers.sh install); no ratio"
	exit 0
fi
export RESTIC_PASSWORD=bench RESTIC_REPOSITORY="$work/restic-repo"
restic init -q --repository-version 2 >/dev/null
restic backup -q "$data" >/dev/null
restic_size=$(du -sb "$work/restic-repo" | cut -f1)
drop_caches
restic_s=$(seconds restic check --read-data -q --no-cache)
restic_mbs=$(awk -v n="$restic_size" -v s="$restic_s" 'BEGIN { print n / 1e6 / s }')
printf 'restic check --read-data: %6.0f MB repository in %6.2f s = %7.1f MB/s (%s)\n' \
	"$(awk -v n="$restic_size" 'BEGIN { print n / 1e6 }')" "$restic_s" "$restic_mbs" "$(restic version | cut -d' ' -f1-2)"
printf 'cairn/restic throughput ratio: %.2fx\n' "$(awk -v a="$cairn_mbs" -v b="$restic_mbs" 'BEGIN { print a / b }')"
