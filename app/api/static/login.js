// Sign in: the token goes to POST /api/v1/session once, which answers with an HttpOnly
// cookie; the page never stores it. A link of the form /login#token=... (what `careloop demo`
// prints) signs in at once; the fragment never reaches a server or a Referer header, and is
// wiped from the address bar and history before anything else happens.
"use strict";

(() => {
  const { api, status } = careloop;

  /** Only same-site paths: never let ?next= send a signed-in user to another origin. */
  function nextPath() {
    const next = new URLSearchParams(location.search).get("next") || "/board";
    return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/board";
  }

  async function signIn(token) {
    status("Signing in…");
    try {
      await api("/api/v1/session", { method: "POST", body: { token }, anonymous: true });
    } catch (err) {
      status(err.status === 401 || err.status === 403 ? "That token was not accepted." : `Sign-in failed: ${err.message}`, "error");
      return;
    }
    location.replace(nextPath());
  }

  const form = document.getElementById("login");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = form.elements.token.value.trim();
    form.elements.token.value = "";
    if (token) signIn(token);
  });

  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get("token");
  if (token) {
    history.replaceState(null, "", location.pathname + location.search);
    signIn(token);
  } else {
    form.elements.token.focus();
  }
})();
