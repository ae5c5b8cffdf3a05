#!/bin/bash
# PostgreSQL for cairn's tests.
#
#   scripts/postgres.sh run -- CMD ...   start a PostgreSQL server from
#                                        Debian's package on a free 127.0.0.1
#                                        port with a temporary data directory,
#                                        run CMD with CAIRN_TEST_PG_HOST,
#                                        CAIRN_TEST_PG_PORT and
#                                        CAIRN_TEST_PG_USER set, then stop it
#
# Without a server binary, CMD runs without it: outside CI the test that
# needs it skips with one line; in CI it fails.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)

run() {
	if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
		if [ -n "${CI:-}" ]; then
			echo "postgres.sh: PostgreSQL is not installed (scripts/deps.sh installs it)" >&2
			exit 1
		fi
		echo "postgres.sh: PostgreSQL unavailable; the PostgreSQL test will skip" >&2
		exec "$@"
	fi
	local data port as user status pid
	data=$(mktemp -d /tmp/cairn-pg.XXXXXX)
	port=$(free_port)
	as=()
	user=$(id -un)
	if [ "$(id -u)" = 0 ]; then
		# initdb refuses to run as root: the server runs as postgres.
		chown postgres "$data"
		as=(runuser -u postgres --)
		user=postgres
	fi
	trap '"${as[@]}" "$bindir/pg_ctl" -D "$data/db" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$data"' EXIT
	"${as[@]}" "$bindir/initdb" -D "$data/db" -U "$user" -A trust >"$data/initdb.log" 2>&1 || { cat "$data/initdb.log" >&2; exit 1; }
	"${as[@]}" "$bindir/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t 60 \
		-o "-h 127.0.0.1 -p $port -k $data -c fsync=off" start >/dev/null || { cat "$data/server.log" >&2; exit 1; }
	echo "postgres.sh: PostgreSQL listening on 127.0.0.1:$port" >&2
	status=0
	CAIRN_TEST_PG_HOST=127.0.0.1 CAIRN_TEST_PG_PORT=$port CAIRN_TEST_PG_USER=$user "$@" || status=$?
	exit $status
}

case "${1:-}" in
run)
	shift
	[ "${1:-}" = "--" ] && shift
	run "$@"
	;;
*)
	echo "usage: $0 run -- COMMAND [ARGS...]" >&2
	exit 2
	;;
esac
