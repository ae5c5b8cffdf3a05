package snapshot

import "github.com/cairn-backup/cairn/wire"

// ErrFormat is returned (wrapped) for a tree or snapshot that cannot be
// decoded. It is wire.ErrFormat, so errors.Is matches either.
var ErrFormat = wire.ErrFormat
