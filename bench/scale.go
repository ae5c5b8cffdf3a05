package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// ScalePoint is one first backup of a generated dataset.
type ScalePoint struct {
	Size      int64   `json:"size"` // requested dataset size
	Files     int     `json:"files"`
	Bytes     int64   `json:"bytes"`
	Seconds   float64 `json:"seconds"`
	MBps      float64 `json:"mb_per_s"`
	FilesPerS float64 `json:"files_per_s"`
	PeakRSSKB int64   `json:"peak_rss_kb"`
	// Growth factors against the first point: how much larger the data,
	// the time and the peak RSS are.
	DataGrowth float64 `json:"data_growth"`
	TimeGrowth float64 `json:"time_growth"`
	RSSGrowth  float64 `json:"rss_growth"`
}

// ScaleOptions configure Scale.
type ScaleOptions struct {
	Cairn   string  // the cairn binary
	Profile string  // dataset profile, as for Generate
	Sizes   []int64 // dataset sizes, smallest first
	Seed    uint64
	Work    string // scratch folder; each point's data and repository are removed after it
	Log     func(format string, args ...any)
}

// Scale generates a dataset of each size and times cairn's first backup
// of it, so that growth in time and memory can be read against growth in
// files and bytes. Data grows by files or bytes depending on the profile
// (manysmall: files; bigfiles: bytes).
func Scale(ctx context.Context, o ScaleOptions) ([]ScalePoint, error) {
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	tools, _ := Tools(o.Cairn, nil, false)
	cairn := tools[0]
	var points []ScalePoint
	for i, size := range o.Sizes {
		data := filepath.Join(o.Work, fmt.Sprintf("data-%d", i))
		repo := filepath.Join(o.Work, fmt.Sprintf("repo-%d", i))
		o.Log("generating %s dataset of %d bytes\n", o.Profile, size)
		if _, err := Generate(data, GenOptions{Profile: o.Profile, Size: size, Seed: o.Seed}); err != nil {
			return nil, err
		}
		bytes, files, _, err := datasetSize(data)
		if err != nil {
			return nil, err
		}
		// Write the new dataset back first: the backup must not compete
		// with gigabytes of the generator's dirty pages.
		syncDisks()
		if _, err := timed(ctx, cairn, "", cairn.Init(repo)[0]); err != nil {
			return nil, fmt.Errorf("init: %w", err)
		}
		o.Log("backing up %d files, %d bytes\n", files, bytes)
		s, err := timed(ctx, cairn, "", cairn.Backup(repo, data))
		if err != nil {
			return nil, fmt.Errorf("backup of %d bytes: %w", size, err)
		}
		p := ScalePoint{Size: size, Files: files, Bytes: bytes, Seconds: s.Seconds, PeakRSSKB: s.PeakRSSKB}
		if s.Seconds > 0 {
			p.MBps = float64(bytes) / 1e6 / s.Seconds
			p.FilesPerS = float64(files) / s.Seconds
		}
		if len(points) > 0 {
			first := points[0]
			p.DataGrowth = float64(bytes) / float64(first.Bytes)
			if o.Profile == "manysmall" || o.Profile == "tree" {
				p.DataGrowth = float64(files) / float64(first.Files)
			}
			p.TimeGrowth = p.Seconds / first.Seconds
			p.RSSGrowth = float64(p.PeakRSSKB) / float64(first.PeakRSSKB)
		} else {
			p.DataGrowth, p.TimeGrowth, p.RSSGrowth = 1, 1, 1
		}
		points = append(points, p)
		if err := os.RemoveAll(data); err != nil {
			return nil, err
		}
		if err := os.RemoveAll(repo); err != nil {
			return nil, err
		}
	}
	return points, nil
}
