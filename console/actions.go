package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Actor performs an action for a source ("run", "drill" or "check"),
// writing one line per step to log, and says how it ended. It takes the
// same locks as the command line and records its result where the
// command line does.
type Actor func(ctx context.Context, kind, source string, log io.Writer) (ok bool, summary string, err error)

// Restorer restores path of a snapshot of a repository into the folder
// dest on the server, writing its lines to log and telling progress how
// far it got, as often as it likes.
type Restorer func(ctx context.Context, target, snapshot, path, dest string, log io.Writer, progress func(ActionProgress)) (ok bool, summary string, err error)

// ActionProgress is how far a running action got: files and bytes done
// of the totals (zero while they are not known).
type ActionProgress struct {
	FilesDone  uint64 `json:"files_done"`
	TotalFiles uint64 `json:"total_files"`
	BytesDone  uint64 `json:"bytes_done"`
	TotalBytes uint64 `json:"total_bytes"`
}

// Action is a started action and what it has printed so far
// (GET /api/actions/{id}).
type Action struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	Source  string    `json:"source"`
	Started time.Time `json:"started"`
	Lines   []string  `json:"lines"`
	Done    bool      `json:"done"`
	OK      bool      `json:"ok"`
	Summary string    `json:"summary,omitempty"`
	// Progress is the last progress the action reported, if any.
	Progress *ActionProgress `json:"progress,omitempty"`

	mu      sync.Mutex    // guards Lines, Done, OK, Summary, Progress and changed
	changed chan struct{} // closed and replaced on every change
}

// setProgress records the action's progress and wakes the watchers.
func (a *Action) setProgress(p ActionProgress) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.Progress != nil && *a.Progress == p {
		return
	}
	a.Progress = &p
	a.notify()
}

// Write takes the action's log output, line by line.
func (a *Action) Write(p []byte) (int, error) {
	a.mu.Lock()
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if l != "" {
			a.Lines = append(a.Lines, l)
		}
	}
	a.notify()
	a.mu.Unlock()
	return len(p), nil
}

// notify wakes the watchers; a.mu is held.
func (a *Action) notify() {
	close(a.changed)
	a.changed = make(chan struct{})
}

func (a *Action) finish(ok bool, summary string) {
	a.mu.Lock()
	a.Done, a.OK, a.Summary = true, ok, summary
	a.notify()
	a.mu.Unlock()
}

// snapshot copies the action's state from line from on, and the channel
// closed at the next change.
func (a *Action) snapshot(from int) (lines []string, done, ok bool, summary string, progress *ActionProgress, changed chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if from < len(a.Lines) {
		lines = append(lines, a.Lines[from:]...)
	}
	if a.Progress != nil {
		p := *a.Progress
		progress = &p
	}
	return lines, a.Done, a.OK, a.Summary, progress, a.changed
}

// startAction is POST /api/actions with a JSON body {"kind", "source"}.
func (s *Server) startAction(w http.ResponseWriter, r *http.Request) {
	var req struct{ Kind, Source string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
		http.Error(w, "want a JSON body {\"kind\": \"run\", \"source\": \"NAME\"}", http.StatusBadRequest)
		return
	}
	switch req.Kind {
	case "run", "drill", "check":
	default:
		http.Error(w, "kind: want run, drill or check", http.StatusBadRequest)
		return
	}
	known := false
	for _, n := range s.opts.Sources {
		known = known || n == req.Source
	}
	if !known || s.opts.Act == nil {
		http.Error(w, fmt.Sprintf("no source %q in the configuration", req.Source), http.StatusNotFound)
		return
	}
	s.launch(w, req.Kind, req.Source, func(log *Action) (bool, string, error) {
		defer func() {
			s.mu.Lock()
			s.report = nil // the next overview gathers afresh
			s.mu.Unlock()
		}()
		return s.opts.Act(s.opts.Background, req.Kind, req.Source, log)
	})
}

