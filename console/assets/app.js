// The console's only script: the refresh and action buttons post with
// the session's CSRF token; an action page follows the action's steps.
document.addEventListener("DOMContentLoaded", () => {
  const csrf = document.querySelector('meta[name="csrf"]')?.content || "";
  const refresh = document.getElementById("refresh");
  if (refresh) refresh.addEventListener("click", async () => {
    refresh.disabled = true;
    const r = await fetch("/api/refresh", { method: "POST", headers: { "X-CSRF-Token": csrf } });
    if (r.ok) location.reload(); else { refresh.disabled = false; alert("refresh failed: " + r.status); }
  });
  document.querySelectorAll("button[data-action]").forEach((b) => b.addEventListener("click", async () => {
    b.disabled = true;
    const r = await fetch("/api/actions", { method: "POST", headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: JSON.stringify({ kind: b.dataset.action, source: b.dataset.source }) });
    if (r.ok) { const a = await r.json(); location.href = "/actions/" + a.id; }
    else { b.disabled = false; alert(b.dataset.action + " failed to start: " + r.status); }
  }));
  const rf = document.getElementById("restore-form");
  if (rf) rf.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await fetch("/api/restore", { method: "POST", headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: JSON.stringify({ target: rf.dataset.target, snapshot: rf.dataset.snapshot, path: rf.dataset.path,
        dest: document.getElementById("restore-dest").value }) });
    if (r.ok) { const a = await r.json(); location.href = "/actions/" + a.id; } else alert("restore failed to start: " + await r.text());
  });
  const lines = document.getElementById("lines");
  if (lines && lines.dataset.events) {
    const es = new EventSource(lines.dataset.events);
    es.addEventListener("line", (e) => { lines.textContent += JSON.parse(e.data) + "\n"; });
    es.addEventListener("progress", (e) => {
      const p = JSON.parse(e.data), box = document.getElementById("progress");
      const frac = p.total_bytes > 0 ? Math.min(1, p.bytes_done / p.total_bytes) : 0;
      const mib = (n) => (n / 1048576).toFixed(1) + " MiB";
      document.getElementById("progress-bar").value = frac;
      document.getElementById("progress-text").textContent = (100 * frac).toFixed(1) + "%  " + p.files_done + " of " +
        p.total_files + " files, " + mib(p.bytes_done) + " of " + mib(p.total_bytes);
      box.hidden = false;
      box.dataset.files = p.files_done;
    });
    es.addEventListener("done", (e) => {
      const d = JSON.parse(e.data), o = document.getElementById("outcome");
      o.textContent = (d.ok ? "done: " : "FAILED: ") + d.summary;
      o.className = d.ok ? "ok" : "bad";
      o.dataset.done = d.ok ? "ok" : "failed";
      es.close();
    });
  }
});
