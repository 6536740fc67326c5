// The anonymised public closed-loop board: every need and how fast it was answered, from
// GET /api/v1/public/closed-loop (no sign-in; no resident, volunteer or alert ids).
"use strict";

(() => {
  const { el, api, duration, words, status } = careloop;
  const TIERS = ["emergency", "important", "general", "emotional"];

  /** One row per tier over every site: counts add up; for the times, the slowest site's. */
  function tierRows(groups) {
    const out = new Map();
    for (const g of groups || []) {
      const acc = out.get(g.tier) || {
        tier: g.tier, alerts: 0, accepted: 0, resolved: 0, respond_breaches: 0,
        accept_p50_s: null, accept_p90_s: null,
      };
      acc.alerts += g.alerts || 0;
      acc.accepted += g.accepted || 0;
      acc.resolved += g.resolved || 0;
      acc.respond_breaches += g.respond_breaches || 0;
      for (const k of ["accept_p50_s", "accept_p90_s"]) {
        if (typeof g[k] === "number") acc[k] = Math.max(acc[k] ?? 0, g[k]);
      }
      out.set(g.tier, acc);
    }
    return [...out.values()].sort((a, b) => TIERS.indexOf(a.tier) - TIERS.indexOf(b.tier));
  }

  function render(data) {
    const records = data.items || [];
    const tiers = tierRows(data.summary);
    const total = tiers.reduce((n, t) => n + t.alerts, 0);
    const accepted = tiers.reduce((n, t) => n + t.accepted, 0);
    const late = tiers.reduce((n, t) => n + t.respond_breaches, 0);
    const days = Math.round((Date.now() - (data.since_ms || Date.now())) / 86_400_000);
    document.getElementById("stats").replaceChildren(
      el("li", { dataset: { stat: "needs" } }, el("strong", {}, String(total)), `needs in the last ${days || 7} days`),
      el("li", { dataset: { stat: "accepted" } }, el("strong", {}, String(accepted)), "accepted by a volunteer"),
      el("li", { dataset: { stat: "on-time" } }, el("strong", {}, total ? `${Math.round((100 * (total - late)) / total)} %` : "—"), "answered within the deadline"));
    document.getElementById("charts").replaceChildren(tiers.length
      ? el("div", { class: "charts" }, charts.barChart({
        title: "Time until a volunteer accepted, per tier",
        groups: tiers.map((t) => ({ label: t.tier, values: t })),
        series: [{ key: "accept_p50_s", label: "median", cls: "bar-accept" }, { key: "accept_p90_s", label: "90th pct.", cls: "bar-accept" }],
        format: (v) => duration(v),
      }), charts.barChart({
        title: "Needs and deadlines missed, per tier",
        groups: tiers.map((t) => ({ label: t.tier, values: t })),
        series: [{ key: "alerts", label: "needs", cls: "bar-resolve" }, { key: "respond_breaches", label: "missed", cls: "bar-breach" }],
        format: (v) => String(v),
      }))
      : el("p", { class: "empty" }, "No needs yet."));
    document.getElementById("recent").replaceChildren(records.length
      ? el("table", { "aria-labelledby": "recent-h" },
        el("thead", {}, el("tr", {}, ["Opened (hour)", "Need", "Tier", "Time to accept", "Time to resolve", "Outcome"]
          .map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, records.map((r) => el("tr", {},
          el("td", {}, new Date(r.opened_hour).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })),
          el("td", {}, words(r.kind)),
          el("td", {}, el("span", { class: "tier", dataset: { tier: r.tier } }, r.tier)),
          el("td", { class: "num" }, typeof r.time_to_accept_s === "number" ? duration(r.time_to_accept_s) : "—"),
          el("td", { class: "num" }, typeof r.time_to_resolve_s === "number" ? duration(r.time_to_resolve_s) : "—"),
          el("td", {}, words(r.outcome) + (r.respond_breached ? " (late)" : ""))))))
      : el("p", { class: "empty" }, "Nothing yet."));
  }

  async function load() {
    try {
      render(await api("/api/v1/public/closed-loop?per_page=30", { anonymous: true }));
      status(`Updated ${new Date().toLocaleTimeString()}.`);
    } catch (err) {
      status(`Could not load the board: ${err.message}`, "error");
    }
  }

  load();
  setInterval(load, 30000);
})();
