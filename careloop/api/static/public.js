// The anonymised public closed-loop board: every need and how fast it was answered, from
// GET /api/v1/public/closed-loop (no sign-in; no resident, volunteer or alert ids).
"use strict";

(() => {
  const { el, api, duration, words, status } = careloop;
  const TIERS = ["emergency", "important", "general", "emotional"];

  function tierRows(summary) {
    const out = new Map();
    for (const [key, v] of Object.entries(summary || {})) {
      const tier = key.includes("/") ? key.split("/")[1] : key;
      const acc = out.get(tier) || { tier, alerts: 0, accepted: 0, resolved: 0, respond_breaches: 0, accept_p50_s: null, accept_max_s: null, resolve_p50_s: null };
      acc.alerts += v.alerts || 0;
      acc.accepted += v.accepted || 0;
      acc.resolved += v.resolved || 0;
      acc.respond_breaches += v.respond_breaches || 0;
      // Medians of several sites cannot be merged exactly: show the slowest site's.
      for (const k of ["accept_p50_s", "accept_max_s", "resolve_p50_s"]) {
        if (typeof v[k] === "number") acc[k] = Math.max(acc[k] ?? 0, v[k]);
      }
      out.set(tier, acc);
    }
    return [...out.values()].sort((a, b) => TIERS.indexOf(a.tier) - TIERS.indexOf(b.tier));
  }

  function render(data) {
    const records = data.data || data.items || data.records || [];
    const tiers = tierRows(data.summary);
    const total = data.count ?? records.length;
    const answered = records.filter((r) => r.time_to_accept_s !== null && r.time_to_accept_s !== undefined).length;
    const onTime = records.filter((r) => !r.respond_breached).length;
    document.getElementById("stats").replaceChildren(
      el("li", {}, el("strong", {}, String(total)), "needs raised"),
      el("li", {}, el("strong", {}, String(answered)), "accepted by a volunteer"),
      el("li", {}, el("strong", {}, records.length ? `${Math.round((100 * onTime) / records.length)} %` : "—"), "answered within the deadline"));
    document.getElementById("charts").replaceChildren(tiers.length
      ? el("div", { class: "charts" }, charts.barChart({
        title: "Time until a volunteer accepted, per tier",
        groups: tiers.map((t) => ({ label: t.tier, values: t })),
        series: [{ key: "accept_p50_s", label: "median", cls: "bar-accept" }, { key: "accept_max_s", label: "worst", cls: "bar-accept" }],
        format: (v) => duration(v),
      }), charts.barChart({
        title: "Needs and deadlines missed, per tier",
        groups: tiers.map((t) => ({ label: t.tier, values: t })),
        series: [{ key: "alerts", label: "needs", cls: "bar-resolve" }, { key: "respond_breaches", label: "missed", cls: "bar-breach" }],
        format: (v) => String(v),
      }))
      : el("p", { class: "empty" }, "No needs yet."));
    const recent = records.slice(-30).reverse();
    document.getElementById("recent").replaceChildren(recent.length
      ? el("table", { "aria-labelledby": "recent-h" },
        el("thead", {}, el("tr", {}, ["Opened (hour)", "Need", "Tier", "Time to accept", "Time to resolve", "Outcome"]
          .map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, recent.map((r) => el("tr", {},
          el("td", {}, r.opened_hour ? new Date(r.opened_hour).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }) : ""),
          el("td", {}, words(r.kind)),
          el("td", {}, el("span", { class: "tier", dataset: { tier: r.tier } }, r.tier)),
          el("td", { class: "num" }, typeof r.time_to_accept_s === "number" ? duration(r.time_to_accept_s) : "—"),
          el("td", { class: "num" }, typeof r.time_to_resolve_s === "number" ? duration(r.time_to_resolve_s) : "—"),
          el("td", {}, words(r.outcome) + (r.respond_breached ? " (late)" : ""))))))
      : el("p", { class: "empty" }, "Nothing yet."));
  }

  async function load() {
    try {
      render(await api("/api/v1/public/closed-loop", { anonymous: true }));
      status(`Updated ${new Date().toLocaleTimeString()}.`);
    } catch (err) {
      status(`Could not load the board: ${err.message}`, "error");
    }
  }

  load();
  setInterval(load, 30000);
})();
