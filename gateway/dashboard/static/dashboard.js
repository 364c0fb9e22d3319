/* The dashboard's controller: sign-in, the refresh loop over the admin API, and the admin's actions.
   Every figure on the page comes from /api/v1/gateway/...; this script holds no data of its own. */
(function () {
  "use strict";
  const API = document.body.dataset.api;
  const REFRESH_MS = 1000 * Number(document.body.dataset.refreshSeconds || 5);
  const TOKEN_KEY = "engadi-dashboard-token";
  const HINT_COOKIE = "engadi_dashboard_session";
  const CSRF_HEADER = "X-Engadi-Dashboard";
  const state = {timer: null, busy: false, running: false, shown: {}};

  class AuthError extends Error {}

  // --- credentials: a pasted token (this tab only) or the session cookie of a login link ----------

  function pastedToken() { return sessionStorage.getItem(TOKEN_KEY); }
  function cookieSession() { return document.cookie.split(";").some(function (c) { return c.trim() === `${HINT_COOKIE}=1`; }); }
  function signedIn() { return Boolean(pastedToken()) || cookieSession(); }

  function headers(extra) {
    const result = Object.assign({Accept: "application/json"}, extra);
    result[CSRF_HEADER] = "1";  // the admin API accepts the session cookie only with this header
    const token = pastedToken();
    if (token) result.Authorization = `Bearer ${token}`;
    return result;
  }

  async function api(path, options) {
    options = options || {};
    const response = await fetch(API + path, Object.assign({}, options, {
      credentials: "same-origin", cache: "no-store", headers: headers(options.headers)}));
    if (response.status === 204) return null;
    const body = await response.json().catch(function () { return {}; });
    if (response.status === 401 || response.status === 403) throw new AuthError(body.message || "The token was refused.");
    if (!response.ok) throw new Error(body.message || `HTTP ${response.status}`);
    return body;
  }

  function send(method, path, body) {
    return api(path, {method: method, headers: {"Content-Type": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body)});
  }

  // --- what is shown -----------------------------------------------------------------------------

  function show(id, visible) { document.getElementById(id).hidden = !visible; }
  function setStatus(text) { document.getElementById("status").textContent = text; }

  function problem(text) {
    const box = document.getElementById("problem");
    box.textContent = text || "";
    box.hidden = !text;
  }

  function showLogin(reason) {
    stopRefreshing();
    state.shown = {};
    show("board", false);
    show("sign-out", false);
    show("login", true);
    document.getElementById("login-reason").textContent = reason || "";
    setStatus("Not signed in.");
    document.getElementById("token").focus();
  }

  function showBoard() {
    show("login", false);
    show("board", true);
    show("sign-out", true);
    problem("");
  }

  /** Re-render a part only when its data changed, keeping keyboard focus on the same control. */
  function update(key, data, render) {
    const text = JSON.stringify(data);
    if (state.shown[key] === text) return;
    state.shown[key] = text;
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
    render.apply(null, data);
    if (focused) {
      const again = document.querySelector(`[data-key="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  // --- the refresh loop --------------------------------------------------------------------------

  async function refresh() {
    if (state.busy) return;
    state.busy = true;
    try {
      const [services, series, performance, errors, routes, rules, usage] = await Promise.all([
        api("/services"), api("/stats/timeseries?hours=1&step=60"), api("/performance?hours=1"),
        api("/errors?limit=15"), api("/routes"), api("/config/rate-limits"), api("/rate-limits")]);
      const render = window.EngadiRender;
      update("services", [services], render.services);
      update("traffic", [series], render.traffic);
      update("latency", [performance], render.latency);
      update("errors", [errors], render.errors);
      update("routes", [routes], render.routes);
      update("rules", [rules, usage], render.rules);
      await window.EngadiChanges.refresh(api, update);
      setStatus(`Updated ${new Date().toLocaleTimeString()} · every ${REFRESH_MS / 1000} s`);
      problem("");
    } catch (error) {
      if (error instanceof AuthError) {
        signOut(`Signed out: ${error.message}`);
        return;
      }
      problem(`Could not refresh: ${error.message}`);
    } finally {
      state.busy = false;
    }
  }

  function startRefreshing() {
    stopRefreshing();
    state.running = true;
    const tick = function () {
      refresh().finally(function () {
        if (state.running) state.timer = setTimeout(tick, REFRESH_MS);
      });
    };
    tick();
  }

  function stopRefreshing() {
    state.running = false;
    clearTimeout(state.timer);
    state.timer = null;
  }

  // --- signing in and out ------------------------------------------------------------------------

  function signIn(event) {
    event.preventDefault();
    const field = document.getElementById("token");
    const token = field.value.trim().replace(/^Bearer\s+/i, "");
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    field.value = "";
    showBoard();
    startRefreshing();
  }

  async function signOut(reason) {
    stopRefreshing();
    sessionStorage.removeItem(TOKEN_KEY);
    if (cookieSession()) {
      await fetch("/dashboard/logout", {method: "POST", credentials: "same-origin", headers: {[CSRF_HEADER]: "1"}})
        .catch(function () { /* the cookies expire by themselves */ });
    }
    showLogin(reason);
  }

  // --- actions -----------------------------------------------------------------------------------

  const ACTIONS = {
    "reset-circuit": function (b) { return send("POST", `/services/${encodeURIComponent(b.dataset.name)}/reset`); },
    "toggle-route": function (b) { return send("PUT", `/routes/${b.dataset.id}`, {is_active: b.dataset.active !== "true"}); },
    "toggle-rule": function (b) {
      return send("PUT", `/config/rate-limits/${b.dataset.id}`, {is_active: b.dataset.active !== "true"});
    },
  };

  async function act(event) {
    const change = event.target.closest("button[data-rollback], button[data-changes]");
    if (change) return actOnChanges(change);
    const target = event.target.closest("button[data-action]");
    if (!target || !ACTIONS[target.dataset.action]) return;
    target.disabled = true;
    try {
      await ACTIONS[target.dataset.action](target);
      problem("");
    } catch (error) {
      if (error instanceof AuthError) return signOut(`Signed out: ${error.message}`);
      problem(`${target.textContent} failed: ${error.message}`);
      target.disabled = false;
    }
    while (state.busy) await new Promise(function (resolve) { setTimeout(resolve, 50); });
    await refresh();
  }

  /** The changes panel's buttons (changes.js): a rollback's confirmation, then the rollback. */
  async function actOnChanges(target) {
    try {
      await window.EngadiChanges.act(target);
      problem("");
    } catch (error) {
      if (error instanceof AuthError) return signOut(`Signed out: ${error.message}`);
      problem(`${target.textContent} failed: ${error.message}`);
    }
    while (state.busy) await new Promise(function (resolve) { setTimeout(resolve, 50); });
    await refresh();
  }

  window.EngadiDashboard = {send: send};
  document.getElementById("login-form").addEventListener("submit", signIn);
  document.getElementById("sign-out").addEventListener("click", function () { signOut("Signed out."); });
  document.getElementById("board").addEventListener("click", act);
  if (signedIn()) {
    showBoard();
    startRefreshing();
  } else {
    showLogin("");
  }
})();
