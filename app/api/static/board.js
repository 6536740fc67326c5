// The coordinator's live alert board.
//
// The list comes from GET /api/v1/alerts (scoped by the server to the signed-in user's
// sites); the server-sent event stream /api/v1/alerts/events says *that* something happened
// to an alert (it carries no resident ids or text), and the board then re-reads the list, so
// new alerts appear and owners change without a reload. Deadlines count down in the browser
// from the alerts' own deadline timestamps; nothing is polled once a second.
"use strict";

(() => {
  const { el, api, duration, clock, words, status } = careloop;

  /** States in which an alert is still waiting for someone, and those where nothing more happens. */
  const UNOWNED = new Set(["open", "notified", "escalated"]);
  const TERMINAL = new Set(["resolved", "expired", "cancelled"]);
  const TIER_RANK = { emergency: 0, important: 1, general: 2, emotional: 3 };
  /** Every audit action the stream may name (``event:`` lines); unknown ones still arrive as "message". */
  const ACTIONS = careloop.ALERT_ACTIONS;

  const list = document.getElementById("alerts");
  const empty = document.getElementById("empty");
  const live = document.getElementById("live");
  const siteSel = document.getElementById("site");
  const tierSel = document.getElementById("tier");
  const actingAs = document.getElementById("acting-as");

  let me = null;
  /** The page's words (board., dash., tier., need.); keys until they arrive. */
  let t = (key) => key;
  /** A catalog word for an API id, or the id in words if the catalog has none. */
  const word = (domain, id) => {
    const said = t(`${domain}.${id}`);
    return said === `${domain}.${id}` ? words(id) : said;
  };
  const tierWord = (tier) => (tier ? word("tier", tier) : "?");
  const kindWord = (kind) => (kind ? word("need", kind) : t("board.not_shared"));
  const stateWord = (state) => word("board.alert_state", state);
  /** id -> the alert as last rendered (JSON), to re-render only what changed. */
  const shown = new Map();
  let reloadTimer = null;
  /** After the first load, new cards are highlighted as they arrive. */
  let loadedOnce = false;
  let loading = false;
  let again = false;

  function respondDue(a) {
    return a.respond_due_ms ?? a.respond_due ?? null;
  }
  function resolveDue(a) {
    return a.resolve_due_ms ?? a.resolve_due ?? null;
  }

  /** A countdown element: the client-side ticker below keeps its text current. */
  function countdown(label, due, met) {
    if (due === null || due === undefined) return null;
    return el("div", {},
      el("dt", {}, label),
      el("dd", {},
        el("time", { datetime: new Date(due).toISOString() }, clock(due)),
        " ",
        el("span", { class: "countdown", dataset: { due: String(due), met: met ? "1" : "" } }, "")));
  }

  function tick() {
    const now = Date.now();
    for (const node of list.querySelectorAll(".countdown")) {
      const due = Number(node.dataset.due);
      if (node.dataset.met) {
        node.textContent = t("board.met");
        node.className = "countdown met";
        continue;
      }
      const left = (due - now) / 1000;
      node.textContent = left >= 0 ? t("board.left", { time: duration(left) }) : t("board.overdue", { time: duration(-left) });
      node.className = left >= 0 ? "countdown" : "countdown late";
    }
  }

  /** Who the buttons act for: the volunteer themself, or whoever a coordinator names. */
  function actor() {
    if (me && me.role === "volunteer") return me.subject;
    return actingAs.value.trim() || (me ? me.subject : "");
  }

  function canAct() {
    return me && ["volunteer", "coordinator", "admin"].includes(me.role);
  }

  async function act(alert, action, extra = {}) {
    const body = { ...extra };
    if (me && me.role !== "volunteer" && actingAs.value.trim()) body.volunteer = actingAs.value.trim();
    const who = alert.resident || alert.id;
    const name = t(`board.action.${action}`);
    status(t("board.sending", { action: name, who }));
    try {
      await api(`/api/v1/alerts/${encodeURIComponent(alert.id)}/${action}`, { method: "POST", body });
      status(t(`board.done.${action}`, { kind: alert.kind ? kindWord(alert.kind) : t("board.the_need"), who }));
    } catch (err) {
      status(t("board.failed", { action: name, reason: words(err.reason || err.message) }), "error");
    }
    scheduleReload(0);
  }

  function buttons(a) {
    if (!canAct() || TERMINAL.has(a.state)) return null;
    const who = actor();
    const box = el("div", { class: "actions", role: "group", "aria-label": t("board.actions_for", { who: a.resident || a.id }) });
    if (UNOWNED.has(a.state) || (a.handover_to && a.handover_to === who)) {
      box.append(
        el("button", { type: "button", class: "primary", dataset: { action: "accept" }, onclick: () => act(a, "accept") }, t("board.action.accept")),
        el("button", { type: "button", dataset: { action: "decline" }, onclick: () => act(a, "decline") }, t("board.action.decline")));
    }
    if (a.state === "accepted" && (a.owner === who || (me && me.role !== "volunteer"))) {
      const inputId = `handover-${a.id}`;
      const to = el("input", { id: inputId, autocomplete: "off", spellcheck: "false", placeholder: t("board.volunteer_id") });
      box.append(
        el("button", { type: "button", class: "primary", dataset: { action: "resolve" }, onclick: () => act(a, "resolve") }, t("board.action.resolve")),
        el("label", { for: inputId }, t("board.handover_to")),
        to,
        el("button", {
          type: "button",
          dataset: { action: "handover" },
          onclick: () => {
            const target = to.value.trim();
            if (!target) {
              status(t("board.name_volunteer"), "error");
              to.focus();
              return;
            }
            act(a, "handover", { to: target });
          },
        }, t("board.action.handover")));
    }
    return box.childElementCount ? box : null;
  }

  function card(a, fresh) {
    const accepted = a.state === "accepted" || a.accepted_ms;
    const owner = a.owner
      ? el("dd", { class: "owner" }, a.owner)
      : el("dd", { class: "owner muted" }, t("board.nobody"));
    const residentLink = a.site && a.resident
      ? el("a", { href: `/residents/${encodeURIComponent(a.site)}/${encodeURIComponent(a.resident)}` }, a.resident)
      : (a.resident || "");
    const item = el("li", {
      class: fresh ? "alert fresh" : "alert",
      id: `alert-${a.id}`,
      dataset: { id: a.id, tier: a.tier || "", state: a.state || "" },
      "aria-labelledby": `alert-${a.id}-h`,
    },
      el("h3", { id: `alert-${a.id}-h` },
        el("span", { class: "tier", dataset: { tier: a.tier || "" } }, tierWord(a.tier)),
        el("span", { class: "kind" }, kindWord(a.kind)),
        el("span", {}, "· ", residentLink),
        a.site ? el("span", { class: "muted" }, a.site) : null),
      a.summary
        ? el("p", { class: "summary" }, a.summary)
        : el("p", { class: "summary muted" }, t("board.summary_hidden")),
      el("dl", { class: "facts" },
        el("div", {}, el("dt", {}, t("board.state")), el("dd", { class: "state", dataset: { state: a.state } }, stateWord(a.state))),
        el("div", {}, el("dt", {}, t("board.owner")), owner),
        a.handover_to ? el("div", {}, el("dt", {}, t("board.handing_over")), el("dd", {}, a.handover_to)) : null,
        a.opened_ms ? el("div", {}, el("dt", {}, t("board.opened")), el("dd", {}, el("time", { datetime: new Date(a.opened_ms).toISOString() }, clock(a.opened_ms)))) : null,
        countdown(t("board.respond_by"), respondDue(a), Boolean(accepted)),
        accepted ? countdown(t("board.resolve_by"), resolveDue(a), false) : null),
      buttons(a));
    return item;
  }

  function render(items) {
    items.sort((x, y) => (TIER_RANK[x.tier] ?? 9) - (TIER_RANK[y.tier] ?? 9) || (x.opened_ms || 0) - (y.opened_ms || 0));
    const keep = new Set();
    let previous = null;
    for (const a of items) {
      keep.add(a.id);
      const key = JSON.stringify([a, me && me.role, actor()]);
      let node = document.getElementById(`alert-${a.id}`);
      if (!node || shown.get(a.id) !== key) {
        const focused = node && node.contains(document.activeElement) ? document.activeElement.dataset.action : null;
        const next = card(a, !shown.has(a.id) && loadedOnce);
        if (node) node.replaceWith(next);
        node = next;
        shown.set(a.id, key);
        if (focused) node.querySelector(`[data-action="${focused}"]`)?.focus();
      }
      const want = previous ? previous.nextSibling : list.firstChild;
      if (want !== node) list.insertBefore(node, want);
      previous = node;
    }
    for (const id of [...shown.keys()]) {
      if (!keep.has(id)) {
        document.getElementById(`alert-${id}`)?.remove();
        shown.delete(id);
      }
    }
    empty.hidden = items.length > 0;
    tick();
  }

  async function load() {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      const query = new URLSearchParams({ per_page: "100" });
      if (siteSel.value) query.set("site", siteSel.value);
      if (tierSel.value) query.set("tier", tierSel.value);
      query.set("state", "open"); // the API: any state not yet closed
      const data = await api(`/api/v1/alerts?${query}`);
      const items = (data.items || []).filter((a) => !TERMINAL.has(a.state));
      render(items);
      loadedOnce = true;
      const more = (data.total || 0) > items.length && (data.total || 0) > (data.per_page || 100);
      if (more) status(t("board.showing", { shown: items.length, total: data.total }));
    } catch (err) {
      if (err.status !== 401) status(t("board.error", { reason: err.message }), "error");
    } finally {
      loading = false;
      if (again) {
        again = false;
        scheduleReload(50);
      }
    }
  }

  function scheduleReload(ms = 150) {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(load, ms);
  }

  function connect() {
    const source = new EventSource("/api/v1/alerts/events");
    const onEvent = () => scheduleReload();
    source.onmessage = onEvent;
    for (const action of ACTIONS) source.addEventListener(action, onEvent);
    source.onopen = () => {
      live.dataset.state = "live";
      live.textContent = t("home.live");
      scheduleReload(0); // catch up on anything missed while disconnected
    };
    source.onerror = () => {
      // EventSource reconnects by itself; say so instead of failing silently.
      live.dataset.state = "down";
      live.textContent = t("home.reconnecting");
    };
  }

  async function start() {
    try {
      t = await careloop.messages(["board.", "dash.", "home.nav.", "home.skip", "home.logout", "home.live",
        "home.reconnecting", "tier.", "need."]);
      careloop.localize(document, t);
      document.title = `${t("board.title")} · careloop`;
    } catch (err) {
      if (err.status === 401) {
        location.assign(careloop.loginUrl());
        return;
      }
      status(err.message, "error"); // the English already in the page stays
    }
    me = await careloop.header(t);
    if (!me || me.role === "public") {
      location.assign(careloop.loginUrl());
      return;
    }
    for (const site of me.sites || []) siteSel.append(el("option", { value: site }, site));
    if (me.role === "volunteer") actingAs.closest("div").hidden = true;
    siteSel.addEventListener("change", () => scheduleReload(0));
    tierSel.addEventListener("change", () => scheduleReload(0));
    actingAs.addEventListener("change", () => scheduleReload(0));
    await load();
    connect();
    setInterval(tick, 1000);
    // A safety net if the stream is quietly cut by a proxy: re-read every 30 s.
    setInterval(() => scheduleReload(0), 30000);
  }

  start();
})();
