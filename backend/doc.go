// Package backend defines the storage interface every repository sits on and
// the layout of files in it. A backend stores whole files by Handle (a
// FileType and a name) and knows nothing of their contents. It imports no
// other cairn package.
//
// Implementations live in subpackages: local (a directory on disk), mem (for
// tests), faulty (a fault-injecting wrapper) and backendtest (the conformance
// suite every backend passes).
package backend
