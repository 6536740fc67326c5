// The one-time accept/decline link's page: nothing happens until the button is pressed
// (mail scanners open links by themselves). The token is the last part of the path; the
// server answers with a whole sentence in the volunteer's language, shown as text.
"use strict";

(() => {
  const go = document.getElementById("go");
  const text = document.getElementById("text");
  if (!go) return;
  go.addEventListener("click", async () => {
    go.disabled = true;
    const token = decodeURIComponent(location.pathname.split("/").pop());
    try {
      const resp = await fetch("/api/v1/app/act", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ token }),
      });
      const body = await resp.json();
      text.textContent = body.message || `HTTP ${resp.status}`;
      text.dataset.outcome = body.outcome || "error";
    } catch (err) {
      text.textContent = String(err);
    }
    go.hidden = true;
  });
})();
