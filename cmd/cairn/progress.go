package main

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/cairn-backup/cairn/message"
	"github.com/dustin/go-humanize"
	"github.com/rivo/uniseg"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// counters is what a long operation exposes to its progress display.
type counters struct {
	filesDone, bytesDone func() uint64
	current              func() string
	totalFiles           atomic.Uint64
	totalBytes           atomic.Uint64
	totalsFinal          atomic.Bool // the totals are complete, not still being counted
	// totals, if set, supplies the totals instead of the fields above.
	totals func() (files, bytes uint64, final bool)
	// unit names what filesDone counts ("files" when empty; "packs" for
	// check).
	unit string
}

// progress shows a bar with rate and ETA when stdout is a terminal, JSON
// status lines with --json, and nothing otherwise.
type progress struct {
	g     *globals
	c     *counters
	start time.Time
	bar   *progressbar.ProgressBar
	stop  chan struct{}
	done  chan struct{}
}

func (g *globals) stdoutIsTerminal() bool {
	f, ok := g.stdout.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// startProgress begins reporting; call finish when the work ends.
func (g *globals) startProgress(verb string, c *counters) *progress {
	p := &progress{g: g, c: c, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	interval := time.Second
	switch {
	case g.quiet:
		close(p.done)
		return p
	case g.json:
	case g.stdoutIsTerminal():
		interval = 200 * time.Millisecond
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(g.stdout),
			progressbar.OptionShowBytes(true),
			progressbar.OptionUseIECUnits(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetDescription(verb),
			progressbar.OptionFullWidth(), // the bar takes what the line leaves; see update
			progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
		)
	default:
		close(p.done)
		return p
	}
	go p.loop(verb, interval)
	return p
}

func (p *progress) loop(verb string, interval time.Duration) {
	defer close(p.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.update(verb)
		}
	}
}

func (p *progress) update(verb string) {
	files, bytes := p.c.filesDone(), p.c.bytesDone()
	tf, tb, final := p.c.totalFiles.Load(), p.c.totalBytes.Load(), p.c.totalsFinal.Load()
	if p.c.totals != nil {
		tf, tb, final = p.c.totals()
	}
	cur := ""
	if p.c.current != nil {
		cur = p.c.current()
	}
	if p.g.json {
		pct := 0.0
		if tb > 0 {
			pct = min(1, float64(bytes)/float64(tb))
		}
		status := message.Status{MessageType: "status", SecondsElapsed: int(time.Since(p.start).Seconds()),
			PercentDone: pct, TotalFiles: tf, FilesDone: files, TotalBytes: tb, BytesDone: bytes}
		if cur != "" {
			status.CurrentFiles = []string{cur}
		}
		_ = p.g.printJSON(status)
		return
	}
	if final && tb > 0 {
		p.bar.ChangeMax64(int64(tb))
	}
	total := fmt.Sprint(tf)
	if !final {
		total += "+"
	}
	unit := p.c.unit
	if unit == "" {
		unit = "files"
	}
	p.bar.Describe(describe(fmt.Sprintf("%s %d/%s %s", verb, files, total, unit), cur, p.g.termWidth()))
	_ = p.bar.Set64(int64(bytes))
}

// barReserve is what the progress line needs besides the description:
// the bar (at least 10 columns), percentage, bytes, rate and times.
const barReserve = 56

// describe builds the progress line's description so that the whole line
// fits in width columns (measured by display width, so wide characters
// count double): the counts, then as much of the end of the current path
// as fits.
func describe(counts, cur string, width int) string {
	budget := width - barReserve
	if budget <= uniseg.StringWidth(counts) {
		return fitWidth(counts, max(budget, 0))
	}
	if cur == "" {
		return counts
	}
	return counts + " " + fitWidth(cur, budget-uniseg.StringWidth(counts)-1)
}

// fitWidth keeps the end of s within w display columns, marking a cut
// with "…".
func fitWidth(s string, w int) string {
	if uniseg.StringWidth(s) <= w {
		return s
	}
	if w <= 1 {
		return ""
	}
	r := []rune(s)
	for i := 1; i < len(r); i++ {
		if t := string(r[i:]); uniseg.StringWidth(t) <= w-1 {
			return "…" + t
		}
	}
	return ""
}

// termWidth is the width of the terminal stdout is, read at every update
// so the line follows resizes; 80 when it cannot be read.
func (g *globals) termWidth() int {
	if f, ok := g.stdout.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
	}
	return 80
}

// finish stops the display and clears the bar.
func (p *progress) finish() {
	select {
	case <-p.done:
		return
	default:
	}
	close(p.stop)
	<-p.done
	if p.bar != nil {
		_ = p.bar.Clear()
	}
}

func formatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

func ibytes(n uint64) string { return humanize.IBytes(n) }
