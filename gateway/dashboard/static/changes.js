/* The "Configuration changes" panel: recent versions with their summaries, and a rollback whose
   confirmation shows the plan (a dry run of POST /config/rollback). Text is set with textContent only. */
(function () {
  "use strict";
  const SHOWN = 10;
  let pending = null;  // the version the open dialog would roll back to

  function el(tag, attrs, children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name === "text") element.textContent = String(value);
      else element.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children || []) element.appendChild(child);
    return element;
  }

  function cell(text) { return el("td", {text: text === null || text === undefined || text === "" ? "—" : text}); }

  function render(data) {
    const rows = data.items.map(function (v, index) {
      const action = index === 0 ? cell("current") : el("td", {}, [el("button", {
        type: "button", class: "secondary", "data-rollback": v.number, "data-key": `rollback:${v.number}`,
        "aria-label": `Roll back to version ${v.number}`, text: "Roll back…"})]);
      return el("tr", {"data-version": v.number}, [
        el("th", {scope: "row", text: v.number}), cell(new Date(v.time).toLocaleString()), cell(v.actor),
        cell(v.source), el("td", {class: "wrap summary-line", text: v.summary}), cell(v.message), action]);
    });
    window.EngadiRender.fill("changes", rows, 7, "No recorded change yet.");  // stacked like the others when narrow
  }

  function show(value) {
    if (value === null || value === undefined) return "null";
    if (Array.isArray(value)) return `[${value.map(show).join(", ")}]`;
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function planLine(change) {
    const fields = change.fields.map(function (f) { return `${f.field} ${show(f.from)} → ${show(f.to)}`; });
    return `${change.action} ${change.section} ${change.key}${fields.length ? ": " + fields.join(", ") : ""}`;
  }

  async function ask(number) {
    const dashboard = window.EngadiDashboard;
    const plan = await dashboard.send("POST", "/config/rollback?dry_run=true", {version: number});
    pending = number;
    document.getElementById("rollback-title").textContent = `Roll back to version ${number}?`;
    const lines = plan.changes.map(function (change) { return el("li", {text: planLine(change)}); });
    document.getElementById("rollback-plan").replaceChildren(
      ...(lines.length ? lines : [el("li", {text: "Nothing differs: the configuration is already that version."})]));
    document.getElementById("rollback-confirm").disabled = !lines.length;
    document.getElementById("rollback-dialog").showModal();
  }

  async function confirm() {
    const dialog = document.getElementById("rollback-dialog");
    const number = pending;
    pending = null;
    dialog.close();
    await window.EngadiDashboard.send("POST", "/config/rollback", {version: number});
  }

  window.EngadiChanges = {
    /** Fetch and show the recent versions (called by the dashboard's refresh). */
    refresh: async function (api, update) {
      const versions = await api(`/config/versions?limit=${SHOWN}`);
      update("changes", [versions], render);
    },
    /** Handle a click of the panel: open the confirmation of a rollback, or confirm it. */
    act: async function (target) {
      if (target.id === "rollback-confirm") return confirm();
      if (target.id === "rollback-cancel") { pending = null; document.getElementById("rollback-dialog").close(); return null; }
      return ask(Number(target.dataset.rollback));
    },
  };
})();
