// The console's only script: the refresh button posts, with the
// session's CSRF token, and reloads the page.
document.addEventListener("DOMContentLoaded", () => {
  const csrf = document.querySelector('meta[name="csrf"]')?.content || "";
  const b = document.getElementById("refresh");
  if (b) b.addEventListener("click", async () => {
    b.disabled = true;
    const r = await fetch("/api/refresh", { method: "POST", headers: { "X-CSRF-Token": csrf } });
    if (r.ok) location.reload(); else { b.disabled = false; alert("refresh failed: " + r.status); }
  });
});
