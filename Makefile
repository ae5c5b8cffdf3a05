# cairn build, test and benchmark targets. Only Go, gcc, git and make are
# assumed; tools the build needs are installed into .tools/ by this file.

GO          ?= go
TOOLS       := $(CURDIR)/.tools
STATICCHECK := $(TOOLS)/staticcheck
STATICCHECK_VERSION := v0.8.2
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X main.version=$(VERSION)

.PHONY: all build test fmt-check vet cross lint unit minio deps peers-restic bench demo clean install release

PREFIX      ?= /usr/local
DESTDIR     ?=

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/cairn ./cmd/cairn

## test: formatting, go vet, staticcheck, then every test with the race
## detector, with a MinIO server (built into .tools/ on first use) running
## on 127.0.0.1 for the S3 tests and a PostgreSQL server (Debian's package,
## installed by scripts/deps.sh) for the pg_dump source test.
test: fmt-check vet cross lint deps minio peers-restic unit

## peers-restic: restic 0.19.1, built into .tools/peers by scripts/peers.sh
## (about a minute), against which forget's decisions are compared.
peers-restic:
	@scripts/peers.sh install restic || [ -z "$$CI" ]

minio:
	@scripts/minio.sh install || [ -z "$$CI" ]

## deps: Debian packages the tests use (PostgreSQL, sqlite3, systemd-analyze, tmux).
deps:
	@scripts/deps.sh || [ -z "$$CI" ]

fmt-check:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## cross: go vet for every other supported platform (tests included), then
## the release build of every platform, checked (scripts/release.sh).
CROSS_PLATFORMS := darwin/amd64 darwin/arm64 freebsd/amd64 windows/amd64
cross:
	@for p in $(CROSS_PLATFORMS); do \
		echo "go vet ./... for $$p"; \
		GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) vet ./... || exit 1; \
	done
	@d=$$(mktemp -d /tmp/cairn-release.XXXXXX); \
	GO=$(GO) scripts/release.sh --check $$d/dist $(VERSION); status=$$?; rm -rf $$d; exit $$status

## release: static binaries for linux, darwin, freebsd and windows with
## SHA256SUMS in dist/ (VERSION defaults to git describe).
release:
	GO=$(GO) scripts/release.sh dist $(VERSION)

$(STATICCHECK):
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: $(STATICCHECK)
	$(STATICCHECK) ./...

unit:
	scripts/minio.sh run -- scripts/postgres.sh run -- $(GO) test -race -count=1 -timeout 45m ./...
	@echo "restore and backup again with the restore code of macOS, FreeBSD and Windows (tag cairn_portable):"
	scripts/minio.sh run -- $(GO) test -count=1 -tags cairn_portable ./snapshot ./repo

## bench: per-stage throughput (MB/s), index memory (bytes/blob), prune
## time and peak heap at 1M blobs, check --read-data throughput on 2 GiB
## against restic in the same run, and backup/restore MB/s to MinIO on
## 127.0.0.1 beside a local repository, and cairn bench on a 300 MiB tree
## against the installed peers (plot in bench-tree.svg), and cairn mount
## against dump and restic's mount. The peers (restic 0.19.1 and kopia
## 0.23.1 built into .tools/peers, borg from Debian) are installed by
## scripts/peers.sh. About eight minutes, and one more to build the peers.
bench: build minio
	$(GO) test -run XXX -bench . -benchtime 2s ./chunk/ ./crypto/ ./pack/ ./index/
	$(GO) test -run XXX -bench Prune1M -benchtime 1x ./repo/
	scripts/peers.sh run -- scripts/bench-check.sh 2048
	scripts/minio.sh run -- scripts/peers.sh run -- scripts/bench-s3.sh 1024
	scripts/peers.sh run -- scripts/bench-mount.sh 1024 1GiB
	@d=$$(mktemp -d /tmp/cairn-bench-tree.XXXXXX); \
	bin/cairn bench gen --profile tree --size 300MiB --seed 1 $$d/data && \
	scripts/peers.sh run -- bin/cairn bench run $$d/data --compare restic,borg,kopia --same-settings --plot bench-tree.svg; \
	status=$$?; rm -rf $$d; exit $$status

clean:
	rm -rf bin

## install: the binary, a man page per command and the shell completions
## under $(DESTDIR)$(PREFIX) (bin, share/man/man1, and bash, zsh and fish
## completion directories).
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 0755 bin/cairn $(DESTDIR)$(PREFIX)/bin/cairn
	bin/cairn generate -q --man $(DESTDIR)$(PREFIX)/share/man/man1 \
		--bash-completion $(DESTDIR)$(PREFIX)/share/bash-completion/completions/cairn \
		--zsh-completion $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_cairn \
		--fish-completion $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/cairn.fish

## demo: build, back up this source tree, list, restore with --verify.
DEMO_DIR := $(shell mktemp -d -u /tmp/cairn-demo.XXXXXX)
demo: build
	@set -e; \
	export CAIRN_REPOSITORY=$(DEMO_DIR)/repo CAIRN_PASSWORD=demo-password; \
	echo "== cairn init -r $$CAIRN_REPOSITORY"; bin/cairn init; \
	echo; echo "== cairn backup $(CURDIR)"; bin/cairn backup --exclude .tools --exclude bin $(CURDIR); \
	echo; echo "== cairn backup $(CURDIR)  (again: unchanged files are not read)"; bin/cairn backup --exclude .tools --exclude bin $(CURDIR); \
	echo; echo "== cairn snapshots"; bin/cairn snapshots; \
	echo; echo "== cairn restore latest --target $(DEMO_DIR)/restore --verify"; bin/cairn restore latest --target $(DEMO_DIR)/restore --verify; \
	echo; echo "== diff -r $(CURDIR) $(DEMO_DIR)/restore$(CURDIR)"; \
	diff -r -x .tools -x bin -x .git $(CURDIR) $(DEMO_DIR)/restore$(CURDIR) && echo "restored tree is identical"; \
	echo; echo "== cairn stats"; bin/cairn stats; \
	rm -rf $(DEMO_DIR)
