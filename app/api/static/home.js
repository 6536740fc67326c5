// The coordinators' home page: every resident of the user's sites at a glance, from
// GET /api/v1/residents/overview — latest vitals against their usual band, open needs,
// tickets, devices, today's care plan, the latest satisfaction answer. Sortable by any
// column, searchable, and live: the alert stream (a need opened, accepted, closed) and a
// minute's timer both re-read the overview. Every label comes from the catalogs.
"use strict";

(() => {
  const { el, api } = careloop;
  const VITALS = ["heart_rate", "spo2", "respiration_rate", "temperature", "systolic_bp"];
  const DIGITS = { heart_rate: 0, systolic_bp: 0, spo2: 1, respiration_rate: 1, temperature: 1 };
  const TIER_RANK = { emergency: 4, important: 3, general: 2, emotional: 1 };
  const ACTIONS = careloop.ALERT_ACTIONS;

  const search = document.getElementById("search");
  const rowsBox = document.getElementById("rows");
  const head = document.getElementById("head");
  const live = document.getElementById("live");
  const empty = document.getElementById("empty");
  let t = (key) => key;
  let items = [];
  let sort = { key: "needs", dir: -1 };
  let known = new Map(); // resident key -> open needs, to announce new ones
  let loading = false;
  let again = false;
  let timer = null;

  const key = (r) => `${r.site}/${r.id}`;
  const number = (value, digits) =>
    new Intl.NumberFormat(t.locale, { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(value);

  /** The columns: label, how to sort (a value per resident), how to draw a cell. */
  const COLUMNS = [
    { id: "resident", label: () => t("home.col.resident"), value: (r) => r.name.toLowerCase(), cell: residentCell },
    { id: "site", label: () => t("home.col.site"), value: (r) => r.site, cell: (r) => r.site },
    ...VITALS.map((f) => ({
      id: f, label: () => t(`vital.${f}`), num: true,
      value: (r) => (r.vitals[f] ? r.vitals[f].value : null), cell: (r) => vitalCell(r, f),
    })),
    {
      id: "needs", label: () => t("home.col.needs"), num: true,
      value: (r) => r.needs_open * 10 + (TIER_RANK[r.top_tier] || 0), cell: (r) => tiersCell(r.needs, r.needs_open),
    },
    {
      id: "tickets", label: () => t("home.col.tickets"), num: true,
      value: (r) => r.tickets_open, cell: (r) => tiersCell(r.tickets, r.tickets_open),
    },
    { id: "devices", label: () => t("home.col.devices"), value: (r) => r.devices_total - r.devices_online, cell: devicesCell },
    { id: "plan", label: () => t("home.col.plan"), value: (r) => r.plan_overdue * 100 + r.plan_due, cell: planCell },
    {
      id: "satisfaction", label: () => t("home.col.satisfaction"), num: true, value: (r) => r.satisfaction,
      cell: (r) => (r.satisfaction === null ? t("home.none") : number(r.satisfaction, 0)),
    },
  ];

  function residentCell(r) {
    return el("a", { href: `/residents/${encodeURIComponent(r.site)}/${encodeURIComponent(r.id)}` },
      r.name, " ", el("span", { class: "muted" }, `(${r.id})`));
  }

  function vitalCell(r, f) {
    const v = r.vitals[f];
    if (!v) return t("home.none");
    const digits = DIGITS[f];
    const value = number(v.value, digits);
    const said = v.state === "unknown"
      ? t("home.vital.unknown", { value })
      : t(`home.vital.${v.state}`, { value, lo: number(v.lo, digits), hi: number(v.hi, digits) });
    return el("span", { class: "vital", dataset: { state: v.state }, title: said, "aria-label": said },
      value, v.state === "high" ? " ▲" : v.state === "low" ? " ▼" : "");
  }

  /** Open needs or tickets: the count per tier, most urgent first. */
  function tiersCell(counts, total) {
    if (!total) return "0";
    const parts = Object.entries(counts)
      .sort((a, b) => (TIER_RANK[b[0]] || 0) - (TIER_RANK[a[0]] || 0))
      .map(([tier, n]) => el("span", { class: "tier", dataset: { tier } }, `${t(`tier.${tier}`)} ${n}`));
    return el("span", { class: "cluster" }, parts);
  }

  function devicesCell(r) {
    if (!r.devices_total) return el("span", { class: "muted" }, t("home.devices.none"));
    const ok = r.devices_online === r.devices_total;
    return el("span", { class: ok ? "ok" : "late" }, t("home.devices", { online: r.devices_online, total: r.devices_total }));
  }

  function planCell(r) {
    if (!r.plan.length) return el("span", { class: "muted" }, t("home.plan.none"));
    const upcoming = r.plan.filter((p) => p.state === "upcoming").length;
    const parts = [];
    if (r.plan_overdue) parts.push(el("span", { class: "late" }, t("home.plan.overdue", { count: r.plan_overdue })));
    if (r.plan_due) parts.push(el("span", { class: "due" }, t("home.plan.due", { count: r.plan_due })));
    if (upcoming) parts.push(el("span", { class: "muted" }, t("home.plan.upcoming", { count: upcoming })));
    if (!parts.length) parts.push(el("span", { class: "ok" }, t("home.plan.done")));
    const title = r.plan.map((p) => `${p.name}: ${new Date(p.opens_ms).toLocaleTimeString(t.locale, { hour: "2-digit", minute: "2-digit" })}`).join("\n");
    return el("span", { class: "cluster", title }, parts);
  }

  function drawHead() {
    head.replaceChildren(...COLUMNS.map((c) => {
      const sorted = sort.key === c.id;
      const label = c.label();
      return el("th", {
        scope: "col", class: c.num ? "num" : null,
        "aria-sort": sorted ? (sort.dir > 0 ? "ascending" : "descending") : "none",
      }, el("button", {
        type: "button", class: "sort", dataset: { col: c.id }, title: t("home.sort", { column: label }),
        onclick: () => {
          sort = { key: c.id, dir: sorted ? -sort.dir : c.num ? -1 : 1 };
          drawHead();
          draw();
        },
      }, label, sorted ? (sort.dir > 0 ? " ↑" : " ↓") : ""));
    }));
  }

  function matches(r, query) {
    if (!query) return true;
    return [r.name, r.id, r.site].some((s) => String(s).toLowerCase().includes(query));
  }

  function draw() {
    const query = search.value.trim().toLowerCase();
    const column = COLUMNS.find((c) => c.id === sort.key) || COLUMNS[0];
    const shown = items.filter((r) => matches(r, query)).sort((a, b) => {
      const va = column.value(a);
      const vb = column.value(b);
      if (va === vb) return a.name.localeCompare(b.name, t.locale);
      if (va === null || va === undefined) return 1; // no value: always last
      if (vb === null || vb === undefined) return -1;
      return (va < vb ? -1 : 1) * sort.dir;
    });
    rowsBox.replaceChildren(...shown.map((r) => el("tr", {
      dataset: { resident: key(r), tier: r.top_tier || "" },
    }, COLUMNS.map((c) => el("td", { class: c.num ? "num" : null, dataset: { col: c.id } }, c.cell(r))))));
    document.getElementById("count").textContent = t("home.count", { shown: shown.length, count: items.length });
    empty.hidden = shown.length > 0;
    empty.textContent = items.length ? t("home.no_match", { query: search.value.trim() }) : t("home.empty");
  }

  async function load() {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      const data = await api("/api/v1/residents/overview");
      const fresh = data.items || [];
      for (const r of fresh) {
        const before = known.get(key(r));
        if (before !== undefined && r.needs_open > before) careloop.status(t("home.new_need", { name: r.name }));
      }
      known = new Map(fresh.map((r) => [key(r), r.needs_open]));
      items = fresh;
      draw();
      window.dispatchEvent(new CustomEvent("careloop:overview", { detail: items }));
      const when = new Date(data.generated_ms).toLocaleTimeString(t.locale);
      document.getElementById("updated").textContent = t("home.updated", { time: when });
    } catch (err) {
      if (err.status !== 401) careloop.status(t("home.error", { reason: err.reason || err.message }), "error");
    } finally {
      loading = false;
      if (again) {
        again = false;
        reload(50);
      }
    }
  }

  function reload(ms = 200) {
    clearTimeout(timer);
    timer = setTimeout(load, ms);
  }

  function connect() {
    const source = new EventSource("/api/v1/alerts/events");
    source.onmessage = () => reload();
    for (const action of ACTIONS) source.addEventListener(action, () => reload());
    source.onopen = () => {
      live.dataset.state = "live";
      live.textContent = t("home.live");
      reload(0);
    };
    source.onerror = () => {
      live.dataset.state = "down";
      live.textContent = t("home.reconnecting");
    };
  }

  async function start() {
    const me = await careloop.header();
    if (!me || me.role === "public") {
      location.assign(careloop.loginUrl());
      return;
    }
    t = await careloop.messages(["home.", "vital.", "tier."]);
    careloop.localize(document, t);
    document.title = `${t("home.title")} · careloop`;
    const chart = document.getElementById("satisfaction-chart");
    chart.alt = t("home.chart_alt");
    chart.src = `/api/v1/ratings/monthly.svg?lang=${encodeURIComponent(t.locale)}`;
    drawHead();
    search.addEventListener("input", draw);
    await load();
    connect();
    // Vitals move without any alert: re-read every minute all the same.
    setInterval(() => reload(0), 60000);
  }

  start();
})();
