package routine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/config"
)

// Event is the JSON body of a webhook notification.
type Event struct {
	Event      string    `json:"event"` // failure, success, rpo-missed, check-failed, storage-full
	Source     string    `json:"source"`
	Host       string    `json:"host,omitempty"`
	Time       time.Time `json:"time"`
	Status     string    `json:"status,omitempty"`
	SnapshotID string    `json:"snapshot_id,omitempty"`
	Message    string    `json:"message,omitempty"`
	Steps      []Step    `json:"steps,omitempty"`
}

// Notifier sends webhooks and healthchecks pings. Failures to notify are
// returned for the log; they never change a run's result.
type Notifier struct {
	Client *http.Client
}

func (n Notifier) client() *http.Client {
	if n.Client != nil {
		return n.Client
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// Send posts ev to the webhook of cfg if cfg wants the event.
func (n Notifier) Send(ctx context.Context, cfg config.Notify, ev Event) error {
	if cfg.Webhook == "" || !cfg.Wants(ev.Event) {
		return nil
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.Webhook, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cairn")
	return n.do(req, "webhook "+config.MaskURL(cfg.Webhook))
}

// Ping calls a healthchecks-style URL: kind is "start", "success" or
// "fail" (URL/start, URL, URL/fail). The body carries a short message.
func (n Notifier) Ping(ctx context.Context, url, kind, message string) error {
	if url == "" {
		return nil
	}
	u := strings.TrimSuffix(url, "/")
	if kind != "success" {
		u += "/" + kind
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(message))
	if err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	req.Header.Set("User-Agent", "cairn")
	return n.do(req, "ping "+config.MaskURL(url))
}

func (n Notifier) do(req *http.Request, what string) error {
	resp, err := n.client().Do(req)
	if err != nil {
		// The error text holds the URL, which may hold a token.
		return fmt.Errorf("%s: request failed", what)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: HTTP %d", what, resp.StatusCode)
	}
	return nil
}
