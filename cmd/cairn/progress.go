package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cairn-backup/cairn/message"
	"github.com/dustin/go-humanize"
	"github.com/rivo/uniseg"
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

// progress shows, when stdout is a terminal, restic's status line and,
// when the terminal is tall enough, the current file on a second line;
// with --json it prints status lines; otherwise nothing.
type progress struct {
	g     *globals
	c     *counters
	start time.Time
	tty   bool // drawing on a terminal
	lines int  // lines of the last frame drawn; guarded by outputMu
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
		interval, p.tty = 200*time.Millisecond, true
		outputMu.Lock()
		g.prog = p
		outputMu.Unlock()
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
	unit := p.c.unit
	if unit == "" {
		unit = "files"
	}
	width, height := p.g.termSize()
	st := progressState{elapsed: time.Since(p.start), files: files, bytes: bytes, totalFiles: tf, totalBytes: tb,
		final: final, unit: unit}
	outputMu.Lock()
	st.errors = p.g.itemErrors
	outputMu.Unlock()
	lines := []string{fitWidth(st.line(width), width-1)}
	if cur != "" && height >= minRowsForFile {
		lines = append(lines, fitWidth(cur, width-1))
	}
	p.draw(lines)
}

// minRowsForFile is the terminal height from which the current file gets
// a line of its own.
const minRowsForFile = 6

// draw replaces the last frame with lines.
func (p *progress) draw(lines []string) {
	outputMu.Lock()
	defer outputMu.Unlock()
	_, _ = io.WriteString(p.g.stdout, p.erase()+strings.Join(lines, "\n"))
	p.lines = len(lines)
}

// writeLine writes a line (an error, a verbose note) to w above the
// progress display: the frame is erased first, and the next update draws
// it again below the line. Lines written while a frame is shown would
// otherwise land inside it.
func (g *globals) writeLine(w io.Writer, line string) {
	outputMu.Lock()
	defer outputMu.Unlock()
	if p := g.prog; p != nil && p.lines > 0 {
		_, _ = io.WriteString(g.stdout, p.erase())
		p.lines = 0
	}
	_, _ = io.WriteString(w, line)
}

// erase is what clears the last frame, leaving the cursor where it began.
func (p *progress) erase() string {
	if p.lines == 0 {
		return ""
	}
	s := "\r\x1b[2K"
	for range p.lines - 1 {
		s += "\x1b[1A\r\x1b[2K"
	}
	return s
}

// progressState is what the status line shows.
type progressState struct {
	elapsed                              time.Duration
	files, bytes, totalFiles, totalBytes uint64
	final                                bool // the totals are counted
	errors                               uint64
	unit                                 string
}

// line writes the status line as restic does, "[0:03] 43.2%  8321 files
// 98.3 MiB, total 15698 files 233 MiB, 0 errors ETA 0:02", or a shorter
// form when that does not fit width columns.
func (s progressState) line(width int) string {
	elapsed := "[" + formatDuration(s.elapsed) + "]"
	if !s.final {
		total := ""
		if s.totalFiles > 0 {
			total = fmt.Sprintf(", total %d+ %s %s", s.totalFiles, s.unit, humanize.IBytes(s.totalBytes))
		}
		return fmt.Sprintf("%s %d %s %s%s, %d errors", elapsed, s.files, s.unit, humanize.IBytes(s.bytes), total, s.errors)
	}
	pct, eta := 0.0, ""
	if s.totalBytes > 0 {
		pct = min(100, 100*float64(s.bytes)/float64(s.totalBytes))
	}
	if s.bytes > 0 && s.totalBytes > s.bytes {
		left := time.Duration(float64(s.elapsed) * float64(s.totalBytes-s.bytes) / float64(s.bytes))
		eta = " ETA " + formatDuration(left)
	}
	for _, form := range []string{
		fmt.Sprintf("%s %.1f%%  %d %s %s, total %d %s %s, %d errors%s", elapsed, pct, s.files, s.unit, humanize.IBytes(s.bytes),
			s.totalFiles, s.unit, humanize.IBytes(s.totalBytes), s.errors, eta),
		fmt.Sprintf("%s %.1f%% %d/%d %s %s/%s, %d errors%s", elapsed, pct, s.files, s.totalFiles, s.unit, humanize.IBytes(s.bytes),
			humanize.IBytes(s.totalBytes), s.errors, eta),
		fmt.Sprintf("%s %.1f%% %d/%d %s%s", elapsed, pct, s.files, s.totalFiles, s.unit, eta),
	} {
		if uniseg.StringWidth(form) < width {
			return form
		}
	}
	return fmt.Sprintf("%s %.1f%%%s", elapsed, pct, eta)
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

// termSize is the size of the terminal stdout is, read at every update so
// the display follows resizes; 80 by 24 when it cannot be read.
func (g *globals) termSize() (width, height int) {
	if f, ok := g.stdout.(*os.File); ok {
		if w, h, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w, h
		}
	}
	return 80, 24
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
	if p.tty {
		outputMu.Lock()
		_, _ = io.WriteString(p.g.stdout, p.erase())
		p.lines = 0
		if p.g.prog == p {
			p.g.prog = nil
		}
		outputMu.Unlock()
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
