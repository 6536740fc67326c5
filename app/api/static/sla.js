// SLA figures per tier: how long until someone accepted and until it was resolved (median
// and 90th percentile), and how many deadlines were missed, as SVG bars from GET /api/v1/sla.
"use strict";

(() => {
  const { el, api, duration, status } = careloop;
  const siteSel = document.getElementById("site");
  const box = document.getElementById("sla");
  const TIERS = ["emergency", "important", "general", "emotional"];

  /** Rows {site, tier, alerts, ..., accept_p50_s, accept_p90_s, ...} of GET /api/v1/sla. */
  function rows(data) {
    return Array.isArray(data.groups) ? data.groups : [];
  }

  function byTier(list) {
    list.sort((a, b) => TIERS.indexOf(a.tier) - TIERS.indexOf(b.tier) || String(a.site).localeCompare(String(b.site)));
    return list;
  }

  function label(r, many) {
    return many ? `${r.tier} (${r.site})` : r.tier;
  }

  function render(list) {
    if (!list.length) {
      box.replaceChildren(el("p", { class: "empty" }, "No alerts yet in this period."));
      return;
    }
    const many = new Set(list.map((r) => r.site)).size > 1;
    const groups = (keys) => list.map((r) => ({ label: label(r, many), values: Object.fromEntries(keys.map((k) => [k, r[k] ?? null])) }));
    const secs = (v) => duration(v);
    const count = (v) => String(v);
    const table = el("table", {},
      el("caption", {}, "Figures per tier"),
      el("thead", {}, el("tr", {}, ["Tier", "Site", "Alerts", "Accepted", "Resolved", "Expired", "Respond deadlines missed", "Resolve deadlines missed", "Accept median", "Accept 90th pct.", "Resolve median", "Resolve 90th pct."]
        .map((h, i) => el("th", { scope: "col", class: i > 1 ? "num" : null }, h)))),
      el("tbody", {}, list.map((r) => el("tr", { dataset: { tier: r.tier } },
        el("th", { scope: "row" }, r.tier), el("td", {}, r.site),
        [r.alerts, r.accepted, r.resolved, r.expired, r.respond_breaches, r.resolve_breaches].map((v) => el("td", { class: "num" }, v ?? "")),
        [r.accept_p50_s, r.accept_p90_s, r.resolve_p50_s, r.resolve_p90_s].map((v) => el("td", { class: "num" }, typeof v === "number" ? secs(v) : "—"))))));
    box.replaceChildren(
      el("div", { class: "charts" },
        charts.barChart({
          title: "Time to accept (median and 90th percentile)",
          groups: groups(["accept_p50_s", "accept_p90_s"]),
          series: [{ key: "accept_p50_s", label: "median", cls: "bar-accept" }, { key: "accept_p90_s", label: "90th pct.", cls: "bar-accept" }],
          format: secs,
        }),
        charts.barChart({
          title: "Time from accept to resolve (median and 90th percentile)",
          groups: groups(["resolve_p50_s", "resolve_p90_s"]),
          series: [{ key: "resolve_p50_s", label: "median", cls: "bar-resolve" }, { key: "resolve_p90_s", label: "90th pct.", cls: "bar-resolve" }],
          format: secs,
        }),
        charts.barChart({
          title: "Deadlines missed",
          groups: groups(["respond_breaches", "resolve_breaches"]),
          series: [{ key: "respond_breaches", label: "respond", cls: "bar-breach" }, { key: "resolve_breaches", label: "resolve", cls: "bar-breach" }],
          format: count,
        })),
      table);
  }

  async function load() {
    const query = new URLSearchParams();
    if (siteSel.value) query.set("site", siteSel.value);
    status("Loading…");
    try {
      render(byTier(rows(await api(`/api/v1/sla?${query}`))));
      status("");
    } catch (err) {
      if (err.status !== 401) status(`Could not load SLA figures: ${err.message}`, "error");
    }
  }

  async function start() {
    const me = await careloop.header();
    if (!me || me.role === "public") {
      location.assign(careloop.loginUrl());
      return;
    }
    for (const site of me.sites || []) siteSel.append(el("option", { value: site }, site));
    siteSel.addEventListener("change", load);
    document.getElementById("refresh").addEventListener("click", load);
    await load();
  }

  start();
})();
