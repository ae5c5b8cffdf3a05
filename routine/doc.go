// Package ops runs backups by themselves: the routine of a configured
// source (run lock, hooks, backup to the primary, copies, verification,
// retention, rolling checks), database sources, notifications, metrics,
// and schedules (systemd units, crontab entries, and the built-in daemon).
//
// Terms:
//
//   - A run is one pass of a source's routine; its Report lists every
//     step with a status: ok, skipped, warning or failed. The worst step
//     decides the run's status and exit code.
//   - State is what cairn remembers about a source between runs (last
//     success, last prune and check per target), kept as JSON files in the
//     configuration's state directory.
//   - An Executor runs cairn commands; runs use the cairn binary itself,
//     so each step has its own process, locks and exit code.
//
// Old backups are never deleted before the new one is known to be good:
// forget and prune run on a target only after this run's backup succeeded
// and its newest snapshot there was read back and verified.
package routine
