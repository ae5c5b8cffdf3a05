#!/bin/bash
# Backup and restore throughput to MinIO on 127.0.0.1 beside a local
# repository, on the same large files, in the same run. Run through
# scripts/minio.sh (make bench does):
#   scripts/minio.sh run -- scripts/bench-s3.sh [SIZE_MIB]   (default 1024)
set -eu
size_mib=${1:-1024}
root=$(cd "$(dirname "$0")/.." && pwd)
cairn="$root/bin/cairn"
: "${CAIRN_TEST_S3_ENDPOINT:?run through scripts/minio.sh run --}"
work=$(mktemp -d /tmp/cairn-bench-s3.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/data"
files=4
per=$((size_mib / files))
echo "generating $size_mib MiB in $files large files (half random, half base64 text)"
for i in $(seq 1 $files); do
	{ head -c $((per / 2 * 1048576)) /dev/urandom; head -c $((per * 393216)) /dev/urandom | base64 -w 100 | head -c $((per / 2 * 1048576)); } >"$work/data/big$i"
done
bytes=$(du -sb "$work/data" | cut -f1)

export CAIRN_PASSWORD=bench AWS_ACCESS_KEY_ID=$CAIRN_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$CAIRN_TEST_S3_SECRET_KEY
timed() {
	local start end
	start=$(date +%s.%N)
	"$@" >/dev/null
	end=$(date +%s.%N)
	awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}
mbs() { awk -v n="$bytes" -v s="$1" 'BEGIN { printf "%.1f", n / 1e6 / s }'; }

# Each figure is the best of three runs: on a small shared machine single
# runs vary by a factor of two.
best() { sort -g | head -1; }
declare -A backup restore
for kind in local s3; do
	times_b=() times_r=()
	for run in 1 2 3; do
		if [ $kind = local ]; then repo="$work/local-repo-$run"; else repo="s3:http://$CAIRN_TEST_S3_ENDPOINT/bench-$RANDOM-$run/repo"; fi
		"$cairn" -r "$repo" init -q
		sync
		times_b+=("$(timed "$cairn" -r "$repo" backup -q "$work/data")")
		sync
		times_r+=("$(timed "$cairn" -r "$repo" restore -q latest --target "$work/restore-$kind")")
		rm -rf "$work/restore-$kind"
		[ $kind = local ] && rm -rf "$repo"
	done
	backup[$kind]=$(printf '%s\n' "${times_b[@]}" | best)
	restore[$kind]=$(printf '%s\n' "${times_r[@]}" | best)
	printf '%-5s backup %7s MB/s   restore %7s MB/s   (best of 3)\n' "$kind" "$(mbs "${backup[$kind]}")" "$(mbs "${restore[$kind]}")"
done
awk -v bl="${backup[local]}" -v bs="${backup[s3]}" -v rl="${restore[local]}" -v rs="${restore[s3]}" \
	'BEGIN { printf "S3/local throughput: backup %.0f%%, restore %.0f%%\n", 100 * bl / bs, 100 * rl / rs }'
