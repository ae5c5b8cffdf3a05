#!/bin/bash
# Installs the Debian packages cairn's tests use when they are missing:
#   postgresql  a real server for the pg_dump source test (scripts/postgres.sh)
#   sqlite3     the verify command of the SQLite drill example
#   systemd     systemd-analyze, to verify the schedule's unit files
#   tmux        a real 80-column terminal for the progress display's test
#   fuse3       fusermount3, with which cairn mount mounts and unmounts as a
#               user other than root (root mounts directly)
#   chromium    a real headless browser for the web console's test
# Needs root and apt-get. Outside CI (CI unset) a machine that cannot
# install them goes on, and the tests that need them skip with one line.
set -euo pipefail
missing=()
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v fusermount3 >/dev/null 2>&1 || command -v fusermount >/dev/null 2>&1 || missing+=(fuse3)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v pg_dump >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "deps.sh: installing ${missing[*]}" >&2
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "deps.sh: cannot install ${missing[*]} (needs root and apt-get)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
