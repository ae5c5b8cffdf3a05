#!/bin/sh
# release.sh [--check] OUTDIR [VERSION]: static cairn binaries (no cgo,
# paths trimmed, the version stamped in) for every supported platform,
# and SHA256SUMS beside them.
#
# With --check (run by make test): build into OUTDIR, verify the checksums,
# and check that the binary for this machine is static and reports VERSION.
set -eu
check=false
if [ "${1:-}" = --check ]; then check=true; shift; fi
out=${1:?usage: release.sh [--check] OUTDIR [VERSION]}
version=${2:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
GO=${GO:-go}
platforms="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 freebsd/amd64 windows/amd64"

mkdir -p "$out"
for p in $platforms; do
	os=${p%/*} arch=${p#*/} ext=
	[ "$os" = windows ] && ext=.exe
	name=cairn-$version-$os-$arch$ext
	echo "build $name"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch "$GO" build -trimpath \
		-ldflags "-s -w -X main.version=$version" -o "$out/$name" ./cmd/cairn
done
(cd "$out" && sha256sum cairn-"$version"-* > SHA256SUMS)
echo "wrote $(wc -l < "$out/SHA256SUMS") binaries and SHA256SUMS to $out"

if $check; then
	(cd "$out" && sha256sum --quiet -c SHA256SUMS)
	self="$out/cairn-$version-$("$GO" env GOOS)-$("$GO" env GOARCH)"
	got=$("$self" version)
	case "$got" in
	*"$version"*) ;;
	*) echo "release check: $self version says \"$got\", want $version" >&2; exit 1 ;;
	esac
	if "$GO" version -m "$self" | grep -q 'CGO_ENABLED=1'; then
		echo "release check: $self was built with cgo" >&2; exit 1
	fi
	if command -v readelf >/dev/null && readelf -l "$self" | grep -q INTERP; then
		echo "release check: $self is dynamically linked" >&2; exit 1
	fi
	echo "release check: checksums verified; $self is static and reports $version"
fi
