/* The "Explain a request" panel: POST /explain with the form's request, then the verdict and one line
   per decision (the report's full JSON is the admin API's). Text is set with textContent only. */
(function () {
  "use strict";

  function parseHeaders(text) {
    const headers = {};
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      const colon = line.indexOf(":");
      if (colon < 1) throw new Error(`"${line.trim()}" is not "Name: value"`);
      headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
    }
    return headers;
  }

  function verdictLine(verdict) {
    if (verdict.outcome === "forward") return "FORWARD: the request would reach the upstream.";
    if (verdict.outcome === "gateway") return `GATEWAY: ${verdict.message}`;
    const label = verdict.error ? `${verdict.status} ${verdict.error}` : String(verdict.status);
    return `${verdict.outcome.toUpperCase()} ${label} (at ${verdict.decided_by}): ${verdict.message}`;
  }

  function lines(report) {
    const out = [`Path: ${report.path.normalised || "(malformed)"}`];
    out.push(report.route ? `Route: ${report.route.path_pattern} (priority ${report.route.priority})` : "Route: none");
    const auth = report.authentication;
    out.push(`Token: ${auth.token}${auth.identity ? ` (${auth.identity.sub})` : ""}; ${auth.outcome}`);
    for (const plugin of report.plugins.chain) out.push(`Plugin ${plugin.name}: ${plugin.outcome}`);
    for (const rule of report.rate_limits.rules) {
      if ("usage" in rule) {
        out.push(`Rate limit ${rule.rule} (${rule.key}): ${rule.usage}/${rule.max_requests} used, ` +
                 (rule.would_pass ? "would pass" : "FULL"));
      }
    }
    const choice = report.upstream_choice;
    if (choice.checked && choice.chosen) out.push(`Target: ${choice.chosen.service} (${choice.why})`);
    if (report.cors.origin) out.push(`CORS: ${report.cors.origin}: ${report.cors.why}`);
    if (report.upstream) out.push(`Upstream: ${report.upstream.url}`);
    return out;
  }

  async function explain(event) {
    event.preventDefault();
    const verdict = document.getElementById("explain-verdict");
    const list = document.getElementById("explain-lines");
    try {
      const body = {method: document.getElementById("explain-method").value,
        path: document.getElementById("explain-path").value.trim(),
        headers: parseHeaders(document.getElementById("explain-headers").value),
        client_ip: document.getElementById("explain-ip").value.trim()};
      const report = await window.EngadiDashboard.send("POST", "/explain", body);
      verdict.textContent = verdictLine(report.verdict);
      list.replaceChildren(...lines(report).map(function (text) {
        const item = document.createElement("li");
        item.textContent = text;
        return item;
      }));
    } catch (error) {
      const fields = error.fields ? ` (${Object.keys(error.fields).join(", ")})` : "";
      verdict.textContent = `Cannot explain: ${error.message}${fields}`;
      list.replaceChildren();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.getElementById("explain-form").addEventListener("submit", explain);
  });
})();
