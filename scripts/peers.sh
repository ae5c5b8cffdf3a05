#!/bin/bash
# The peers cairn's benchmarks compare against, at pinned versions:
#   restic  0.19.1, built from its Go module into .tools/peers/
#   kopia   0.23.1, built from its Go module into .tools/peers/ (its
#           module cannot be installed with go install by version, so its
#           source is downloaded with go mod download and built in a copy)
#   borg    Debian's borgbackup package (apt-get)
#
#   scripts/peers.sh install [NAME...]
#                                   build or install the missing peers (all,
#                                   or only those named: restic kopia borg)
#   scripts/peers.sh run -- CMD ... install them, then run CMD with
#                                   .tools/peers first on PATH
#
# A peer that cannot be installed is named on stderr and left out; cairn
# bench then lists it as skipped. Debian's restic (0.14) is older than the
# one built here; the one built here comes first on PATH.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/.tools/peers
restic_version=v0.19.1
kopia_version=v0.23.1

restic_install() {
	if [ -x "$dir/restic" ]; then return 0; fi
	echo "peers.sh: building restic $restic_version into .tools/peers (about a minute)" >&2
	(cd /tmp && GOFLAGS= GOBIN="$dir" go install "github.com/restic/restic/cmd/restic@$restic_version") >&2
}

kopia_install() {
	if [ -x "$dir/kopia" ]; then return 0; fi
	echo "peers.sh: building kopia $kopia_version into .tools/peers (about a minute)" >&2
	local info src commit tmp
	info=$(cd /tmp && GOFLAGS= go mod download -json "github.com/kopia/kopia@$kopia_version") || return 1
	src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info")
	commit=$(sed -n 's/^[[:space:]]*"Hash": "\(.*\)",$/\1/p' <<<"$info")
	[ -n "$src" ] && [ -d "$src" ] || return 1
	tmp=$(mktemp -d /tmp/cairn-kopia-src.XXXXXX)
	cp -r "$src/." "$tmp"
	chmod -R u+w "$tmp"
	(cd "$tmp" && GOFLAGS= go build -trimpath -o "$dir/kopia" \
		-ldflags "-s -w -X github.com/kopia/kopia/repo.BuildVersion=${kopia_version#v} -X github.com/kopia/kopia/repo.BuildInfo=${commit:-unknown} -X github.com/kopia/kopia/repo.BuildGitHubRepo=kopia/kopia" .) >&2 ||
		{ rm -rf "$tmp"; return 1; }
	rm -rf "$tmp"
}

borg_install() {
	if command -v borg >/dev/null 2>&1; then return 0; fi
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then return 1; fi
	echo "peers.sh: installing borgbackup" >&2
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends borgbackup; } >&2
}

install() {
	mkdir -p "$dir"
	local names=("$@") status=0
	[ ${#names[@]} -gt 0 ] || names=(restic kopia borg)
	for n in "${names[@]}"; do
		case $n in
		restic) restic_install || { echo "peers.sh: could not build restic $restic_version; it is left out" >&2; status=1; } ;;
		kopia) kopia_install || { echo "peers.sh: could not build kopia $kopia_version; it is left out" >&2; status=1; } ;;
		borg) borg_install || { echo "peers.sh: could not install borg; it is left out" >&2; status=1; } ;;
		*) echo "peers.sh: no peer named $n" >&2; return 2 ;;
		esac
	done
	return $status
}

case "${1:-}" in
install) shift; install "$@" ;;
run)
	shift
	[ "${1:-}" = -- ] && shift
	install || true
	export PATH="$dir:$PATH"
	exec "$@"
	;;
*)
	echo "usage: scripts/peers.sh install | run -- CMD ..." >&2
	exit 2
	;;
esac
