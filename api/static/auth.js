/* Signing in where reads need a user (PITWALL_AUTH_READS=1): a login form when the API says
 * 401, the token pair kept in this browser (localStorage), the access token refreshed a
 * minute before it expires and whenever the API refuses it, and the WebSocket's first
 * message {"type": "auth", "token": ...} (no token in URLs). Where reads are public nothing
 * of this shows. window.pitwallAuth: fetch(), wsHello(), whenSignedIn(), signOut(). */
"use strict";

(function () {
  const KEY = "pitwall.auth";
  let pair = null;
  try { pair = JSON.parse(localStorage.getItem(KEY) || "null"); } catch (e) { pair = null; }
  let refreshing = null, timer = null, waiting = [];

  function save(p) {
    pair = p;
    if (p) localStorage.setItem(KEY, JSON.stringify(p)); else localStorage.removeItem(KEY);
    schedule();
    renderUser();
  }

  function claims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part));
    } catch (e) { return {}; }
  }

  function schedule() {
    clearTimeout(timer);
    if (!pair?.access_token) return;
    const exp = claims(pair.access_token).exp;
    if (!exp) return;
    const wait = Math.max(exp * 1000 - Date.now() - 60_000, 5_000);
    timer = setTimeout(() => refresh(), Math.min(wait, 2 ** 31 - 1));
  }

  async function refresh() {
    if (!pair?.refresh_token) return false;
    if (!refreshing) {
      refreshing = (async () => {
        const r = await fetch("/api/v1/auth/refresh", {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ refresh_token: pair.refresh_token }),
        }).catch(() => null);
        if (r && r.ok) { save({ ...(await r.json()), user: pair.user }); return true; }
        if (r && (r.status === 401 || r.status === 422)) save(null);
        return false;
      })().finally(() => { refreshing = null; });
    }
    return refreshing;
  }

  function withToken(opts) {
    const headers = new Headers(opts?.headers || {});
    if (pair?.access_token) headers.set("Authorization", `Bearer ${pair.access_token}`);
    return { ...(opts || {}), headers };
  }

  /* fetch() with the access token; a 401 refreshes it once, then asks the user to sign in. */
  async function authFetch(url, opts) {
    let r = await fetch(url, withToken(opts));
    if (r.status !== 401) return r;
    if (await refresh()) {
      r = await fetch(url, withToken(opts));
      if (r.status !== 401) return r;
    }
    if (!document.getElementById("login")) return r;  // a page without the form: say 401
    await whenSignedIn(true);
    return fetch(url, withToken(opts));
  }

  /* Resolves once a user is signed in (at once if one is, unless ``ask``). */
  function whenSignedIn(ask) {
    if (pair?.access_token && !ask) return Promise.resolve();
    showForm();
    return new Promise((resolve) => waiting.push(resolve));
  }

  function showForm(message) {
    const box = document.getElementById("login");
    if (!box) return;
    box.hidden = false;
    document.getElementById("login-error").textContent = message || "This server needs you to sign in to read its data.";
    document.getElementById("login-user").focus();
  }

  async function submit(e) {
    e.preventDefault();
    const username = document.getElementById("login-user").value.trim();
    const password = document.getElementById("login-password").value;
    const r = await fetch("/api/v1/auth/login", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
    }).catch(() => null);
    if (!r || !r.ok) {
      const body = r ? await r.json().catch(() => ({})) : {};
      showForm(typeof body.detail === "string" ? body.detail : "Wrong username or password.");
      return;
    }
    save({ ...(await r.json()), user: username });
    document.getElementById("login").hidden = true;
    document.getElementById("login-password").value = "";
    const done = waiting; waiting = [];
    done.forEach((resolve) => resolve());
  }

  async function signOut() {
    const old = pair;
    save(null);
    if (old?.refresh_token) {
      await fetch("/api/v1/auth/logout", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: old.refresh_token }),
      }).catch(() => null);
    }
    location.reload();
  }

  function renderUser() {
    const el = document.getElementById("user");
    if (!el) return;
    el.hidden = !pair;
    const name = el.querySelector("span");
    if (name) name.textContent = pair ? `signed in as ${pair.user || "?"}` : "";
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("login-form")?.addEventListener("submit", submit);
    document.getElementById("sign-out")?.addEventListener("click", signOut);
    renderUser();
  });
  schedule();

  window.pitwallAuth = {
    fetch: authFetch,
    refresh,
    whenSignedIn,
    signOut,
    /* The WebSocket's first message when signed in (the gateway ignores it where reads are
       public), else null. */
    wsHello: () => (pair?.access_token ? JSON.stringify({ type: "auth", token: pair.access_token }) : null),
    get signedIn() { return Boolean(pair?.access_token); },
    get user() { return pair?.user || null; },
  };
})();
