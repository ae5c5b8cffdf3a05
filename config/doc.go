// Package config reads cairn's configuration file: the repositories
// backups go to, the sources (assets) they protect, and for each source its
// tier, recovery objectives, targets, retention, schedule, hooks,
// notifications and drill settings.
//
// Terms:
//
//   - A repository is a named cairn repository: its location and where its
//     password (and, for S3, its credentials) come from. Secrets are never
//     written into the file itself, only a file or command that yields them.
//   - A source is a named thing to protect: a set of paths, or one
//     database given as "sqlite:PATH" or "command:DUMP COMMAND".
//   - A target is a repository a source is backed up to. The first is the
//     primary, which takes the backup; the others receive copies of it
//     (the 3-2-1 rule).
//   - A tier (critical, important, archival) gives default recovery point
//     and recovery time objectives (RPO, RTO).
//
// Load finds and parses the file; Parse validates it and reports every
// problem with its line number; Show prints the merged result with
// secrets masked.
package config
