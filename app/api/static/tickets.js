// Tickets (requests and complaints) of the user's sites, from GET /api/v1/tickets: open
// first, with tier, kind, resident, deadlines, owner and state; a form to raise one
// (POST /api/v1/tickets) and buttons to take (…/accept) and resolve with a note
// (…/resolve). What each row shows is what the API lets this user see (consent); every
// label comes from the catalogs. Live: the alert stream re-reads the list.
"use strict";

(() => {
  const { el, api, status } = careloop;
  const CLOSED = new Set(["resolved", "expired", "cancelled"]);
  const UNOWNED = new Set(["open", "notified", "escalated"]);
  const TIER_RANK = { emergency: 0, important: 1, general: 2, emotional: 3 };
  const PER_PAGE = 200;
  const $ = (id) => document.getElementById(id);
  let t = (key) => key;
  let me = null;
  let names = new Map(); // "site/resident" -> display name
  let timer = null;

  const when = (ms) => (ms ? new Date(ms).toLocaleString(t.locale, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }) : t("home.none"));
  const deadline = (ms, missed) => (missed ? el("span", { class: "late" }, t("tickets.late", { time: when(ms) })) : when(ms));

  const COLUMNS = [
    ["tier", (k) => el("span", { class: "tier", dataset: { tier: k.tier } }, t(`tier.${k.tier}`))],
    ["kind", (k) => (k.kind ? t(`tickets.kind_${k.kind}`) : el("span", { class: "muted" }, t("tickets.private")))],
    ["resident", (k) => (k.resident ? names.get(`${k.site}/${k.resident}`) || k.resident : el("span", { class: "muted" }, t("tickets.private")))],
    ["summary", (k) => [k.summary ?? el("span", { class: "muted" }, t("tickets.private")),
      k.resolution ? el("div", { class: "muted resolution" }, t("tickets.resolution", { note: k.resolution })) : null]],
    ["opened", (k) => when(k.opened_ms)],
    ["respond_by", (k) => (k.accepted_ms ? t("home.none") : deadline(k.respond_due_ms, k.respond_breached))],
    ["resolve_by", (k) => (k.resolve_due_ms && !k.resolved_ms ? deadline(k.resolve_due_ms, k.resolve_breached) : t("home.none"))],
    ["owner", (k) => k.owner || el("span", { class: "muted" }, t("tickets.nobody"))],
    ["state", (k) => t(`tickets.state.${k.state}`)],
    ["actions", actions],
  ];

  /** Take (nobody owns it yet) or resolve with a note (the caller owns it). */
  function actions(k) {
    if (UNOWNED.has(k.state)) {
      return el("button", { type: "button", class: "take", onclick: () => act(k, "accept") }, t("tickets.take"));
    }
    if (k.state === "accepted" && me && k.owner === me.subject) {
      const note = el("input", { type: "text", class: "note", maxlength: "200", "aria-label": t("tickets.note"), placeholder: t("tickets.note") });
      return [note, el("button", { type: "button", class: "resolve primary", onclick: () => act(k, "resolve", note.value.trim()) }, t("tickets.resolve"))];
    }
    return null;
  }

  async function act(k, action, note) {
    try {
      await api(`/api/v1/tickets/${encodeURIComponent(k.id)}/${action}`, { method: "POST", body: note ? { note } : {} });
      status(t(action === "accept" ? "tickets.taken" : "tickets.resolved"));
    } catch (err) {
      status(t("tickets.error", { reason: err.reason || err.message }), "error");
    }
    await load();
  }

  function order(a, b) {
    const closed = Number(CLOSED.has(a.state)) - Number(CLOSED.has(b.state));
    return closed || (TIER_RANK[a.tier] ?? 9) - (TIER_RANK[b.tier] ?? 9) || b.opened_ms - a.opened_ms;
  }

  let loads = 0; // a newer load's answer is never overwritten by an older one arriving late

  async function load() {
    const mine = ++loads;
    const site = $("site").value;
    const query = new URLSearchParams({ per_page: String(PER_PAGE) });
    if (site) query.set("site", site);
    try {
      const data = await api(`/api/v1/tickets?${query}`);
      if (mine !== loads) return;
      const items = (data.items || []).slice().sort(order);
      $("rows").replaceChildren(...items.map((k) => el("tr", {
        dataset: { ticket: k.id, state: k.state, tier: k.tier, closed: String(CLOSED.has(k.state)) },
      }, COLUMNS.map(([id, cell]) => el("td", { dataset: { col: id }, class: id === "actions" ? "actions" : null }, cell(k))))));
      const open = items.filter((k) => !CLOSED.has(k.state)).length;
      $("count").textContent = t("tickets.count", { count: data.total ?? items.length, open });
      $("empty").hidden = items.length > 0;
      $("empty").textContent = t("tickets.empty");
    } catch (err) {
      if (err.status !== 401) status(t("tickets.error", { reason: err.reason || err.message }), "error");
    }
  }

  async function loadResidents() {
    const data = await api(`/api/v1/residents?per_page=${PER_PAGE}`);
    const items = data.items || [];
    names = new Map(items.map((r) => [`${r.site}/${r.id}`, r.display_name]));
    const many = new Set(items.map((r) => r.site)).size > 1;
    $("raise-resident").replaceChildren(...items.map((r) =>
      el("option", { value: `${r.site}/${r.id}` }, many ? `${r.display_name} (${r.site})` : r.display_name)));
  }

  $("raise").addEventListener("submit", async (event) => {
    event.preventDefault();
    const [site, resident] = $("raise-resident").value.split("/");
    const body = { site, resident, kind: $("raise-kind").value, summary: $("raise-summary").value.trim() };
    if (!site || !resident || !body.summary) return;
    $("raise-submit").disabled = true;
    try {
      const made = await api("/api/v1/tickets", { method: "POST", body });
      status(t("tickets.raised", { tier: t(`tier.${made.tier}`), time: when(made.respond_due_ms) }));
      $("raise-summary").value = "";
    } catch (err) {
      status(t("tickets.error", { reason: err.reason || err.message }), "error");
    } finally {
      $("raise-submit").disabled = false;
    }
    await load();
  });

  function live() {
    const source = new EventSource("/api/v1/alerts/events");
    const later = () => {
      clearTimeout(timer);
      timer = setTimeout(load, 200);
    };
    source.onmessage = later;
    for (const action of careloop.ALERT_ACTIONS) source.addEventListener(action, later);
  }

  async function start() {
    me = await careloop.header();
    if (!me || me.role === "public") {
      location.assign(careloop.loginUrl());
      return;
    }
    t = await careloop.messages(["tickets.", "home.", "tier."]);
    careloop.localize(document, t);
    document.title = `${t("tickets.title")} · careloop`;
    $("head").replaceChildren(...COLUMNS.map(([id]) => el("th", { scope: "col" }, t(`tickets.col.${id}`))));
    for (const site of me.sites || []) $("site").append(el("option", { value: site }, site));
    $("site").addEventListener("change", load);
    $("refresh").addEventListener("click", load);
    await loadResidents().catch(() => null);
    await load();
    live();
  }

  start().catch((err) => status(t("tickets.error", { reason: err.message }), "error"));
})();
