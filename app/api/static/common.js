// careloop dashboard, volunteers' app and family page: helpers every page shares. Plain ES2020, no build step, no CDN.
//
// Safety rule for every page: data from the API only ever reaches the page as text
// (textContent, attribute values set through the DOM), never as HTML, so a summary or a
// name that contains markup shows as the characters it is.
"use strict";

const careloop = (() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  /** Every audit action the alert stream names as an event type (EventSource listens to each). */
  const ALERT_ACTIONS = [
    "open", "merge", "update", "page", "accept", "decline", "resolve", "resolved", "cancelled",
    "expired", "escalated", "step_timeout", "step_skipped", "chain_exhausted", "breach",
    "handover_requested", "handover_declined", "handover_lapsed", "handover", "reply_rejected",
    "resident_told", "resident_not_told", "cleared",
  ];

  /** An element with attributes and children; strings become text nodes, never HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  /** The same for SVG elements (charts). */
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function setAttrs(node, attrs) {
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.setAttribute("class", value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on") && typeof value === "function") {
        node.addEventListener(key.slice(2), value);
      } else node.setAttribute(key, value === true ? "" : String(value));
    }
  }

  function append(node, children) {
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  /** Where the login page should send the user back to (this page). */
  function loginUrl() {
    const here = location.pathname + location.search;
    return "/login?next=" + encodeURIComponent(here);
  }

  /** An error answer; the API's are RFC 9457 problems: {status, title, detail, reason?}. */
  class ApiError extends Error {
    constructor(status, body) {
      const problem = body && typeof body === "object" ? body : { detail: body };
      const said = problem.detail || problem.title || "";
      super(`HTTP ${status}${said ? ": " + said : ""}`);
      this.status = status;
      this.problem = problem;
      this.detail = problem.detail;
      this.reason = problem.reason || problem.detail || problem.title || `HTTP ${status}`;
    }
  }

  /**
   * fetch() a JSON API path with the session cookie. 401 sends the user to the login page
   * (unless ``anonymous``); other errors throw ApiError with the server's ``detail``.
   * ``headers`` adds request headers (the login page asks who a token is for with one).
   * Writes carry the page's Origin (fetch adds it) and a JSON body: the API refuses
   * cookie-authenticated writes without both.
   */
  async function api(path, { method = "GET", body, anonymous = false, headers = {} } = {}) {
    const init = {
      method,
      credentials: "same-origin",
      headers: { ...headers, Accept: "application/json" },
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const resp = await fetch(path, init);
    if (resp.status === 401 && !anonymous) {
      location.assign(loginUrl());
      throw new ApiError(401, "not logged in");
    }
    let data = null;
    const text = await resp.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  }

  /** Who is logged in: {role, subject, sites} from the session, or null. */
  async function whoami() {
    try {
      return await api("/api/v1/session", { anonymous: true });
    } catch {
      return null;
    }
  }

  /** "1:05" / "2 h 03 min" / "3 d 4 h" for a duration in seconds (non-negative). */
  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 3600) return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
    return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  }

  /** A short local time for an epoch-ms timestamp. */
  function clock(ms, withDate = false) {
    const d = new Date(ms);
    const opts = { hour: "2-digit", minute: "2-digit", second: "2-digit" };
    if (withDate) Object.assign(opts, { month: "short", day: "numeric" });
    return d.toLocaleString(undefined, opts);
  }

  /** ``kind_name`` → "kind name" for people. */
  function words(id) {
    return String(id || "").replaceAll("_", " ");
  }

  /** Show a message in the page's live status region (read out by screen readers). */
  function status(text, kind = "info") {
    const box = document.getElementById("status");
    if (!box) return;
    box.textContent = text;
    box.dataset.kind = kind;
  }

  /** Fill the header's "signed in as" line (words from ``t`` if given) and wire the log-out button. */
  async function header(t = null) {
    const me = await whoami();
    const who = document.getElementById("who");
    if (who && me) {
      const all = t ? t("dash.every_site") : "all sites";
      const sites = me.sites === null || me.sites === undefined ? all : [].concat(me.sites).join(", ");
      who.textContent = `${me.subject || "?"} · ${me.role} · ${sites}`;
    }
    const out = document.getElementById("logout");
    if (out) {
      out.addEventListener("click", async () => {
        try {
          await api("/api/v1/session", { method: "DELETE", anonymous: true });
        } catch {
          /* the cookie may already be gone; the login page follows either way */
        }
        location.assign("/login");
      });
    }
    return me;
  }

  /**
   * A translate function over one catalog table: t(key, {placeholders}); a plural message
   * picks its form with Intl.PluralRules by ``count``; an unknown key reads as itself.
   * t.locale is the table's locale and t.has(key) says whether the table holds ``key``.
   */
  function translator(table, locale) {
    const plural = new Intl.PluralRules(locale);
    const t = (key, params = {}) => {
      let text = table[key];
      if (text === undefined) return key;
      if (typeof text === "object") text = text[plural.select(Number(params.count || 0))] || text.other;
      return String(text).replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
    };
    t.locale = locale;
    t.has = (key) => table[key] !== undefined;
    return t;
  }

  /**
   * The catalog messages under ``prefixes`` in the user's language (their profile's, else
   * the browser's), as a translate function (see ``translator``).
   * Signed-out callers get them too, in the browser's language (login and public board).
   */
  async function messages(prefixes) {
    const query = new URLSearchParams();
    for (const p of prefixes) query.append("prefix", p);
    const data = await api(`/api/v1/messages?${query}`, { anonymous: true });
    return translator(data.messages || {}, data.locale);
  }

  /** Fill [data-i18n] text, [data-i18n-placeholder] and [data-i18n-label] from ``t``. */
  function localize(root, t) {
    if (root === document) document.documentElement.lang = t.locale;
    else root.setAttribute("lang", t.locale);
    for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of root.querySelectorAll("[data-i18n-placeholder]")) {
      node.setAttribute("placeholder", t(node.dataset.i18nPlaceholder));
    }
    for (const node of root.querySelectorAll("[data-i18n-label]")) {
      node.setAttribute("aria-label", t(node.dataset.i18nLabel));
    }
  }

  return {
    el, svg, api, ApiError, whoami, duration, clock, words, status, header, loginUrl, messages,
    translator, localize, ALERT_ACTIONS,
  };
})();
