/* The dashboard's controller: sign-in, the refresh loop over the admin API, and the admin's actions.
   Every figure on the page comes from /api/v1/gateway/...; this script holds no data of its own. */
(function () {
  "use strict";
  const API = document.body.dataset.api;
  const REFRESH_MS = 1000 * Number(document.body.dataset.refreshSeconds || 5);
  const TOKEN_KEY = "engadi-dashboard-token";
  const HINT_COOKIE = "engadi_dashboard_session";
  const CSRF_HEADER = "X-Engadi-Dashboard";
  const RANGE_KEY = "engadi-dashboard-hours";
  const state = {timer: null, busy: false, running: false, shown: {}, hours: rangeOf(localStorage.getItem(RANGE_KEY)),
    items: {routes: new Map(), rules: new Map(), services: new Map(), cors: null}};

  function rangeOf(value) { return [1, 6, 24].includes(Number(value)) ? Number(value) : 1; }

  class AuthError extends Error {
    get signedOut() { return true; }
  }

  /** An error answer of the admin API: its status, message and (422) the fields it names. */
  class ApiError extends Error {
    constructor(status, body) {
      super(body.message || `HTTP ${status}`);
      this.status = status;
      // A 409 may name its field only as "field": shown at that field all the same.
      this.fields = body.fields || (body.field ? {[body.field]: [body.message]} : null);
    }
  }

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
    if (!response.ok) throw new ApiError(response.status, body);
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
      const hours = state.hours;  // 60 buckets whatever the range
      const [services, series, performance, errors, routes, rules, usage, cors] = await Promise.all([
        api("/services"), api(`/stats/timeseries?hours=${hours}&step=${hours * 60}&source=proxy`), api(`/performance?hours=${hours}`),
        api("/errors?limit=15&source=proxy"), api("/routes"), api("/config/rate-limits"), api("/rate-limits"),
        api("/config/cors")]);
      const render = window.EngadiRender;
      state.items.routes = new Map(routes.items.map(function (r) { return [r.id, r]; }));
      state.items.rules = new Map(rules.items.map(function (r) { return [r.id, r]; }));
      state.items.services = new Map(services.items.map(function (s) { return [s.service_name, s]; }));
      state.items.cors = cors;
      update("services", [services], render.services);
      update("traffic", [series], render.traffic);
      update("latency", [performance], render.latency);
      update("errors", [errors], render.errors);
      update("routes", [routes], render.routes);
      update("rules", [rules, usage], render.rules);
      update("cors", [cors], render.cors);
      await Promise.all([window.EngadiChanges.refresh(api, update), window.EngadiPlugins.refresh(api, update, routes)]);
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

  /** Open the editor; what it saves goes through the admin API, then the page refreshes. */
  function edit(kind, item, method, path) {
    window.EngadiManage.open(kind, item, async function (body) {
      try {
        await send(method, path, body);
      } catch (error) {
        if (error instanceof AuthError) signOut(`Signed out: ${error.message}`);
        throw error;
      }
      await refreshNow();
    });
    return false;  // nothing changed yet: the editor's save refreshes
  }

  /** Ask, then delete through the admin API; resolve to false when the admin cancelled. */
  async function remove(path, what) {
    if (!await window.EngadiManage.confirmDeletion(`Delete ${what}? This cannot be undone.`)) return false;
    await send("DELETE", path);
    return true;
  }

  const rules = function (b) { return `/config/rate-limits/${b.dataset.id}`; };
  const ACTIONS = {
    "reset-circuit": function (b) { return send("POST", `/services/${encodeURIComponent(b.dataset.name)}/reset`); },
    "toggle-route": function (b) { return send("PUT", `/routes/${b.dataset.id}`, {is_active: b.dataset.active !== "true"}); },
    "toggle-rule": function (b) { return send("PUT", rules(b), {is_active: b.dataset.active !== "true"}); },
    "add-route": function () { return edit("route", null, "POST", "/routes"); },
    "edit-route": function (b) { return edit("route", state.items.routes.get(b.dataset.id), "PUT", `/routes/${b.dataset.id}`); },
    "delete-route": function (b) {
      const route = state.items.routes.get(b.dataset.id);
      return remove(`/routes/${b.dataset.id}`, `the route ${route ? route.path_pattern : b.dataset.id}`);
    },
    "add-service": function () { return edit("service", null, "POST", "/services"); },
    "edit-service": function (b) {
      return edit("service", state.items.services.get(b.dataset.id), "PATCH", `/services/${encodeURIComponent(b.dataset.id)}`);
    },
    "delete-service": function (b) {
      return remove(`/services/${encodeURIComponent(b.dataset.id)}`, `the service ${b.dataset.id} (its routes stay)`);
    },
    "add-rule": function () { return edit("rule", null, "POST", "/config/rate-limits"); },
    "edit-rule": function (b) { return edit("rule", state.items.rules.get(b.dataset.id), "PUT", rules(b)); },
    "delete-rule": function (b) {
      const rule = state.items.rules.get(b.dataset.id);
      return remove(rules(b), `the rate-limit rule ${rule ? rule.rule_name : b.dataset.id}`);
    },
    "edit-cors": function () { return edit("cors", state.items.cors, "PUT", "/config/cors"); },
  };
  // The plugins and consumers panels' actions (plugins.js): the same editor, confirmation and refresh.
  Object.assign(ACTIONS, window.EngadiPlugins.actions({api: api, send: send, edit: edit, remove: remove}));

  async function act(event) {
    const change = event.target.closest("button[data-rollback], button[data-changes]");
    if (change) return actOnChanges(change);
    const target = event.target.closest("button[data-action]");
    if (!target || !ACTIONS[target.dataset.action]) return;
    target.disabled = true;
    let changed = true;
    try {
      changed = (await ACTIONS[target.dataset.action](target)) !== false;
      problem("");
    } catch (error) {
      if (error instanceof AuthError) return signOut(`Signed out: ${error.message}`);
      problem(`${target.getAttribute("aria-label") || target.textContent} failed: ${error.message}`);
    } finally {
      target.disabled = false;
    }
    if (changed) await refreshNow();
  }

  /** Refresh at once (after a change), waiting for a refresh under way. */
  async function refreshNow() {
    while (state.busy) await new Promise(function (resolve) { setTimeout(resolve, 50); });
    await refresh();
  }

  function chooseRange(event) {
    state.hours = rangeOf(event.target.value);
    localStorage.setItem(RANGE_KEY, String(state.hours));
    showRange();
    refreshNow();
  }

  function showRange() {
    const words = state.hours === 1 ? "last hour" : `last ${state.hours} hours`;
    for (const label of document.querySelectorAll(".range-words")) label.textContent = words;
    document.getElementById("range").value = String(state.hours);
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
  document.getElementById("range").addEventListener("change", chooseRange);
  showRange();
  if (signedIn()) {
    showBoard();
    startRefreshing();
  } else {
    showLogin("");
  }
})();
