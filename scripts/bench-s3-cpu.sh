#!/bin/bash
# CPU seconds of cairn and of MinIO for a backup and a restore of 1 GiB to
# MinIO on 127.0.0.1, beside the same on a local repository: on a machine
# where MinIO shares the cores, their sum bounds the S3 throughput. Run
# through scripts/minio.sh:
#   scripts/minio.sh run -- scripts/bench-s3-cpu.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cairn="$root/bin/cairn"
: "${CAIRN_TEST_S3_ENDPOINT:?run through scripts/minio.sh run --}"
pid=$(pgrep -f "minio server" | head -1)
tck=$(getconf CLK_TCK)
minio_cpu() { awk -v t="$tck" '{ print ($14 + $15) / t }' "/proc/$pid/stat"; }
work=$(mktemp -d /tmp/cairn-s3cpu.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/data"
echo "generating 1 GiB in 4 files (half random, half base64 text)"
for i in 1 2 3 4; do
	{ head -c 134217728 /dev/urandom; head -c 100663296 /dev/urandom | base64 -w 100 | head -c 134217728; } >"$work/data/big$i"
done
sync
export CAIRN_PASSWORD=bench AWS_ACCESS_KEY_ID=$CAIRN_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$CAIRN_TEST_S3_SECRET_KEY
TIMEFORMAT='%R s wall, %U user + %S sys CPU-s'
s3="s3:http://$CAIRN_TEST_S3_ENDPOINT/cpu-$RANDOM/repo"
local="$work/local-repo"
"$cairn" -r "$s3" init -q
"$cairn" -r "$local" init -q
for kind in local s3; do
	if [ $kind = local ]; then repo=$local; else repo=$s3; fi
	sync
	m0=$(minio_cpu)
	echo -n "$kind backup:  "
	time "$cairn" -r "$repo" backup -q "$work/data"
	m1=$(minio_cpu)
	sync
	echo -n "$kind restore: "
	time "$cairn" -r "$repo" restore -q latest --target "$work/restore"
	m2=$(minio_cpu)
	rm -rf "$work/restore"
	[ $kind = s3 ] && awk -v a="$m0" -v b="$m1" -v c="$m2" 'BEGIN { printf "MinIO: %.2f CPU-s during the backup, %.2f during the restore\n", b - a, c - b }'
done
