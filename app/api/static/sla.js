// SLA figures per tier: how long until someone accepted and until it was resolved (median
// and 90th percentile), and how many deadlines were missed, as SVG bars from GET /api/v1/sla.
"use strict";

(() => {
  const { el, api, duration, status } = careloop;
  const siteSel = document.getElementById("site");
  const box = document.getElementById("sla");
  const TIERS = ["emergency", "important", "general", "emotional"];
  /** The page's words (sla., dash., tier.); keys until they arrive. */
  let t = (key) => key;
  const tierWord = (tier) => (t(`tier.${tier}`) === `tier.${tier}` ? tier : t(`tier.${tier}`));
  /** The table's columns: header key, and whether it is a number. */
  const HEADS = ["dash.tier", "dash.site", "sla.col.alerts", "sla.col.accepted", "sla.col.resolved", "sla.col.expired",
    "sla.col.respond_missed", "sla.col.resolve_missed", "sla.col.accept_p50", "sla.col.accept_p90",
    "sla.col.resolve_p50", "sla.col.resolve_p90"];

  /** Rows {site, tier, alerts, ..., accept_p50_s, accept_p90_s, ...} of GET /api/v1/sla. */
  function rows(data) {
    return Array.isArray(data.groups) ? data.groups : [];
  }

  function byTier(list) {
    list.sort((a, b) => TIERS.indexOf(a.tier) - TIERS.indexOf(b.tier) || String(a.site).localeCompare(String(b.site)));
    return list;
  }

  function label(r, many) {
    return many ? `${tierWord(r.tier)} (${r.site})` : tierWord(r.tier);
  }

  function render(list) {
    if (!list.length) {
      box.replaceChildren(el("p", { class: "empty" }, t("sla.empty")));
      return;
    }
    const many = new Set(list.map((r) => r.site)).size > 1;
    const groups = (keys) => list.map((r) => ({ label: label(r, many), values: Object.fromEntries(keys.map((k) => [k, r[k] ?? null])) }));
    const secs = (v) => duration(v);
    const count = (v) => String(v);
    const table = el("table", {},
      el("caption", {}, t("sla.caption")),
      el("thead", {}, el("tr", {}, HEADS.map((h, i) => el("th", { scope: "col", class: i > 1 ? "num" : null }, t(h))))),
      el("tbody", {}, list.map((r) => el("tr", { dataset: { tier: r.tier } },
        el("th", { scope: "row" }, tierWord(r.tier)), el("td", {}, r.site),
        [r.alerts, r.accepted, r.resolved, r.expired, r.respond_breaches, r.resolve_breaches].map((v) => el("td", { class: "num" }, v ?? "")),
        [r.accept_p50_s, r.accept_p90_s, r.resolve_p50_s, r.resolve_p90_s].map((v) => el("td", { class: "num" }, typeof v === "number" ? secs(v) : "—"))))));
    box.replaceChildren(
      el("div", { class: "charts" },
        charts.barChart({
          title: t("sla.chart.accept"),
          groups: groups(["accept_p50_s", "accept_p90_s"]),
          series: [{ key: "accept_p50_s", label: t("sla.median"), cls: "bar-accept" }, { key: "accept_p90_s", label: t("sla.p90"), cls: "bar-accept" }],
          format: secs,
        }),
        charts.barChart({
          title: t("sla.chart.resolve"),
          groups: groups(["resolve_p50_s", "resolve_p90_s"]),
          series: [{ key: "resolve_p50_s", label: t("sla.median"), cls: "bar-resolve" }, { key: "resolve_p90_s", label: t("sla.p90"), cls: "bar-resolve" }],
          format: secs,
        }),
        charts.barChart({
          title: t("sla.chart.missed"),
          groups: groups(["respond_breaches", "resolve_breaches"]),
          series: [{ key: "respond_breaches", label: t("sla.respond"), cls: "bar-breach" }, { key: "resolve_breaches", label: t("sla.resolve"), cls: "bar-breach" }],
          format: count,
        })),
      table);
  }

  async function load() {
    const query = new URLSearchParams();
    if (siteSel.value) query.set("site", siteSel.value);
    status(t("dash.loading"));
    try {
      render(byTier(rows(await api(`/api/v1/sla?${query}`))));
      status("");
    } catch (err) {
      if (err.status !== 401) status(t("sla.error", { reason: err.message }), "error");
    }
  }

  async function start() {
    try {
      t = await careloop.messages(["sla.", "dash.", "home.nav.", "home.skip", "home.logout", "tier."]);
      careloop.localize(document, t);
      document.title = `${t("sla.title")} · careloop`;
    } catch (err) {
      if (err.status === 401) {
        location.assign(careloop.loginUrl());
        return;
      }
      status(err.message, "error"); // the English already in the page stays
    }
    const me = await careloop.header(t);
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
