// Package schedule runs configured sources on their schedules: it turns
// cron expressions into systemd OnCalendar lines, writes and removes
// systemd units and crontab entries, and is the built-in daemon that runs
// jobs itself and alerts, once per missed window, when a source misses
// its RPO.
package schedule
