// Package bench generates deterministic datasets and runs timed backup,
// re-backup, restore and check steps with cairn and, when installed, with
// restic, borg and kopia on the same data in the same run. Only the cairn
// command imports it.
package bench
