/* Turn admin API answers into table rows and charts. Text is set with textContent only:
   paths and error messages in the request log come from clients and are never parsed as HTML. */
(function () {
  "use strict";
  const ALL_METHODS = 7;  // GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS

  function el(tag, attrs, children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name === "text") element.textContent = String(value);
      else if (name === "dataset") Object.assign(element.dataset, value);
      else element.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children || []) element.appendChild(child);
    return element;
  }

  function cell(text, className) { return el("td", {text: text === null || text === undefined ? "—" : text, class: className}); }
  function numeric(text) { return cell(text, "num"); }
  function badge(value, label, className) {
    return el("td", {class: className}, [el("span", {class: `badge ${value}`, text: label || value})]);
  }
  function ms(value) { return value === null || value === undefined ? "—" : `${Number(value).toFixed(1)} ms`; }
  function percent(fraction) { return `${(100 * fraction).toFixed(1)} %`; }
  function clock(iso) { return iso ? new Date(iso).toLocaleTimeString() : "—"; }

  /** Fill a table's body; each cell gets its column's heading as data-label (shown when rows stack, narrow). */
  function fill(tableId, rows, columns, emptyText) {
    const table = document.getElementById(tableId);
    const headings = Array.from(table.querySelectorAll("thead th"), function (th) { return th.textContent; });
    for (const row of rows) {
      Array.from(row.children).forEach(function (child, index) { child.dataset.label = headings[index] || ""; });
    }
    table.tBodies[0].replaceChildren(...(rows.length ? rows : [el("tr", {class: "empty"},
      [el("td", {colspan: columns, text: emptyText})])]));
  }

  function button(label, attrs) { return el("button", Object.assign({type: "button"}, attrs, {text: label})); }
  function actions(buttons) { return el("td", {class: "actions"}, [el("div", {class: "buttons"}, buttons)]); }

  /** The Delete button of a row: the controller asks for confirmation before it deletes. */
  function deleteButton(kind, key, label) {
    return button("Delete", {class: "danger", "data-action": `delete-${kind}`, "data-id": key,
      "data-key": `delete-${kind}:${key}`, "aria-label": `Delete ${label}`});
  }

  function editButton(kind, key, label) {
    return button("Edit", {class: "secondary", "data-action": `edit-${kind}`, "data-id": key,
      "data-key": `edit-${kind}:${key}`, "aria-label": `Edit ${label}`});
  }

  function services(data) {
    fill("services", data.items.map(function (s) {
      const closed = s.circuit_state === "closed";
      return el("tr", {dataset: {service: s.service_name}}, [
        el("th", {scope: "row", text: s.service_name}), badge(s.status, s.status, "health"),
        badge(s.circuit_state, s.circuit_state.replace("_", "-"), "circuit"), numeric(ms(s.response_time)),
        cell(clock(s.last_check_at)), cell(s.service_url, "wrap"),
        actions([button("Reset circuit", {"data-action": "reset-circuit", "data-name": s.service_name,
          "data-key": `reset:${s.service_name}`, "aria-label": `Reset the circuit of ${s.service_name}`,
          disabled: closed}), editButton("service", s.service_name, `service ${s.service_name}`),
          deleteButton("service", s.service_name, `service ${s.service_name}`)]),
      ]);
    }), 7, "No registered services.");
  }

  function serviceName(s) { return s.target_service || "(no route)"; }

  /** Requests per second and server-error rate (%) per service, a tooltip per bucket; the table beside. */
  function traffic(ts) {
    const minutes = Math.round(ts.hours * 60);
    const rates = ts.services.map(function (s, i) {
      return {name: serviceName(s), colour: i, values: s.requests_per_bucket.map(function (n) { return n / ts.step_seconds; })};
    });
    const errorRates = ts.services.map(function (s, i) {
      return {name: serviceName(s), colour: i,
        values: s.requests_per_bucket.map(function (n, b) { return n ? 100 * s.server_errors_per_bucket[b] / n : null; })};
    });
    window.EngadiChart.draw(document.getElementById("chart-rps"), rates, {floor: 0.1, minutes: minutes,
      times: ts.buckets, format: function (v, exact) { return exact || v < 10 ? `${v.toFixed(2)}${exact ? " req/s" : ""}` : v.toFixed(0); }});
    window.EngadiChart.draw(document.getElementById("chart-errors"), errorRates, {floor: 100, minutes: minutes,
      times: ts.buckets, format: function (v, exact) { return `${v.toFixed(exact ? 1 : 0)}%`; }});
    legend(rates);
    summary(ts);
    fill("traffic", ts.services.map(function (s) {
      const peak = Math.max.apply(null, s.requests_per_bucket.concat([0])) / ts.step_seconds;
      const clientErrors = s.errors - s.server_errors;
      return el("tr", {dataset: {service: s.target_service || ""}}, [
        el("th", {scope: "row", text: serviceName(s)}), numeric(s.requests), numeric(s.server_errors),
        numeric(percent(s.requests ? s.server_errors / s.requests : 0)), numeric(clientErrors),
        numeric(percent(s.requests ? clientErrors / s.requests : 0)), numeric(peak.toFixed(2))]);
    }), 7, "No requests in this time range.");
  }

  function legend(series) {
    const list = document.getElementById("legend");
    list.replaceChildren(...series.map(function (s) {
      const swatch = el("span", {class: "swatch", "aria-hidden": "true"});
      swatch.style.backgroundColor = window.EngadiChart.palette(s.colour);
      return el("li", {}, [swatch, el("span", {text: s.name})]);
    }));
  }

  /** Totals: the error rate is the server errors' (5xx: the upstreams' and the gateway's); 4xx are the callers'. */
  function summary(ts) {
    const total = function (key) { return ts.services.reduce(function (sum, s) { return sum + s[key]; }, 0); };
    const requests = total("requests"), serverErrors = total("server_errors"), clientErrors = total("errors") - serverErrors;
    const box = document.getElementById("summary");
    const items = [["Requests", requests, "requests"], ["Requests/s (average)", (requests / (ts.hours * 3600)).toFixed(2), "rps"],
      ["Server errors (5xx)", serverErrors, "server-errors"],
      ["Error rate (5xx)", percent(requests ? serverErrors / requests : 0), "error-rate"],
      ["Client errors (4xx)", clientErrors, "client-errors"],
      ["4xx rate", percent(requests ? clientErrors / requests : 0), "client-error-rate"]];
    box.replaceChildren(...items.map(function (item) {
      return el("div", {dataset: {figure: item[2]}}, [el("strong", {text: item[1]}), el("span", {text: item[0]})]);
    }));
  }

  function latency(perf) {
    const rows = [{target_service: "All services", requests: perf.requests, p50: perf.p50, p95: perf.p95, p99: perf.p99}]
      .concat(perf.services);
    fill("latency", rows.map(function (p) {
      return el("tr", {}, [el("th", {scope: "row", text: p.target_service || "(no route)"}), numeric(p.requests),
        numeric(ms(p.p50)), numeric(ms(p.p95)), numeric(ms(p.p99))]);
    }), 5, "No timed requests in this time range.");
  }

  function errors(data) {
    fill("errors", data.items.map(function (e) {
      return el("tr", {}, [cell(clock(e.created_at)), numeric(e.status_code), cell(e.method), cell(e.path, "wrap"),
        cell(e.target_service), cell(e.error_message, "wrap")]);
    }), 6, "No errors.");
  }

  function activeBadge(active) {
    const word = active ? "active" : "inactive";
    return badge(word, word, "active-state");
  }

  // One target_url, or several targets: "content-v1 ×95 (stable), content-v2 ×5 (canary)".
  function upstreamOf(r) {
    if (!r.targets) return r.target_url;
    return r.targets.map(function (t) { return `${t.service} ×${t.weight} (${t.group})`; }).join(", ");
  }

  function routes(data) {
    fill("routes", data.items.map(function (r) {
      const verb = r.is_active ? "Deactivate" : "Activate";
      return el("tr", {dataset: {route: r.path_pattern}}, [
        el("th", {scope: "row", text: r.websocket ? `${r.path_pattern} (WebSocket)` : r.path_pattern}), cell(r.target_service), cell(upstreamOf(r), "wrap"),
        cell(r.methods.length >= ALL_METHODS ? "any" : r.methods.join(", ")), cell(r.is_public ? "yes" : "no"), numeric(r.priority), activeBadge(r.is_active),
        actions([editButton("route", r.id, `route ${r.path_pattern}`),
          button(verb, {class: "secondary", "data-action": "toggle-route", "data-id": r.id, "data-active": String(r.is_active),
            "data-key": `route:${r.id}`, "aria-label": `${verb} route ${r.path_pattern}`}),
          deleteButton("route", r.id, `route ${r.path_pattern}`)]),
      ]);
    }), 8, "No routes.");
  }

  function busiest(status) {
    if (!status) return "not applied";
    if (status.usage === null) return "counter storage unreachable";
    if (!status.usage.length) return "idle";
    const top = status.usage[0];
    return `${top.requests} / ${status.max_requests} (${top.key})`;
  }

  function rules(configured, applied) {
    const byId = new Map(applied.items.map(function (s) { return [s.id, s]; }));
    const fromSettings = applied.items.filter(function (s) { return s.source === "settings"; });
    const rows = configured.items.map(function (r) {
      const verb = r.is_active ? "Deactivate" : "Activate";
      return ruleRow(r, byId.get(r.id), r.is_active, [editButton("rule", r.id, `rule ${r.rule_name}`),
        button(verb, {class: "secondary", "data-action": "toggle-rule", "data-id": r.id,
          "data-active": String(r.is_active), "data-key": `rule:${r.id}`, "aria-label": `${verb} rule ${r.rule_name}`}),
        deleteButton("rule", r.id, `rule ${r.rule_name}`)]);
    }).concat(fromSettings.map(function (s) {
      return ruleRow(s, s, true, [el("span", {class: "muted", text: "from the settings"})]);
    }));
    fill("rules", rows, 7, "No rate-limit rules.");
    document.getElementById("rules-storage").textContent = `Counters are kept in ${applied.storage}.`;
  }

  function ruleRow(rule, status, active, action) {
    return el("tr", {dataset: {rule: rule.rule_name}}, [
      el("th", {scope: "row", text: rule.rule_name}), cell(rule.limit_type), cell(rule.path_pattern || "every path"),
      cell(`${rule.max_requests} / ${rule.window_seconds} s`), cell(busiest(status), "wrap"), activeBadge(active),
      actions(action)]);
  }

  function listed(values) { return values && values.length ? values.join(", ") : "none"; }

  function cors(settings) {
    const items = [["Allowed origins", listed(settings.allow_origins)], ["Methods", listed(settings.allow_methods)],
      ["Allowed headers", listed(settings.allow_headers)], ["Exposed headers", listed(settings.expose_headers)],
      ["Credentials", settings.allow_credentials ? "allowed" : "not allowed"], ["Preflight cache", `${settings.max_age} s`]];
    document.getElementById("cors").replaceChildren(...items.flatMap(function (item) {
      return [el("dt", {text: item[0]}), el("dd", {text: item[1]})];
    }));
  }

  window.EngadiRender = {services: services, traffic: traffic, latency: latency, errors: errors, routes: routes,
    rules: rules, cors: cors, fill: fill, el: el, cell: cell, badge: badge, button: button, actions: actions,
    editButton: editButton, deleteButton: deleteButton};
})();
