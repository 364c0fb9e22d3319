/* The "Plugins" and "Consumers" panels: configured plugins (any installed plugin: it is chosen from
   GET /plugins/available, its config edited as JSON with its schema's fields listed under it), consumers,
   and a consumer's API keys (a new key is shown once, with a copy button). The controller (dashboard.js)
   hands in its API client, editor and confirmation. Text is set with textContent only. */
(function () {
  "use strict";
  const state = {available: [], routes: new Map(), consumers: new Map(), plugins: new Map(), keysOf: null, tools: null};
  const R = function () { return window.EngadiRender; };

  // --- scopes and the plugin form ----------------------------------------------------------------

  function routeLabel(id) { const r = state.routes.get(id); return r ? r.path_pattern : `(route ${id})`; }
  function consumerLabel(id) { const c = state.consumers.get(id); return c ? c.username : `(consumer ${id})`; }

  /** Return "global", "route /a/*", "consumer bob" or "route /a/* + consumer bob". */
  function scopeText(p) {
    const parts = [];
    if (p.route_id) parts.push(`route ${routeLabel(p.route_id)}`);
    if (p.consumer_id) parts.push(`consumer ${consumerLabel(p.consumer_id)}`);
    return parts.length ? parts.join(" + ") : "global";
  }

  function pluginLabel(p) { return `plugin ${p.name} (${scopeText(p)})`; }

  function typeOf(property) {
    if (property.enum) return `one of ${property.enum.map(function (v) { return JSON.stringify(v); }).join(", ")}`;
    if (property.type === "array") return `list${property.items && property.items.type ? " of " + property.items.type : ""}`;
    return property.type || "value";
  }

  /** Describe the fields of a plugin's config from its JSON schema, one line each. */
  function schemaHelp(name) {
    const plugin = state.available.find(function (p) { return p.name === name; });
    if (!plugin) return name ? [`${name} is not installed on this gateway: its rows fail closed.`] : [];
    const schema = plugin.config_schema || {};
    const required = new Set(schema.required || []);
    const lines = Object.entries(schema.properties || {}).map(function ([key, property]) {
      const description = property.description || "";
      const fallback = property.default !== undefined && !/default/i.test(description)
        ? `, default ${JSON.stringify(property.default)}` : "";
      return `${key} (${typeOf(property)}${required.has(key) ? ", required" : ""}${fallback})${description ? ": " + description : ""}`;
    });
    return lines.length ? lines : [`${name} takes no configuration: {}`];
  }

  function pluginForm(item) {
    const names = state.available.map(function (p) { return {value: p.name, label: p.builtin ? p.name : `${p.name} (installed)`}; });
    if (item && !state.available.some(function (p) { return p.name === item.name; })) {
      names.push({value: item.name, label: `${item.name} (not installed)`});
    }
    const routes = Array.from(state.routes.values()).sort(function (a, b) { return a.path_pattern.localeCompare(b.path_pattern); });
    const consumers = Array.from(state.consumers.values());
    const first = item ? item.name : (names.length ? names[0].value : "");
    return {kind: "plugin", title: "plugin", fields: [
      {name: "name", label: "Plugin", kind: "choice", choices: names, initial: first},
      {name: "route_id", label: "Route", kind: "choice", nullable: true,
        choices: [{value: "", label: "every route"}].concat(routes.map(function (r) { return {value: r.id, label: r.path_pattern}; }))},
      {name: "consumer_id", label: "Consumer", kind: "choice", nullable: true,
        choices: [{value: "", label: "anyone"}].concat(consumers.map(function (c) { return {value: c.id, label: c.username}; }))},
      {name: "enabled", label: "Enabled", kind: "check", initial: true},
      {name: "config", label: "Configuration (JSON)", kind: "json", empty: {}, initial: {}, rows: 6, help: schemaHelp(first)},
    ]};
  }

  /** Keep the help under the config in step with the chosen plugin. */
  function followPluginChoice() {
    const select = document.getElementById("field-name");
    select.addEventListener("change", function () {
      const box = document.getElementById("help-config");
      box.replaceChildren(...schemaHelp(select.value).map(function (line) { return R().el("li", {text: line}); }));
      box.hidden = false;
    });
  }

  const CONSUMER = {kind: "consumer", title: "consumer", fields: [
    {name: "username", label: "Username", kind: "text", required: true},
    {name: "custom_id", label: "Custom id", kind: "text", nullable: true, hint: "an id of your own (optional)"},
    {name: "groups", label: "Groups", kind: "list", hint: "one per line or comma (what acl checks)"},
  ]};

  // --- the panels ----------------------------------------------------------------------------------

  function renderPlugins(data) {
    const r = R();
    r.fill("plugins", data.items.map(function (p) {
      const label = pluginLabel(p);
      const verb = p.enabled ? "Disable" : "Enable";
      const word = p.enabled ? "enabled" : "disabled";
      return r.el("tr", {dataset: {plugin: p.name, id: p.id, scope: p.scope}}, [
        r.el("th", {scope: "row", text: p.name}), r.cell(scopeText(p), "wrap"), r.cell(JSON.stringify(p.config), "config"),
        r.badge(p.enabled ? "active" : "inactive", word, "enabled-state"),
        r.actions([r.editButton("plugin", p.id, label),
          r.button(verb, {class: "secondary", "data-action": "toggle-plugin", "data-id": p.id, "data-enabled": String(p.enabled),
            "data-key": `plugin:${p.id}`, "aria-label": `${verb} ${label}`}),
          r.deleteButton("plugin", p.id, label)]),
      ]);
    }), 5, "No plugins configured.");
  }

  function renderConsumers(data) {
    const r = R();
    r.fill("consumers", data.items.map(function (c) {
      return r.el("tr", {dataset: {consumer: c.username, id: c.id}}, [
        r.el("th", {scope: "row", text: c.username}), r.cell(c.custom_id, "wrap"),
        r.cell(c.groups.length ? c.groups.join(", ") : "none", "wrap"),
        r.actions([r.button("Keys", {"data-action": "consumer-keys", "data-id": c.id, "data-key": `keys:${c.id}`,
          "aria-label": `API keys of consumer ${c.username}`}),
        r.editButton("consumer", c.id, `consumer ${c.username}`), r.deleteButton("consumer", c.id, `consumer ${c.username}`)]),
      ]);
    }), 4, "No consumers.");
  }

  // --- a consumer's keys ---------------------------------------------------------------------------

  const keysDialog = document.getElementById("keys-dialog");

  function keysProblem(text) {
    const box = document.getElementById("keys-problem");
    box.textContent = text || "";
    box.hidden = !text;
  }

  async function loadKeys() {
    const consumer = state.keysOf;
    const keys = await state.tools.api(`/consumers/${consumer.id}/keys`);
    const r = R();
    r.fill("keys", keys.items.map(function (k) {
      return r.el("tr", {dataset: {prefix: k.prefix}}, [r.el("th", {scope: "row", text: `${k.prefix}…`}),
        r.cell(new Date(k.created_at).toLocaleString()),
        r.actions([r.button("Revoke", {class: "danger", "data-revoke": k.id, "data-prefix": k.prefix,
          "aria-label": `Revoke key ${k.prefix}…`})])]);
    }), 3, "No keys yet.");
  }

  async function openKeys(id) {
    state.keysOf = state.consumers.get(id);
    document.getElementById("keys-title").textContent = `API keys of ${state.keysOf.username}`;
    forgetNewKey();
    keysProblem("");
    await loadKeys();
    keysDialog.showModal();
    document.getElementById("make-key").focus();
    return false;  // nothing changed
  }

  function forgetNewKey() {
    document.getElementById("new-key-value").value = "";
    document.getElementById("copy-status").textContent = "";
    document.getElementById("new-key").hidden = true;
  }

  async function makeKey() {
    const made = await state.tools.send("POST", `/consumers/${state.keysOf.id}/keys`);
    const field = document.getElementById("new-key-value");
    field.value = made.key;
    document.getElementById("copy-status").textContent = "";
    document.getElementById("new-key").hidden = false;
    await loadKeys();
    field.focus();
    field.select();
  }

  async function copyKey() {
    const field = document.getElementById("new-key-value");
    const status = document.getElementById("copy-status");
    try {
      await navigator.clipboard.writeText(field.value);
      status.textContent = "Copied to the clipboard.";
    } catch (error) {  // no clipboard permission: the selection and the browser's own copy command
      field.focus();
      field.select();
      status.textContent = document.execCommand("copy") ? "Copied to the clipboard." : "Select the key and copy it (Ctrl+C).";
    }
  }

  async function revokeKey(button) {
    const text = `Revoke the key ${button.dataset.prefix}… of ${state.keysOf.username}? Callers using it are refused.`;
    if (!await window.EngadiManage.confirmDeletion(text)) return;
    await state.tools.send("DELETE", `/consumers/${state.keysOf.id}/keys/${button.dataset.revoke}`);
    await loadKeys();
  }

  async function actOnKeys(event) {
    const button = event.target.closest("button");
    if (!button) return;
    const handlers = {"make-key": makeKey, "copy-key": copyKey, "keys-close": function () { keysDialog.close(); }};
    const handler = button.dataset.revoke ? function () { return revokeKey(button); } : handlers[button.id];
    if (!handler) return;
    button.disabled = true;
    try {
      await handler();
      keysProblem("");
    } catch (error) {
      keysProblem(`${button.getAttribute("aria-label") || button.textContent} failed: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  }

  keysDialog.addEventListener("click", actOnKeys);
  keysDialog.addEventListener("close", forgetNewKey);  // shown once: closing the dialog forgets it

  // --- what the controller calls -------------------------------------------------------------------

  window.EngadiPlugins = {
    /** Fetch and show the plugins and consumers (called by the dashboard's refresh, with its routes). */
    refresh: async function (api, update, routes) {
      state.routes = new Map(routes.items.map(function (r) { return [r.id, r]; }));  // with the routes panel, at once
      const [plugins, available, consumers] = await Promise.all([api("/plugins"), api("/plugins/available"), api("/consumers")]);
      state.available = available.items;
      state.consumers = new Map(consumers.items.map(function (c) { return [c.id, c]; }));
      state.plugins = new Map(plugins.items.map(function (p) { return [p.id, p]; }));
      update("plugins", [plugins, consumers, routes], renderPlugins);
      update("consumers", [consumers], renderConsumers);
    },
    /** Return the panels' actions (button data-action -> handler), given the controller's tools. */
    actions: function (tools) {
      state.tools = tools;
      const plugin = function (b) { return `/plugins/${b.dataset.id}`; };
      const consumer = function (b) { return `/consumers/${b.dataset.id}`; };
      return {
        "add-plugin": function () {
          if (!state.available.length) throw new Error("the installed plugins are not loaded yet: try again in a moment");
          const result = tools.edit(pluginForm(null), null, "POST", "/plugins");
          followPluginChoice();
          return result;
        },
        "edit-plugin": function (b) {
          const item = state.plugins.get(b.dataset.id);
          const result = tools.edit(pluginForm(item), item, "PUT", plugin(b));
          followPluginChoice();
          return result;
        },
        "toggle-plugin": function (b) { return tools.send("PATCH", plugin(b), {enabled: b.dataset.enabled !== "true"}); },
        "delete-plugin": function (b) {
          const item = state.plugins.get(b.dataset.id);
          return tools.remove(plugin(b), `the ${item ? pluginLabel(item) : "plugin"}`);
        },
        "add-consumer": function () { return tools.edit(CONSUMER, null, "POST", "/consumers"); },
        "edit-consumer": function (b) { return tools.edit(CONSUMER, state.consumers.get(b.dataset.id), "PATCH", consumer(b)); },
        "delete-consumer": function (b) {
          const item = state.consumers.get(b.dataset.id);
          return tools.remove(consumer(b), `the consumer ${item ? item.username : b.dataset.id} (its keys and plugins too)`);
        },
        "consumer-keys": function (b) { return openKeys(b.dataset.id); },
      };
    },
  };
})();