// launch runs do as a new action and answers its id.
func (s *Server) launch(w http.ResponseWriter, kind, source string, do func(a *Action) (bool, string, error)) {
	a := &Action{ID: NewToken()[:16], Kind: kind, Source: source, Started: s.opts.Now(), Lines: []string{}, changed: make(chan struct{})}
	s.mu.Lock()
	s.actions[a.ID] = a
	s.mu.Unlock()
	go func() {
		ok, summary, err := do(a)
		if err != nil {
			ok, summary = false, err.Error()
		}
		a.finish(ok, summary)
	}()
	w.WriteHeader(http.StatusAccepted)
	writeJSON(w, map[string]string{"id": a.ID})
}

// startRestore is POST /api/restore with a JSON body {"target",
// "snapshot", "path", "dest"}: restore that path into the folder dest on
// the server, as "cairn restore SNAPSHOT:PATH --target DEST" does (an
// existing file there is overwritten only if it differs).
func (s *Server) startRestore(w http.ResponseWriter, r *http.Request) {
	var req struct{ Target, Snapshot, Path, Dest string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 8192)).Decode(&req); err != nil {
		http.Error(w, `want a JSON body {"target", "snapshot", "path", "dest"}`, http.StatusBadRequest)
		return
	}
	known := false
	for _, t := range s.opts.Targets {
		known = known || t == req.Target
	}
	switch {
	case !known || s.opts.Restore == nil:
		http.Error(w, fmt.Sprintf("no repository %q in the configuration", req.Target), http.StatusNotFound)
		return
	case req.Snapshot == "" || !strings.HasPrefix(req.Dest, "/"):
		http.Error(w, "give a snapshot and an absolute destination folder", http.StatusBadRequest)
		return
	}
	s.launch(w, "restore", req.Target, func(a *Action) (bool, string, error) {
		return s.opts.Restore(s.opts.Background, req.Target, req.Snapshot, req.Path, req.Dest, a, a.setProgress)
	})
}

func (s *Server) action(r *http.Request) *Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.actions[r.PathValue("id")]
}

// actionState is GET /api/actions/{id}.
func (s *Server) actionState(w http.ResponseWriter, r *http.Request) {
	a := s.action(r)
	if a == nil {
		http.Error(w, "no such action", http.StatusNotFound)
		return
	}
	lines, done, ok, summary, progress, _ := a.snapshot(0)
	writeJSON(w, Action{ID: a.ID, Kind: a.Kind, Source: a.Source, Started: a.Started, Lines: append([]string{}, lines...), Done: done, OK: ok,
		Summary: summary, Progress: progress})
}

// actionEvents is GET /api/actions/{id}/events: server-sent events, a
// "line" event per step line, a "progress" event when the progress
// changes, then one "done" event with the outcome.
func (s *Server) actionEvents(w http.ResponseWriter, r *http.Request) {
	a := s.action(r)
	if a == nil {
		http.Error(w, "no such action", http.StatusNotFound)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	sent := 0
	var lastProgress *ActionProgress
	for {
		lines, done, okd, summary, progress, changed := a.snapshot(sent)
		for _, l := range lines {
			b, _ := json.Marshal(l)
			fmt.Fprintf(w, "event: line\ndata: %s\n\n", b)
		}
		sent += len(lines)
		if progress != nil && (lastProgress == nil || *progress != *lastProgress) {
			lastProgress = progress
			b, _ := json.Marshal(progress)
			fmt.Fprintf(w, "event: progress\ndata: %s\n\n", b)
		}
		if done {
			b, _ := json.Marshal(map[string]any{"ok": okd, "summary": summary})
			fmt.Fprintf(w, "event: done\ndata: %s\n\n", b)
			fl.Flush()
			return
		}
		fl.Flush()
		select {
		case <-changed:
		case <-r.Context().Done():
			return
		}
	}
}

func (s *Server) actionPage(w http.ResponseWriter, r *http.Request) {
	a := s.action(r)
	if a == nil {
		http.Error(w, "no such action", http.StatusNotFound)
		return
	}
	csrf, _ := r.Context().Value(ctxKey{}).(string)
	s.render(w, "action.html", map[string]any{"A": a, "CSRF": csrf})
}
