// Sign in: the token goes to POST /api/v1/session once, which answers with an HttpOnly
// cookie; the page never stores it.
//
// A link of the form /login#token=... (what `careloop demo` prints) fills nothing in by
// itself: anybody can send a link holding *their* token, and signing in with it silently
// would make the victim act, and type, as the sender. So the page asks the API who the
// token is for (GET /api/v1/session with it as a bearer token: no cookie is set), shows
// "Sign in as <role> <subject>?" and the current session if there is one, and signs in
// only when the button is pressed. The fragment never reaches a server or a Referer
// header, and is wiped from the address bar and history before anything else happens.
"use strict";

(() => {
  const { api, status, whoami } = careloop;
  /** The page's words (login., dash.), the browser's language when signed out. */
  let t = (key) => key;

  /**
   * Where to go after signing in: ?next= only if it is a path of this origin. The URL
   * parser decides, as the browser will when navigating: it strips tabs and newlines and
   * reads backslashes as slashes, so "/\t/evil.example" or "/\\evil.example" (which a
   * prefix check lets through) resolve to another host here and are refused.
   */
  function nextPath() {
    const fallback = "/board";
    const next = new URLSearchParams(location.search).get("next");
    if (!next) return fallback;
    let url;
    try {
      url = new URL(next, location.origin);
    } catch {
      return fallback;
    }
    if (url.origin !== location.origin || !/^https?:$/.test(url.protocol)) return fallback;
    return url.pathname + url.search + url.hash;
  }

  async function signIn(token) {
    status(t("login.signing_in"));
    try {
      await api("/api/v1/session", { method: "POST", body: { token }, anonymous: true });
    } catch (err) {
      status(refusal(err), "error");
      return;
    }
    location.replace(nextPath());
  }

  function refusal(err) {
    if (err.status === 401 || err.status === 403) return t("login.refused");
    if (err.status === 429) return t("login.too_many");
    return t("login.failed", { reason: err.message });
  }

  function describe(who) {
    const sites = who.sites === null || who.sites === undefined ? t("dash.every_site") : [].concat(who.sites).join(", ");
    return t("login.who", { role: who.role, subject: who.subject, sites });
  }

  /** A token from a link: show whose it is, and sign in only on "Sign in". */
  async function confirmLink(token) {
    status(t("login.checking"));
    let who;
    try {
      who = await api("/api/v1/session", { anonymous: true, headers: { Authorization: `Bearer ${token}` } });
    } catch (err) {
      status(refusal(err), "error");
      form.elements.token.focus();
      return;
    }
    const current = await whoami();
    const box = document.getElementById("confirm");
    document.getElementById("confirm-question").textContent = t("login.question", { who: describe(who) });
    const note = document.getElementById("confirm-current");
    if (current && current.role !== "public") {
      note.textContent = t("login.current", { who: describe(current) });
      note.hidden = false;
    }
    status("");
    box.hidden = false;
    const yes = document.getElementById("confirm-yes");
    yes.textContent = t("login.as", { role: who.role, subject: who.subject });
    yes.addEventListener("click", () => {
      box.hidden = true;
      signIn(token);
    }, { once: true });
    document.getElementById("confirm-no").addEventListener("click", () => {
      box.hidden = true;
      status(t("login.declined"));
      form.elements.token.focus();
    }, { once: true });
    yes.focus();
  }

  const form = document.getElementById("login");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = form.elements.token.value.trim();
    form.elements.token.value = "";
    if (token) signIn(token);
  });

  async function start() {
    // The fragment leaves the address bar before anything else happens, words included.
    const fragment = new URLSearchParams(location.hash.slice(1));
    const token = fragment.get("token");
    if (token) history.replaceState(null, "", location.pathname + location.search);
    try {
      t = await careloop.messages(["login.", "dash."]);
      careloop.localize(document, t);
      document.title = `${t("login.page_title")} · careloop`;
    } catch (err) {
      status(err.message, "error"); // the English already in the page stays
    }
    if (token) confirmLink(token);
    else form.elements.token.focus();
  }

  start();
})();
