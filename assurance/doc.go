// Package assurance proves that backups can be restored and says whether
// a source is protected: restore drills (restore into a scratch folder,
// verify every file, run the source's checks, compare with the RTO, and
// record the result in the repository), the compliance audit, the
// pre-change gate and the generated restore runbooks. It works through the
// routine's sessions (package routine), so every command it runs is an
// ordinary cairn command with its own locks.
package assurance
