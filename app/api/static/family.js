// careloop family page: a resident's family reads the weekly report, sees a missed care-plan
// item they were told of (and may answer "I'll handle it"), sends a request, complaint or
// thanks, follows their tickets to an answer and rates it. Plain ES2020, no
// build step, no CDN.
//
// Every word comes from the message catalogs (GET /api/v1/family/messages, in ?lang= or the
// browser's language); data from the API reaches the page as text only, never as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const REFRESH_MS = 10000; // the tickets list is read again this often while visible
  const STATE = { open: "open", notified: "open", escalated: "open", accepted: "accepted",
                  resolved: "resolved", expired: "closed", cancelled: "closed" };
  const lang = new URLSearchParams(location.search).get("lang");
  let locale = "en";
  let me = null;
  let timer = null;

  // Shared with the dashboard (common.js). These pages sign in their own way, so a 401 is
  // theirs to handle: every call is "anonymous" (no jump to the dashboard's login page).
  const { el, status } = careloop;
  const api = (path, options = {}) => careloop.api(path, { ...options, anonymous: true });
  let t = careloop.translator({}, "en");


  function when(ms) {
    if (!ms) return "";
    return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(new Date(ms));
  }

  async function loadMessages() {
    const query = lang ? `?lang=${encodeURIComponent(lang)}` : "";
    const data = await api(`/api/v1/family/messages${query}`);
    t = careloop.translator(data.messages, data.locale);
    locale = data.locale;
    document.documentElement.lang = locale;
    document.title = t("family.title");
    for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  }

  // -- sign in: /family/#token=... or the token typed in -------------------------------------
  function showSignIn() {
    $("home").hidden = true;
    $("signin").hidden = false;
  }

  async function signIn(token) {
    status(t("family.signing_in"));
    try {
      const session = await api("/api/v1/session", { method: "POST", body: { token } });
      if (session.role !== "family") {
        await api("/api/v1/session", { method: "DELETE" });
        status(t("family.not_family"), "error");
        return false;
      }
    } catch (err) {
      status(err.status === 429 ? t("family.signin_wait") : t("family.signin_failed"), "error");
      return false;
    }
    status("");
    return true;
  }

  $("token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await signIn($("token").value.trim())) await start();
  });

  $("sign-out").addEventListener("click", async () => {
    await api("/api/v1/session", { method: "DELETE" }).catch(() => null);
    clearInterval(timer);
    me = null;
    showSignIn();
  });

  // -- the report ----------------------------------------------------------------------------
  function showReport() {
    const base = `/api/v1/residents/${encodeURIComponent(me.site)}/${encodeURIComponent(me.resident)}/report`;
    $("report-links").hidden = !me.report;
    if (!me.report) {
      $("report-text").textContent = t("family.report_private");
      return;
    }
    $("report-text").textContent = me.vitals ? t("family.report_intro") : t("family.report_intro_no_vitals");
    $("report-link").href = `${base}?lang=${encodeURIComponent(locale)}`;
    $("report-pdf").href = `${base}?format=pdf&lang=${encodeURIComponent(locale)}`;
  }

  // -- missed care-plan items the family was told of (alerts/family.py) --------------------
  async function handle(item) {
    try {
      await api(`/api/v1/family/missed/${encodeURIComponent(item.id)}/handle`, { method: "POST" });
      status(t("family.missed_handled"), "ok");
    } catch (err) {
      status(t("family.error"), "error");
    }
    await loadMissed();
  }

  function missedCard(item) {
    const what = t("family.missed_item", { item: item.item || t("family.missed_unnamed"),
                                           when: when(item.due_ms) });
    let action = null;
    if (item.open) {
      action = el("button", { type: "button", class: "primary", onclick: () => handle(item) },
                  t("family.missed_handle"));
    } else if (item.handled) {
      action = el("p", { class: "rated" }, t("family.missed_handled"));
    }
    return el("li", { class: "card", dataset: { id: item.id } }, el("p", {}, what), action);
  }

  async function loadMissed() {
    try {
      const list = await api("/api/v1/family/missed");
      $("missed").replaceChildren(...list.items.map(missedCard));
      $("missed-card").hidden = list.items.length === 0;
    } catch (err) {
      if (err.status === 401) return showSignIn();
    }
  }

  // -- tickets -------------------------------------------------------------------------------
  function ratingOf(ticket) {
    const mine = ticket.ratings.find((r) => r.rater === "family" && r.score);
    return mine ? mine.score : null;
  }

  async function rate(ticket, score) {
    try {
      await api("/api/v1/ratings", { method: "POST", body: { alert: ticket.id, score } });
      status(t("family.rated_thanks"), "ok");
    } catch (err) {
      status(err.status === 409 ? t("family.already_rated") : t("family.error"), "error");
    }
    await loadTickets();
  }

  function ratingPart(ticket) {
    if (ticket.state !== "resolved") return null;
    const score = ratingOf(ticket);
    if (score) return el("p", { class: "rated" }, t("family.rated", { score }));
    const buttons = [1, 2, 3, 4, 5].map((n) =>
      el("button", { type: "button", "aria-label": t("family.rate_n", { score: n }),
                     onclick: () => rate(ticket, n) }, String(n)));
    return el("div", { class: "rating" }, el("p", {}, t("family.rate_question")),
              el("div", { class: "stars" }, buttons));
  }

  function ticketCard(ticket) {
    const state = STATE[ticket.state] || "open";
    const kind = ticket.kind ? t(`family.kind_${ticket.kind}`) : t("family.kind_private");
    const answer = ticket.resolution
      ? el("div", { class: "answer" }, el("p", {}, t("family.answer", { note: ticket.resolution })))
      : null;
    return el("li", { class: "card", dataset: { tier: ticket.tier, state, id: ticket.id } },
      el("p", { class: "tier" }, `${kind} · ${t(`tier.${ticket.tier}`)}`),
      ticket.summary ? el("p", { class: "summary" }, ticket.summary) : null,
      el("p", { class: "state" }, t(`family.state_${state}`), " · ", t("family.sent_at", { when: when(ticket.opened_ms) })),
      answer,
      ratingPart(ticket));
  }

  async function loadTickets() {
    try {
      const page = await api("/api/v1/tickets?per_page=50");
      $("tickets").replaceChildren(...page.items.map(ticketCard));
      $("no-tickets").hidden = page.items.length > 0;
    } catch (err) {
      if (err.status === 401) return showSignIn();
      status(t("family.error"), "error");
    }
  }

  $("refresh").addEventListener("click", () => { loadMissed(); loadTickets(); });

  $("ticket-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const kind = document.querySelector("input[name=kind]:checked").value;
    const summary = $("summary").value.trim();
    if (!summary) return;
    $("send").disabled = true;
    try {
      await api("/api/v1/tickets", { method: "POST",
        body: { site: me.site, resident: me.resident, kind, summary } });
      $("summary").value = "";
      status(t(`family.sent_${kind}`), "ok");
    } catch (err) {
      status(t("family.error"), "error");
    } finally {
      $("send").disabled = false;
    }
    await loadTickets();
  });

  // -- start ---------------------------------------------------------------------------------
  async function start() {
    try {
      me = await api("/api/v1/family/me");
    } catch (err) {
      if (err.status === 404) status(t("family.resident_gone"), "error");
      if (err.status === 403) status(t("family.not_family"), "error");
      return showSignIn();
    }
    $("signin").hidden = true;
    $("home").hidden = false;
    $("hello").textContent = me.name ? t("family.hello", { name: me.name }) : t("family.hello_private");
    showReport();
    await Promise.all([loadMissed(), loadTickets()]);
    clearInterval(timer);
    timer = setInterval(() => { if (!document.hidden) { loadMissed(); loadTickets(); } }, REFRESH_MS);
  }

  async function main() {
    await loadMessages();
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    if (token) {
      history.replaceState(null, "", location.pathname + location.search); // wipe the token
      if (!(await signIn(token))) return showSignIn();
    }
    await start();
  }

  main().catch(() => status(t("family.error"), "error"));
})();
