// A resident's page: vitals over a chosen time range, drawn as inline SVG from
// GET /api/v1/residents/{site}/{resident}/vitals, and the model's explanations of the needs
// it raised (summary plus the evidence behind it) from .../needs.
"use strict";

(() => {
  const { el, api, clock, words, status } = careloop;

  /** What is plotted, in order; blood pressure draws both pressures on one chart. */
  /** Titles and line labels are catalog keys. */
  const PLOTS = [
    { title: "vital.heart_rate", unit: "bpm", lines: [{ key: "heart_rate", label: "vital.heart_rate", color: "#c4161c" }] },
    { title: "vital.spo2", unit: "%", lines: [{ key: "spo2", label: "vital.spo2", color: "#0b5cad" }] },
    { title: "vital.respiration_rate", unit: "/min", lines: [{ key: "respiration_rate", label: "vital.respiration_rate", color: "#1a7f37" }] },
    { title: "vital.temperature", unit: "°C", lines: [{ key: "temperature", label: "vital.temperature", color: "#c15c00" }] },
    {
      title: "resident.plot.bp", unit: "mmHg", lines: [
        { key: "systolic_bp", label: "resident.systolic", color: "#7c3aed" },
        { key: "diastolic_bp", label: "resident.diastolic", color: "#b48ef5" },
      ],
    },
  ];
  /** The page's words (resident., chart., vital., tier., need., board.alert_state.); keys until they arrive. */
  let t = (key) => key;
  /** A catalog word for an API id, or the id in words if the catalog has none. */
  const word = (domain, id) => {
    const said = t(`${domain}.${id}`);
    return said === `${domain}.${id}` ? words(id) : said;
  };
  const FIELDS = PLOTS.flatMap((p) => p.lines.map((l) => l.key));

  const parts = location.pathname.split("/").filter(Boolean); // ["residents", site, resident]
  const site = decodeURIComponent(parts[1] || "");
  const resident = decodeURIComponent(parts[2] || "");
  const base = `/api/v1/residents/${encodeURIComponent(site)}/${encodeURIComponent(resident)}`;
  const rangeSel = document.getElementById("range");
  const chartsBox = document.getElementById("charts");

  function reason(err) {
    if (err.status === 403) return t("resident.forbidden");
    if (err.status === 404) return t("resident.not_found");
    return err.reason || err.message;
  }

  /** Links to the last whole week's report (the API picks the week and the language). */
  function reportLinks() {
    document.getElementById("report-html").href = `${base}/report`;
    document.getElementById("report-pdf").href = `${base}/report?format=pdf`;

  }

  async function profile() {
    document.getElementById("title").textContent = t("resident.title", { id: resident });
    document.title = `${resident} · careloop`;
    try {
      const r = await api(base);
      const name = r.display_name || r.name;
      if (name) document.getElementById("title").textContent = `${name} (${resident})`;
      const facts = [t("resident.site", { site })];
      if (r.language) facts.push(t("resident.language", { language: r.language }));
      document.getElementById("profile").textContent = facts.join(" · ");
    } catch (err) {
      document.getElementById("profile").textContent = t("resident.profile_error", { site, reason: reason(err) });
    }
  }

  /** About 300 points per chart for long ranges: the server averages over ``every`` seconds. */
  function every(seconds) {
    return Math.max(5, Math.ceil(seconds / 300));
  }

  async function vitals() {
    const seconds = Number(rangeSel.value);
    const end = Date.now();
    const start = end - seconds * 1000;
    const step = every(seconds);
    const query = new URLSearchParams({ start: String(start), end: String(end), fields: FIELDS.join(",") });
    if (seconds > 3600) query.set("every", String(step)); // up to an hour: every reading
    status(t("resident.loading"));
    let data;
    try {
      data = await api(`${base}/vitals?${query}`);
    } catch (err) {
      status(t("resident.vitals_error", { reason: reason(err) }), "error");
      return;
    }
    const series = data.series || {};
    // A resident with less history than the range (a new one, a fresh demo) is drawn from
    // their first reading, so the lines are not squeezed against the right edge.
    const firsts = FIELDS.map((f) => (series[f] || [])[0]).filter(Boolean).map((p) => p[0]);
    const first = firsts.length ? Math.min(...firsts) : start;
    const from = first > start ? Math.max(start, first - (end - first) * 0.03) : start;
    const figures = PLOTS.map((p) => charts.lineChart({
      title: t(p.title),
      say: t,
      unit: p.unit,
      range: [from, end],
      gapMs: Math.max(step * 1000 * 3, 60000),
      lines: p.lines.map((l) => ({ ...l, label: t(l.label), points: series[l.key] || [] })),
    }));
    figures.forEach((f, i) => (f.dataset.plot = PLOTS[i].lines[0].key));
    chartsBox.replaceChildren(...figures);
    const n = FIELDS.reduce((acc, f) => acc + (series[f] || []).length, 0);
    status(n ? t("resident.vitals_range", { from: clock(from, true), to: clock(end, true) }) : t("resident.no_vitals"));
  }

  function evidenceTable(evidence) {
    if (!evidence || !evidence.length) return null;
    const rows = evidence.map((e) => {
      const value = e.value === null || e.value === undefined ? "" : typeof e.value === "number" ? charts.fmt(e.value) : String(e.value);
      const usual = typeof e.baseline === "number"
        ? `${charts.fmt(e.baseline)}${typeof e.baseline_scale === "number" ? " ± " + charts.fmt(e.baseline_scale) : ""}`
        : "";
      return el("tr", {},
        el("td", {}, word("vital", e.measure)),
        el("td", { class: "num" }, value, e.unit ? ` ${e.unit}` : ""),
        el("td", { class: "num" }, usual),
        el("td", {}, e.rule || ""),
        el("td", {}, e.ts ? clock(e.ts) : ""));
    });
    return el("table", {},
      el("caption", {}, t("resident.evidence")),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, t("resident.col.measure")), el("th", { scope: "col", class: "num" }, t("resident.col.value")),
        el("th", { scope: "col", class: "num" }, t("resident.col.usual")), el("th", { scope: "col" }, t("resident.col.rule")),
        el("th", { scope: "col" }, t("resident.col.when")))),
      el("tbody", {}, rows));
  }

  async function needs() {
    const box = document.getElementById("needs");
    let data;
    try {
      data = await api(`${base}/needs`);
    } catch (err) {
      box.replaceChildren(el("li", { class: "empty" }, t("resident.needs_error", { reason: reason(err) })));
      return;
    }
    const items = Array.isArray(data) ? data : data.items || data.needs || [];
    document.getElementById("no-needs").hidden = items.length > 0;
    box.replaceChildren(...items.map((n) => {
      const when = n.opened_ms || n.ts || n.onset;
      const state = n.state || n.alert_state;
      return el("li", { class: "need", dataset: { tier: n.tier || "" } },
        el("h3", {},
          el("span", { class: "tier", dataset: { tier: n.tier || "" } }, n.tier ? word("tier", n.tier) : "?"), " ",
          el("span", { class: "kind", dataset: { kind: n.kind || "" } }, word("need", n.kind)),
          when ? el("span", { class: "muted" }, " · ", el("time", { datetime: new Date(when).toISOString() }, clock(when, true))) : null,
          state ? el("span", { class: "muted" }, ` · ${word("board.alert_state", state)}`) : null,
          n.owner ? el("span", { class: "muted" }, ` · ${t("resident.owned_by", { owner: n.owner })}`) : null),
        el("p", { class: "summary" }, n.explanation || n.summary || ""),
        Array.isArray(n.facts) && n.facts.length ? evidenceTable(n.facts) : null,
        n.evidence > 1 ? el("p", { class: "muted" }, t("resident.merged", { count: n.evidence })) : null);
    }));
  }

  async function start() {
    try {
      t = await careloop.messages(["resident.", "chart.", "vital.", "tier.", "need.", "board.alert_state.",
        "report.link.", "home.nav.", "home.skip", "home.logout", "dash."]);
      careloop.localize(document, t);
    } catch (err) {
      if (err.status === 401) {
        location.assign(careloop.loginUrl());
        return;
      }
      status(err.message, "error"); // the English already in the page stays
    }
    await careloop.header(t);
    reportLinks();
    await profile();
    rangeSel.addEventListener("change", vitals);
    document.getElementById("refresh").addEventListener("click", () => {
      vitals();
      needs();
    });
    await Promise.all([vitals(), needs()]);
  }

  start();
})();
