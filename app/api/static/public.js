// The anonymised public board: how many needs there were and how fast they were answered,
// per site and tier over whole days (GET /api/v1/public/closed-loop; no sign-in). Counts of
// 1 to 4 are withheld by the API (they could point at a person) and shown as "fewer than 5".
"use strict";

(() => {
  const { el, api, duration, status } = careloop;
  const TIERS = ["emergency", "important", "general", "emotional"];

  function count(n, k) {
    return n === null || n === undefined ? `fewer than ${k}` : String(n);
  }

  function render(data) {
    const groups = [...(data.groups || [])].sort(
      (a, b) => a.site.localeCompare(b.site) || TIERS.indexOf(a.tier) - TIERS.indexOf(b.tier));
    const shown = groups.filter((g) => !g.suppressed);
    const needs = shown.reduce((n, g) => n + (g.needs || 0), 0);
    const onTime = shown.reduce((n, g) => n + (g.on_time || 0), 0);
    const since = new Date(data.since_ms).toLocaleDateString();
    const until = new Date(data.until_ms - 1).toLocaleDateString();
    document.getElementById("stats").replaceChildren(
      el("li", { dataset: { stat: "needs" } }, el("strong", {}, String(needs)), `needs from ${since} to ${until} (groups of ${data.k} or more)`),
      el("li", { dataset: { stat: "on-time" } }, el("strong", {}, needs ? `${Math.round((100 * onTime) / needs)} %` : "—"), "answered within the deadline"));
    document.getElementById("charts").replaceChildren(shown.some((g) => typeof g.accept_p50_s === "number")
      ? el("div", { class: "charts" }, charts.barChart({
        title: "Median time until a volunteer accepted",
        groups: shown.map((g) => ({ label: `${g.site} · ${g.tier}`, values: g })),
        series: [{ key: "accept_p50_s", label: "median", cls: "bar-accept" }],
        format: (v) => duration(v),
      }))
      : el("p", { class: "empty" }, "Not enough needs yet to show times without pointing at anyone."));
    document.getElementById("recent").replaceChildren(groups.length
      ? el("table", { "aria-labelledby": "recent-h" },
        el("thead", {}, el("tr", {}, ["Site", "Tier", "Needs", "Accepted", "Within the deadline", "Median time to accept"]
          .map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, groups.map((g) => el("tr", { dataset: { tier: g.tier } },
          el("td", {}, g.site),
          el("td", {}, el("span", { class: "tier", dataset: { tier: g.tier } }, g.tier)),
          el("td", { class: "num" }, count(g.needs, data.k)),
          el("td", { class: "num" }, g.suppressed ? "—" : count(g.accepted, data.k)),
          el("td", { class: "num" }, g.suppressed ? "—" : count(g.on_time, data.k)),
          el("td", { class: "num" }, typeof g.accept_p50_s === "number" ? duration(g.accept_p50_s) : "—")))))
      : el("p", { class: "empty" }, "Nothing yet."));
  }

  async function load() {
    try {
      render(await api("/api/v1/public/closed-loop?days=7", { anonymous: true }));
      status(`Updated ${new Date().toLocaleTimeString()}.`);
    } catch (err) {
      status(`Could not load the board: ${err.message}`, "error");
    }
  }

  load();
  setInterval(load, 60000);
})();
