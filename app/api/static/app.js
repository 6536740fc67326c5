// careloop volunteers' app: sign in with a one-time link or code, then my pages and owned
// alerts live, one tap to accept, decline, hand over or resolve, "I'm available / not now",
// my history, and Web Push to this phone. Plain ES2020, no build step, no CDN.
//
// Every word comes from the message catalogs (GET /api/v1/app/messages, in the volunteer's
// language); data from the API only reaches the page as text, never as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  let locale = "en";
  let me = null;
  let colleagues = [];
  let events = null;
  let reloadTimer = null;
  const drafts = new Map(); // "note-<alert>" / "to-<alert>" -> what was typed or picked

  // Shared with the dashboard (common.js). These pages sign in their own way, so a 401 is
  // theirs to handle: every call is "anonymous" (no jump to the dashboard's login page).
  const { el, status } = careloop;
  const api = (path, options = {}) => careloop.api(path, { ...options, anonymous: true });
  let t = careloop.translator({}, "en");


  function time(ms) {
    if (!ms) return "";
    return new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" }).format(new Date(ms));
  }

  function languageName(code) {
    try {
      return new Intl.DisplayNames([locale], { type: "language" }).of(code) || code;
    } catch {
      return code;
    }
  }

  async function loadMessages() {
    const data = await api("/api/v1/app/messages");
    t = careloop.translator(data.messages, data.locale);
    locale = data.locale;
    document.documentElement.lang = locale;
    document.title = t("app.title");
    for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  }

  // -- sign in ---------------------------------------------------------------------------
  function showSignIn() {
    $("home").hidden = true;
    $("signin").hidden = false;
  }

  async function signInWith(body) {
    status(t("app.signing_in"));
    try {
      await api("/api/v1/app/session", { method: "POST", body });
    } catch (err) {
      status(err.status === 429 ? t("app.signin_wait") : t("app.signin_failed"), "error");
      showSignIn();
      return false;
    }
    status("");
    return true;
  }

  $("email-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const email = $("email").value.trim();
    try {
      const data = await api("/api/v1/app/signin", { method: "POST", body: { email } });
      status(t("app.code_sent", { email, minutes: data.minutes }));
      $("code-form").hidden = false;
      $("code").focus();
    } catch (err) {
      status(err.status === 503 ? t("app.signin_unavailable") : t("app.error"), "error");
    }
  });

  $("code-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const ok = await signInWith({ email: $("email").value.trim(), code: $("code").value.trim() });
    if (ok) await start();
  });

  $("sign-out").addEventListener("click", async () => {
    await api("/api/v1/session", { method: "DELETE" }).catch(() => null);
    if (events) events.close();
    location.replace("/app/");
  });

  // -- availability and push -------------------------------------------------------------
  function showMe() {
    $("hello").textContent = t("app.hello", { name: me.name });
    $("away-state").textContent = me.available ? t("app.available_state") : t("app.away_state");
    $("available").setAttribute("aria-pressed", String(me.available));
    $("not-now").setAttribute("aria-pressed", String(!me.available));
  }

  async function setAvailable(available) {
    try {
      me = await api("/api/v1/app/availability", { method: "PUT", body: { available } });
      showMe();
    } catch {
      status(t("app.error"), "error");
    }
  }
  $("available").addEventListener("click", () => setAvailable(true));
  $("not-now").addEventListener("click", () => setAvailable(false));

  function keyBytes(b64) {
    const raw = atob(b64.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (b64.length % 4)) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  async function setUpPush() {
    const button = $("push");
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !me.vapid_public_key) {
      return;
    }
    const registration = await navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" });
    button.hidden = false;
    if (Notification.permission === "granted" && (await registration.pushManager.getSubscription())) {
      button.textContent = t("app.push_enabled");
      button.disabled = true;
      return;
    }
    button.onclick = async () => {
      if ((await Notification.requestPermission()) !== "granted") {
        status(t("app.push_denied"), "error");
        return;
      }
      try {
        const sub = await registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(me.vapid_public_key),
        });
        await api("/api/v1/app/push", { method: "POST", body: sub.toJSON() });
        button.textContent = t("app.push_enabled");
        button.disabled = true;
      } catch {
        status(t("app.push_unsupported"), "error");
      }
    };
  }

  // -- alerts ----------------------------------------------------------------------------
  function residentCard(r) {
    if (!r.name && !r.resident) return el("p", { class: "private" }, t("app.resident_private"));
    const parts = [el("p", { class: "who" }, r.name || r.resident)];
    if (r.room) parts.push(el("p", {}, t("app.room", { room: r.room })));
    if (r.language) parts.push(el("p", {}, t("app.language", { language: languageName(r.language) })));
    if (r.helps && r.helps.length) {
      parts.push(el("p", { class: "helps-title" }, t("app.helps")));
      parts.push(el("ul", { class: "helps" }, r.helps.map((h) => el("li", {}, h))));
    }
    if (r.directions_url) {
      parts.push(el("a", { href: r.directions_url, target: "_blank", rel: "noopener", class: "directions" }, t("app.directions")));
    }
    return el("div", { class: "resident" }, parts);
  }

  async function act(alert, action, extra = {}) {
    try {
      await api(`/api/v1/alerts/${encodeURIComponent(alert.id)}/${action}`, { method: "POST", body: extra });
      const name = (colleagues.find((c) => c.id === extra.to) || {}).name || extra.to;
      status(t(`app.done_${action}`, { name }), "ok");
      drafts.delete(`note-${alert.id}`);
      drafts.delete(`to-${alert.id}`);
    } catch (err) {
      const reason = err.problem && (err.problem.reason || (err.problem.detail && err.problem.detail.reason));
      status(t.has(`app.refused_${reason}`) ? t(`app.refused_${reason}`) : t("app.error"), "error");
    }
    await loadAlerts();
  }

  function actions(alert) {
    const paged = !alert.owner && !alert.my_answer;
    if (alert.offered || paged) {
      return el("div", { class: "actions" },
        el("button", { type: "button", class: "primary", onclick: () => act(alert, "accept") }, t("app.action_accept")),
        el("button", { type: "button", class: "secondary", onclick: () => act(alert, "decline") }, t("app.action_decline")));
    }
    if (!alert.mine) return null;
    // A live update redraws the cards: what the volunteer typed or picked is kept (drafts).
    const note = el("textarea", { id: `note-${alert.id}`, maxlength: 200, rows: 2,
      oninput: () => drafts.set(note.id, note.value) });
    const pick = el("select", { id: `to-${alert.id}`, onchange: () => drafts.set(pick.id, pick.value) },
      el("option", { value: "" }, t("app.handover_pick")),
      colleagues.map((c) => el("option", { value: c.id }, c.name)));
    note.value = drafts.get(note.id) || "";
    pick.value = drafts.get(pick.id) || "";
    return el("div", { class: "actions mine" },
      el("label", { for: note.id }, t("app.note_label")), note,
      el("button", { type: "button", class: "primary", onclick: () => act(alert, "resolve", note.value.trim() ? { note: note.value.trim() } : {}) }, t("app.action_resolve")),
      el("label", { for: pick.id }, t("app.handover_to")), pick,
      el("button", { type: "button", class: "secondary", onclick: () => pick.value ? act(alert, "handover", { to: pick.value }) : status(t("app.refused_bad_reply"), "error") }, t("app.action_handover")));
  }

  function stateLine(alert) {
    if (alert.offered) return t("app.state_offered", { owner: alert.owner });
    if (alert.mine) return t("app.state_mine");
    return t("app.state_paged");
  }

  function card(alert, history = false) {
    const what = alert.kind ? t(`need.${alert.kind}`) : t("app.need_private");
    const due = alert.mine ? alert.resolve_due_ms : alert.respond_due_ms;
    return el("li", { class: "card", dataset: { tier: alert.tier, alert: alert.id, state: alert.state } },
      el("p", { class: "tier" }, t(`tier.${alert.tier}`)),
      el("h2", {}, what),
      alert.summary ? el("p", { class: "summary" }, alert.summary) : null,
      history ? null : el("p", { class: "state" }, stateLine(alert)),
      !history && due ? el("p", { class: "due" }, t(alert.mine ? "app.resolve_by" : "app.respond_by", { time: time(due) })) : null,
      residentCard(alert.resident),
      history
        ? [el("p", { class: "outcome" }, alert.outcome === "resolved" ? t("app.outcome_resolved") : t("app.outcome_closed")),
           el("p", {}, t("app.opened", { time: new Date(alert.opened_ms).toLocaleString(locale) })),
           alert.note ? el("p", { class: "note" }, t("app.your_note", { note: alert.note })) : null]
        : actions(alert));
  }

  async function loadAlerts() {
    const data = await api("/api/v1/app/alerts");
    $("alerts").replaceChildren(...data.items.map((a) => card(a)));
    $("no-alerts").hidden = data.items.length > 0 || !$("history").hidden;
  }

  async function loadHistory() {
    const data = await api("/api/v1/app/history");
    $("history").replaceChildren(...data.items.map((a) => card(a, true)));
    $("no-history").hidden = data.items.length > 0;
    showThanks(data.thanks);
  }

  /** The thanks I received (praise credited to me): how many, then the latest one by one. */
  function showThanks(thanks) {
    const when = (ms) => new Date(ms).toLocaleString(locale);
    $("thanks-count").textContent = thanks.praise
      ? t("app.thanks_count", { count: thanks.praise })
      : t("app.thanks_none");
    $("thanks-list").replaceChildren(...thanks.recent.map((item) =>
      el("li", { class: "thanks", dataset: { source: item.source } },
        el("p", { class: "who" }, item.name ? t("app.thanks_from", { name: item.name }) : t("app.thanks_private")),
        el("p", {}, t(`app.thanks_via_${item.source}`, { time: when(item.ts_ms) })),
        item.credited_by === "last_helper" ? el("p", { class: "credit" }, t("app.thanks_last_helper")) : null)));
    $("thanks").hidden = false;
  }

  function tab(which) {
    const history = which === "history";
    $("tab-alerts").setAttribute("aria-selected", String(!history));
    $("tab-history").setAttribute("aria-selected", String(history));
    $("alerts").hidden = history;
    $("history").hidden = !history;
    $("thanks").hidden = true;
    $("no-alerts").hidden = true;
    $("no-history").hidden = true;
    (history ? loadHistory() : loadAlerts()).catch(() => status(t("app.error"), "error"));
  }
  $("tab-alerts").addEventListener("click", () => tab("alerts"));
  $("tab-history").addEventListener("click", () => tab("history"));

  function live() {
    if (events) events.close();
    events = new EventSource("/api/v1/alerts/events");
    const badge = $("live");
    events.onopen = () => {
      badge.dataset.state = "on";
      badge.textContent = t("app.live_on");
    };
    events.onerror = () => {
      badge.dataset.state = "off";
      badge.textContent = t("app.live_off");
    };
    events.onmessage = null;
    const changed = () => {
      clearTimeout(reloadTimer);
      reloadTimer = setTimeout(() => {
        loadAlerts().catch(() => null);
        if (!$("history").hidden) loadHistory().catch(() => null);
      }, 150);
    };
    // The stream names each event by its audit action; any of them may change my list.
    for (const name of ["page", "notify", "escalate", "accept", "decline", "resolved", "expired",
      "cancelled", "handover_requested", "handover_accepted", "handover_declined", "message"]) {
      events.addEventListener(name, changed);
    }
  }

  async function start() {
    try {
      me = await api("/api/v1/app/me");
    } catch (err) {
      if (err.status === 401 || err.status === 403) {
        showSignIn();
        return;
      }
      status(t("app.error"), "error");
      return;
    }
    await loadMessages(); // now in the volunteer's own language
    $("signin").hidden = true;
    $("home").hidden = false;
    showMe();
    colleagues = await api("/api/v1/app/volunteers").catch(() => []);
    await loadAlerts();
    live();
    setUpPush().catch(() => null);
  }

  async function main() {
    await loadMessages();
    const hash = new URLSearchParams(location.hash.slice(1));
    const link = hash.get("signin");
    if (link) {
      // Wipe the one-time link from the address bar and history before anything else.
      history.replaceState(null, "", location.pathname);
      if (!(await signInWith({ link }))) return;
    }
    await start();
  }

  main().catch(() => status(t("app.error"), "error"));
})();
