package assurance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/routine"
)

// GateRecord is a pre-change backup gate, stored encrypted in the primary
// repository (record kind 18) as the artifact of a change record.
type GateRecord struct {
	ID           string    `json:"id,omitempty"` // the record's name
	Time         time.Time `json:"time"`
	Host         string    `json:"host,omitempty"`
	Source       string    `json:"source"`
	Repository   string    `json:"repository"`
	Snapshot     string    `json:"snapshot,omitempty"`
	SnapshotTime time.Time `json:"snapshot_time,omitzero"`
	// TreeHash is the snapshot's root tree ID: a hash over the whole
	// tree, every file's content included.
	TreeHash    string    `json:"tree_hash,omitempty"`
	BackupTaken bool      `json:"backup_taken"`
	Verified    bool      `json:"data_verified"`
	Drill       string    `json:"drill,omitempty"`
	DrillTime   time.Time `json:"drill_time,omitzero"`
	Runbook     string    `json:"runbook,omitempty"`
	RunbookHash string    `json:"runbook_sha256,omitempty"`
	Verdict     string    `json:"verdict"`
	Reasons     []string  `json:"reasons,omitempty"`
}

// Gate decides whether a risky change may go ahead: a fresh snapshot on
// the primary (taken now if the newest is older than maxAge), its data
// read back and verified, a passing drill within drill.max-age, and a
// runbook at runbook. The gate is recorded in the primary either way.
func Gate(ctx context.Context, r *routine.Runner, name string, maxAge time.Duration, runbook string, records Records) (*GateRecord, error) {
	src := r.Config.Sources[name]
	primary := r.Config.Primary(src)
	rn := r.Begin(ctx, name)
	g := &GateRecord{Time: r.Now().UTC(), Source: name, Repository: primary.Name, Runbook: runbook}
	g.Host, _ = os.Hostname()
	no := func(format string, args ...any) { g.Reasons = append(g.Reasons, fmt.Sprintf(format, args...)) }
	snaps, err := rn.Snapshots(primary)
	if err != nil {
		return nil, err
	}
	if len(snaps) == 0 || r.Now().Sub(snaps[len(snaps)-1].Time) > maxAge {
		rn.Logf("%s: gate: no snapshot newer than %v on %s; backing up now\n", name, maxAge, primary.Name)
		g.BackupTaken = true
		if rep := r.Run(ctx, name); rep.Status == routine.StatusFailed {
			no("the backup taken for the gate failed: %s", rep.FirstError())
		}
		if snaps, err = rn.Snapshots(primary); err != nil {
			return nil, err
		}
	}
	if len(snaps) > 0 && r.Now().Sub(snaps[len(snaps)-1].Time) <= maxAge {
		s := snaps[len(snaps)-1]
		g.Snapshot, g.SnapshotTime, g.TreeHash = s.ID, s.Time, s.Tree
		if g.Verified = rn.Verify(primary, s.ID); !g.Verified {
			no("the data of snapshot %s did not verify: %s", routine.ShortID(s.ID), rn.FirstError())
		}
	} else if len(g.Reasons) == 0 {
		no("no snapshot on %s is newer than %v", primary.Name, maxAge)
	}
	gateDrill(ctx, r, rn, g, records, no)
	if b, err := os.ReadFile(runbook); err != nil {
		no("no restore runbook at %s (cairn runbook %s writes it)", runbook, name)
	} else {
		sum := sha256.Sum256(b)
		g.RunbookHash = hex.EncodeToString(sum[:])
	}
	g.Verdict = "go"
	if len(g.Reasons) > 0 {
		g.Verdict = "no-go"
	}
	id, err := records.SaveRecord(ctx, primary, repo.KindGate, g)
	if err != nil {
		return nil, fmt.Errorf("record the gate: %w", err)
	}
	g.ID = id
	return g, nil
}

// gateDrill requires the newest drill (on any target) to have passed
// within drill.max-age.
func gateDrill(ctx context.Context, r *routine.Runner, rn *routine.Session, g *GateRecord, records Records, no func(string, ...any)) {
	var drills []*DrillRecord
	for _, tn := range rn.Source().Targets {
		ds, err := Drills(ctx, records, r.Config.Repositories[tn], rn.Source().Name)
		if err == nil {
			drills = append(drills, ds...)
		}
	}
	var last *DrillRecord
	for _, d := range drills {
		if last == nil || d.Time.After(last.Time) {
			last = d
		}
	}
	maxAge := rn.Source().Drill.MaxAge
	switch {
	case last == nil:
		no("no restore drill is recorded (cairn drill %s)", rn.Source().Name)
	case !last.Pass:
		no("the last restore drill (%s) failed", last.Time.Format(time.RFC3339))
	case r.Now().Sub(last.Time) > config.Duration(maxAge):
		no("the last restore drill is older than drill.max-age %s", maxAge)
	default:
		g.Drill, g.DrillTime = last.ID, last.Time
	}
}
