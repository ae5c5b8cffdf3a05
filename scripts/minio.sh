#!/bin/bash
# MinIO for cairn's tests.
#
#   scripts/minio.sh install          build the pinned MinIO server into .tools/ if missing
#   scripts/minio.sh run -- CMD ...    start MinIO on a free 127.0.0.1 port with a
#                                      temporary data folder and random credentials,
#                                      run CMD with CAIRN_TEST_S3_ENDPOINT,
#                                      CAIRN_TEST_S3_ACCESS_KEY and
#                                      CAIRN_TEST_S3_SECRET_KEY set, then stop it
#
# Outside CI (CI unset), a machine that cannot build MinIO runs CMD without
# it and the S3 tests skip with one line; in CI that is an error.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/.." && pwd)
version=v0.0.0-20260212201848-7aac2a2c5b7c
bin=${CAIRN_MINIO:-$root/.tools/minio}

install() {
	if [ -x "$bin" ]; then return 0; fi
	if command -v minio >/dev/null 2>&1; then bin=$(command -v minio); return 0; fi
	echo "minio.sh: building MinIO $version into .tools/ (about five minutes on two cores)" >&2
	mkdir -p "$root/.tools"
	if ! (cd /tmp && GOFLAGS= GOBIN="$root/.tools" go install "github.com/minio/minio@$version") >&2; then
		echo "minio.sh: could not build MinIO" >&2
		return 1
	fi
}

healthy() {
	local line
	exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf 'GET /minio/health/live HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
	read -r -t 2 line <&3 || true
	exec 3>&-
	[[ $line == *" 200 "* ]]
}

run() {
	if ! install; then
		if [ -n "${CI:-}" ]; then exit 1; fi
		echo "minio.sh: MinIO unavailable; the S3 tests will skip" >&2
		exec "$@"
	fi
	local port data user pass pid status
	port=$(free_port)
	data=$(mktemp -d /tmp/cairn-minio.XXXXXX)
	user=$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')
	pass=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
	MINIO_ROOT_USER=$user MINIO_ROOT_PASSWORD=$pass MINIO_BROWSER=off MINIO_UPDATE=off \
		"$bin" server --quiet --address "127.0.0.1:$port" "$data" >"$data.log" 2>&1 &
	pid=$!
	trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data" "$data.log"' EXIT
	for _ in $(seq 1 300); do
		if healthy "$port" 2>/dev/null; then break; fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "minio.sh: MinIO exited:" >&2
			cat "$data.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	healthy "$port" || { echo "minio.sh: MinIO did not become healthy" >&2; exit 1; }
	echo "minio.sh: MinIO listening on 127.0.0.1:$port" >&2
	status=0
	CAIRN_TEST_S3_ENDPOINT=127.0.0.1:$port CAIRN_TEST_S3_ACCESS_KEY=$user CAIRN_TEST_S3_SECRET_KEY=$pass "$@" || status=$?
	exit $status
}

case "${1:-}" in
install) install ;;
run)
	shift
	[ "${1:-}" = "--" ] && shift
	run "$@"
	;;
*)
	echo "usage: $0 install | run -- COMMAND [ARGS...]" >&2
	exit 2
	;;
esac
