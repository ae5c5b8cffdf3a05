package routine

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// Metrics builds a registry of every source's metrics from the state
// files, so the text file and the daemon's /metrics say the same.
func Metrics(cfg *config.Config, store StateStore, now time.Time) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
		reg.MustRegister(g)
		return g
	}
	lastSuccess := gauge("cairn_last_success_timestamp_seconds", "Time of the source's last successful backup.", "source")
	lastRun := gauge("cairn_last_run_timestamp_seconds", "Time of the source's last run.", "source")
	runOK := gauge("cairn_last_run_success", "1 if the source's last run succeeded, else 0.", "source")
	duration := gauge("cairn_backup_duration_seconds", "Duration of the source's last backup.", "source")
	added := gauge("cairn_backup_data_added_bytes", "Bytes the source's last backup added to the repository.", "source")
	files := gauge("cairn_backup_files", "Files the source's last backup processed.", "source")
	rpo := gauge("cairn_rpo_seconds", "The source's recovery point objective.", "source")
	missed := gauge("cairn_rpo_missed", "1 if the source's last successful backup is older than its RPO.", "source")
	size := gauge("cairn_repository_size_bytes", "Stored size of the repository, as last measured.", "repository")
	checkOK := gauge("cairn_check_success", "1 if the last check of the source's data in the repository passed.", "source", "repository")
	checkTime := gauge("cairn_last_check_timestamp_seconds", "Time of the last check of the repository for the source.", "source", "repository")
	for _, name := range cfg.SourceNames() {
		src := cfg.Sources[name]
		st, err := store.Load(name)
		var damaged *DamagedStateError
		if err != nil && !errors.As(err, &damaged) {
			return nil, err
		}
		rpo.WithLabelValues(name).Set(src.RPODuration.Seconds())
		missed.WithLabelValues(name).Set(boolGauge(RPOMissed(src, st, now)))
		if !st.LastRun.IsZero() {
			lastRun.WithLabelValues(name).Set(unix(st.LastRun))
			runOK.WithLabelValues(name).Set(boolGauge(st.LastStatus == StatusOK || st.LastStatus == StatusWarning))
			duration.WithLabelValues(name).Set(st.LastDuration)
			added.WithLabelValues(name).Set(float64(st.LastDataAdded))
			files.WithLabelValues(name).Set(float64(st.LastFiles))
		}
		if !st.LastSuccess.IsZero() {
			lastSuccess.WithLabelValues(name).Set(unix(st.LastSuccess))
		}
		for repo, t := range st.LastCheck {
			checkTime.WithLabelValues(name, repo).Set(unix(t))
			checkOK.WithLabelValues(name, repo).Set(boolGauge(st.LastCheckOK[repo]))
		}
		for repo, n := range st.RepoSize {
			size.WithLabelValues(repo).Set(float64(n))
		}
	}
	return reg, nil
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// RPOMissed reports whether a source's newest successful backup is older
// than its RPO (or it has none).
func RPOMissed(src *config.Source, st *State, now time.Time) bool {
	return st.LastSuccess.IsZero() || now.Sub(st.LastSuccess) > src.RPODuration
}

// WriteMetrics rewrites the Prometheus text file atomically.
func WriteMetrics(cfg *config.Config, store StateStore, now time.Time) error {
	reg, err := Metrics(cfg, store, now)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.MetricsFile), 0o755); err != nil {
		return err
	}
	return prometheus.WriteToTextfile(cfg.MetricsFile, reg)
}

// MetricsHandler serves /metrics from the state files.
func MetricsHandler(cfg *config.Config, store StateStore, now func() time.Time) http.Handler {
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		reg, err := Metrics(cfg, store, now())
		if err != nil {
			return nil, err
		}
		return reg.Gather()
	})
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}
