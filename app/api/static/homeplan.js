// The home page's care-plan section: for every site on the page, the "overdue" and "due
// soon" lists from GET /api/v1/careplan/due (the same rules as the scorer's planner and the
// table's care-plan column), one line per resident and plan: the next occurrence of what is
// due, and the latest miss of what is overdue with how often it was missed (a daily pill
// would otherwise fill the page). It follows the overview home.js reads (the
// "careloop:overview" event carries its residents), and re-reads at most once a minute.
// Every label comes from the catalogs.
"use strict";

(() => {
  const { el, api } = careloop;
  const REREAD_MS = 60000;
  const overdueBox = document.getElementById("plan-overdue");
  const dueBox = document.getElementById("plan-due");
  let t = (key) => key;
  let names = new Map(); // "site/resident" -> name
  let sites = [];
  let readAt = 0;
  let reading = false;

  /** When an occurrence is next worth acting on: its deadline if open, else its opening. */
  const at = (row) => (row.state === "due" ? row.closes_ms : row.opens_ms);
  const when = (ms) =>
    new Intl.DateTimeFormat(t.locale, { dateStyle: "medium", timeStyle: "short" }).format(new Date(ms));

  function item(site, row, missed = 1) {
    const name = names.get(`${site}/${row.resident}`) || row.resident;
    const href = `/residents/${encodeURIComponent(site)}/${encodeURIComponent(row.resident)}`;
    const time = row.state === "overdue"
      ? t("home.careplan.closed", { when: when(row.closes_ms) })
      : row.state === "due"
        ? t("home.careplan.due_by", { when: when(row.closes_ms) })
        : t("home.careplan.opens", { when: when(row.opens_ms) });
    return el("li", { dataset: { resident: `${site}/${row.resident}`, state: row.state } },
      el("a", { href }, name), " · ", row.name, " · ",
      el("span", { class: row.state === "overdue" ? "late" : row.state === "due" ? "due" : "muted" }, time),
      missed > 1 ? el("span", { class: "late" }, " · ", t("home.careplan.missed", { count: missed })) : null);
  }

  function fill(box, rows, emptyKey) {
    box.replaceChildren(...(rows.length ? rows : [el("li", { class: "muted" }, t(emptyKey))]));
  }

  async function read() {
    if (reading) return;
    reading = true;
    readAt = Date.now();
    try {
      const lists = await Promise.all(sites.map((site) =>
        api(`/api/v1/careplan/due?site=${encodeURIComponent(site)}`).then((data) => ({ site, data }))));
      const overdue = new Map(); // "site/resident/plan" -> [latest row, site, misses]
      const due = new Map(); // "site/resident/plan" -> [soonest row, site]
      for (const { site, data } of lists) {
        for (const row of data.overdue) {
          const k = `${site}/${row.resident}/${row.name}`;
          const seen = overdue.get(k);
          if (!seen) overdue.set(k, [row, site, 1]);
          else overdue.set(k, [row.closes_ms > seen[0].closes_ms ? row : seen[0], site, seen[2] + 1]);
        }
        for (const row of data.due_soon) {
          const k = `${site}/${row.resident}/${row.name}`;
          const seen = due.get(k);
          if (!seen || at(row) < at(seen[0])) due.set(k, [row, site]);
        }
      }
      const late = [...overdue.values()].sort((a, b) => b[0].closes_ms - a[0].closes_ms); // latest first
      const soon = [...due.values()].sort((a, b) => at(a[0]) - at(b[0])); // soonest first
      fill(overdueBox, late.map(([row, site, n]) => item(site, row, n)), "home.careplan.none_overdue");
      fill(dueBox, soon.map(([row, site]) => item(site, row)), "home.careplan.none_due");
    } catch (err) {
      if (err.status !== 401) careloop.status(t("home.error", { reason: err.reason || err.message }), "error");
    } finally {
      reading = false;
    }
  }

  window.addEventListener("careloop:overview", async (event) => {
    const items = event.detail || [];
    if (!t.locale) {
      t = await careloop.messages(["home."]);
    }
    names = new Map(items.map((r) => [`${r.site}/${r.id}`, r.name]));
    const fresh = [...new Set(items.map((r) => r.site))].sort();
    const changed = fresh.join("\n") !== sites.join("\n");
    sites = fresh;
    if (changed || Date.now() - readAt >= REREAD_MS) await read();
  });
})();
