// The anonymised public board: how many needs there were and how fast they were answered,
// per site and tier over whole days (GET /api/v1/public/closed-loop; no sign-in). Counts of
// 1 to 4 are withheld by the API (they could point at a person) and shown as "fewer than 5".
"use strict";

(() => {
  const { el, api, duration, status } = careloop;
  const TIERS = ["emergency", "important", "general", "emotional"];
  /** Table columns (catalog keys). */
  const HEADS = ["dash.site", "dash.tier", "public.col.needs", "public.col.accepted", "public.col.on_time", "public.col.accept_p50"];
  /** The page's words (public., dash., tier.), the browser's language when signed out. */
  let t = (key) => key;
  const tierWord = (tier) => (t(`tier.${tier}`) === `tier.${tier}` ? tier : t(`tier.${tier}`));

  function count(n, k) {
    return n === null || n === undefined ? t("public.fewer", { k }) : String(n);
  }

  function render(data) {
    const groups = [...(data.groups || [])].sort(
      (a, b) => a.site.localeCompare(b.site) || TIERS.indexOf(a.tier) - TIERS.indexOf(b.tier));
    const shown = groups.filter((g) => !g.suppressed);
    const needs = shown.reduce((n, g) => n + (g.needs || 0), 0);
    const onTime = shown.reduce((n, g) => n + (g.on_time || 0), 0);
    const since = new Date(data.since_ms).toLocaleDateString(t.locale);
    const until = new Date(data.until_ms - 1).toLocaleDateString(t.locale);
    document.getElementById("stats").replaceChildren(
      el("li", { dataset: { stat: "needs" } }, el("strong", {}, String(needs)), t("public.needs", { since, until, k: data.k })),
      el("li", { dataset: { stat: "on-time" } }, el("strong", {}, needs ? `${Math.round((100 * onTime) / needs)} %` : "—"), t("public.on_time")));
    document.getElementById("charts").replaceChildren(shown.some((g) => typeof g.accept_p50_s === "number")
      ? el("div", { class: "charts" }, charts.barChart({
        title: t("public.chart"),
        groups: shown.map((g) => ({ label: `${g.site} · ${tierWord(g.tier)}`, values: g })),
        series: [{ key: "accept_p50_s", label: t("public.median"), cls: "bar-accept" }],
        format: (v) => duration(v),
      }))
      : el("p", { class: "empty" }, t("public.too_few")));
    document.getElementById("recent").replaceChildren(groups.length
      ? el("table", { "aria-labelledby": "recent-h" },
        el("thead", {}, el("tr", {}, HEADS.map((h) => el("th", { scope: "col" }, t(h))))),
        el("tbody", {}, groups.map((g) => el("tr", { dataset: { tier: g.tier } },
          el("td", {}, g.site),
          el("td", {}, el("span", { class: "tier", dataset: { tier: g.tier } }, tierWord(g.tier))),
          el("td", { class: "num" }, count(g.needs, data.k)),
          el("td", { class: "num" }, g.suppressed ? "—" : count(g.accepted, data.k)),
          el("td", { class: "num" }, g.suppressed ? "—" : count(g.on_time, data.k)),
          el("td", { class: "num" }, typeof g.accept_p50_s === "number" ? duration(g.accept_p50_s) : "—")))))
      : el("p", { class: "empty" }, t("public.nothing")));
  }

  async function load() {
    try {
      render(await api("/api/v1/public/closed-loop?days=7", { anonymous: true }));
      status(t("public.updated", { time: new Date().toLocaleTimeString(t.locale) }));
    } catch (err) {
      status(t("public.error", { reason: err.message }), "error");
    }
  }

  async function start() {
    try {
      t = await careloop.messages(["public.", "dash.", "tier.", "home.nav.", "home.skip", "login.submit"]);
      careloop.localize(document, t);
      document.title = `${t("home.nav.public")} · careloop`;
    } catch (err) {
      status(err.message, "error"); // the English already in the page stays
    }
    await load();
    setInterval(load, 60000);
  }

  start();
})();
