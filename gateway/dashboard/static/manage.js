/* The dashboard's editors: one dialog that creates or edits a route, a service, a rate-limit rule, the
   CORS settings (or a form another script describes: plugins.js) through the admin API, showing its 422
   messages at the fields they name, and a confirmation dialog before a deletion. The controller
   (dashboard.js) passes in its API client. */
(function () {
  "use strict";
  const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
  const LIMIT_TYPES = ["per_ip", "per_user", "per_endpoint", "global"];

  // Field kinds: text, number (blank: left out), check, choice (choices: values or {value, label}), methods,
  // list (comma or line separated), json (blank: null, or the field's "empty"). "nullable": blank text (or the
  // blank choice) is sent as null. "help": lines shown under the field (its element is #help-<name>).
  const FORMS = {
    route: {title: "route", fields: [
      {name: "path_pattern", label: "Path pattern", kind: "text", required: true, hint: "/api/v1/content/* (a final /* matches below)"},
      {name: "target_service", label: "Service name", kind: "text", required: true},
      {name: "target_url", label: "Target URL", kind: "text", nullable: true, hint: "scheme://host:port of the upstream (or give targets)"},
      {name: "targets", label: "Targets (JSON, several upstreams instead of one)", kind: "json",
        hint: '[{"service": "content-v1", "weight": 95, "group": "stable"}, {"service": "content-v2", "weight": 5, "group": "canary"}]'},
      {name: "traffic", label: "Traffic (JSON: weights, match, sticky)", kind: "json", hint: '{"sticky": "sub"}'},
      {name: "methods", label: "Methods", kind: "methods"},
      {name: "priority", label: "Priority", kind: "number"},
      {name: "timeout", label: "Timeout (s)", kind: "number"},
      {name: "retry_count", label: "Retries", kind: "number"},
      {name: "is_public", label: "Public (no token needed)", kind: "check"},
      {name: "is_active", label: "Active", kind: "check", initial: true},
      {name: "strip_prefix", label: "Strip the matched prefix", kind: "check"},
      {name: "circuit_breaker_enabled", label: "Circuit breaker", kind: "check", initial: true},
    ]},
    service: {title: "service", fields: [
      {name: "service_name", label: "Service name", kind: "text", required: true},
      {name: "service_url", label: "Service URL", kind: "text", required: true, hint: "scheme://host:port"},
      {name: "health_path", label: "Health path", kind: "text", hint: "/health (default)"},
    ]},
    rule: {title: "rate-limit rule", fields: [
      {name: "rule_name", label: "Rule name", kind: "text", required: true},
      {name: "limit_type", label: "Counted", kind: "choice", choices: LIMIT_TYPES, initial: "per_ip"},
      {name: "path_pattern", label: "Path pattern", kind: "text", nullable: true, hint: "blank: every path"},
      {name: "max_requests", label: "Max requests", kind: "number", required: true},
      {name: "window_seconds", label: "Window (s)", kind: "number", required: true},
      {name: "is_active", label: "Active", kind: "check", initial: true},
    ]},
    cors: {title: "CORS settings", fields: [
      {name: "allow_origins", label: "Allowed origins", kind: "list", hint: "scheme://host[:port], one per line or comma"},
      {name: "allow_methods", label: "Allowed methods", kind: "methods"},
      {name: "allow_headers", label: "Allowed headers", kind: "list"},
      {name: "expose_headers", label: "Exposed headers", kind: "list"},
      {name: "allow_credentials", label: "Allow credentials", kind: "check"},
      {name: "max_age", label: "Preflight cache (s)", kind: "number"},
    ]},
  };

  const dialog = document.getElementById("editor");
  const form = document.getElementById("editor-form");
  const state = {save: null};

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

  // --- building the form -------------------------------------------------------------------------

  function control(field, value) {
    const id = `field-${field.name}`;
    const common = {id: id, name: field.name, "aria-describedby": `error-${field.name} help-${field.name}`};
    if (field.kind === "check") {
      const box = el("input", Object.assign({type: "checkbox", checked: Boolean(value)}, common));
      return [el("label", {for: id, class: "check"}, [box, el("span", {text: field.label})])];
    }
    if (field.kind === "methods") {
      const chosen = new Set(value || METHODS);
      const boxes = METHODS.map(function (method) {
        const boxId = `${id}-${method}`;
        return el("label", {for: boxId, class: "check"}, [el("input", {type: "checkbox", id: boxId, value: method,
          name: field.name, checked: chosen.has(method)}), el("span", {text: method})]);
      });
      return [el("fieldset", {id: id, class: "methods", "aria-describedby": `error-${field.name}`},
        [el("legend", {text: field.label})].concat(boxes))];
    }
    const label = el("label", {for: id, text: field.label + (field.required ? " (required)" : "")});
    let input;
    if (field.kind === "choice") {
      input = el("select", common, field.choices.map(function (choice) {
        const option = typeof choice === "object" ? choice : {value: choice, label: choice};
        return el("option", {value: option.value, text: option.label, selected: option.value === (value || "")});
      }));
    } else if (field.kind === "json" || field.kind === "list") {
      const text = field.kind === "json" ? (value ? JSON.stringify(value, null, 1) : "") : (value || []).join("\n");
      input = el("textarea", Object.assign({rows: field.rows || (field.kind === "json" ? 3 : 2), spellcheck: "false",
        placeholder: field.hint}, common));
      input.value = text;
    } else {
      input = el("input", Object.assign({type: field.kind === "number" ? "number" : "text", autocomplete: "off",
        spellcheck: "false", placeholder: field.hint, required: Boolean(field.required)}, common));
      input.value = value === null || value === undefined ? "" : String(value);
    }
    return [label, input];
  }

  /** The lines of help under a field (#help-<name>); plugins.js replaces them when the plugin changes. */
  function help(field) {
    return el("ul", {class: "field-help muted", id: `help-${field.name}`, hidden: !field.help || !field.help.length},
      (field.help || []).map(function (line) { return el("li", {text: line}); }));
  }

  function build(spec, item) {
    const container = document.getElementById("editor-fields");
    container.replaceChildren(...spec.fields.map(function (field) {
      const value = item ? item[field.name] : field.initial;
      return el("div", {class: `field field-${field.kind}`, "data-field": field.name},
        control(field, value).concat([help(field), el("p", {class: "field-error", id: `error-${field.name}`, hidden: true})]));
    }));
  }

  // --- reading it --------------------------------------------------------------------------------

  class FieldProblem extends Error {
    constructor(fields) { super("Invalid input"); this.fields = fields; }
  }

  function read(spec, creating) {
    const body = {}, problems = {};
    for (const field of spec.fields) {
      const input = document.getElementById(`field-${field.name}`);
      if (field.kind === "check") body[field.name] = input.checked;
      else if (field.kind === "methods") {
        body[field.name] = Array.from(input.querySelectorAll("input:checked"), function (box) { return box.value; });
      } else if (field.kind === "list") {
        body[field.name] = input.value.split(/[\s,]+/).filter(Boolean);
      } else if (field.kind === "json") {
        const text = input.value.trim();
        const empty = field.empty === undefined ? null : field.empty;
        try { body[field.name] = text ? JSON.parse(text) : empty; } catch (error) { problems[field.name] = [`Not JSON: ${error.message}`]; }
      } else if (field.kind === "choice") {
        body[field.name] = input.value === "" && field.nullable ? null : input.value;
      } else if (field.kind === "number") {
        const text = input.value.trim();
        if (text) body[field.name] = Number(text);
      } else {
        const text = input.value.trim();
        if (text) body[field.name] = text;
        else if (field.nullable) body[field.name] = null;
        else if (!creating) body[field.name] = "";  // the API says what is wrong with an empty value
      }
    }
    if (Object.keys(problems).length) throw new FieldProblem(problems);
    return body;
  }

  // --- showing the API's answer ------------------------------------------------------------------

  /** Return the messages of one field as text (nested ones, as for targets, prefixed with their place). */
  function describe(problems, prefix) {
    if (Array.isArray(problems)) return problems.map(function (p) { return typeof p === "string" ? p : describe(p, prefix); }).join(" ");
    if (problems && typeof problems === "object") {
      return Object.entries(problems).map(function ([key, value]) { return `${prefix}${key}: ${describe(value, "")}`; }).join(" ");
    }
    return String(problems);
  }

  function clearErrors() {
    for (const box of form.querySelectorAll(".field-error")) { box.hidden = true; box.textContent = ""; }
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    const general = document.getElementById("editor-problem");
    general.hidden = true;
    general.textContent = "";
  }

  /** Return the form field a message's name belongs to: itself, or for "config.key_names.0" the field config. */
  function fieldOf(name) {
    if (document.getElementById(`error-${name}`)) return {field: name, inner: ""};
    const dot = name.indexOf(".");
    if (dot > 0 && document.getElementById(`error-${name.slice(0, dot)}`)) return {field: name.slice(0, dot), inner: name.slice(dot + 1)};
    return null;
  }

  /** Put each field's messages under it (a nested one under its field, named); the rest goes to the form's own line. */
  function showErrors(message, fields) {
    clearErrors();
    const elsewhere = [], atField = new Map();
    let first = null;
    for (const [name, problems] of Object.entries(fields || {})) {
      const place = fieldOf(name);
      if (!place) { elsewhere.push(`${name}: ${describe(problems, "")}`); continue; }
      const text = place.inner ? `${place.inner}: ${describe(problems, "")}` : describe(problems, "");
      atField.set(place.field, (atField.get(place.field) || []).concat([text]));
    }
    for (const [name, texts] of atField) {
      const box = document.getElementById(`error-${name}`);
      box.textContent = texts.join(" ");
      box.hidden = false;
      const input = document.getElementById(`field-${name}`);
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    }
    if (!fields || elsewhere.length) {
      const general = document.getElementById("editor-problem");
      general.textContent = [message].concat(elsewhere).join(" ");
      general.hidden = false;
    }
    (first || document.getElementById("editor-save")).focus();
  }

  // --- opening, saving, closing ------------------------------------------------------------------

  /** Open the editor: kind is route, service, rule, cors or a form's own spec; item is what is edited (none: create). */
  function open(kind, item, save) {
    const spec = typeof kind === "object" ? kind : FORMS[kind];
    build(spec, item);
    clearErrors();
    document.getElementById("editor-title").textContent = item ? `Edit ${spec.title}` : `New ${spec.title}`;
    dialog.dataset.kind = spec.kind || kind;
    state.save = async function () {
      const body = read(spec, !item);
      await save(body);
    };
    dialog.showModal();
    const first = form.querySelector("input, select, textarea");
    if (first) first.focus();
  }

  async function submit(event) {
    event.preventDefault();
    const button = document.getElementById("editor-save");
    button.disabled = true;
    try {
      await state.save();
      dialog.close("saved");
    } catch (error) {
      if (error.fields || error instanceof FieldProblem) showErrors(error.message, error.fields);
      else if (error.signedOut) dialog.close("signed-out");
      else showErrors(error.message, null);
    } finally {
      button.disabled = false;
    }
  }

  /** Ask before deleting; resolve to true when the admin confirms. */
  function confirmDeletion(text) {
    const box = document.getElementById("confirm");
    document.getElementById("confirm-text").textContent = text;
    box.returnValue = "";
    box.showModal();
    document.getElementById("confirm-cancel").focus();
    return new Promise(function (resolve) {
      box.addEventListener("close", function () { resolve(box.returnValue === "delete"); }, {once: true});
    });
  }

  form.addEventListener("submit", submit);
  document.getElementById("editor-cancel").addEventListener("click", function () { dialog.close("cancelled"); });
  document.getElementById("confirm-form").addEventListener("submit", function (event) {
    event.preventDefault();
    document.getElementById("confirm").close(event.submitter && event.submitter.value === "delete" ? "delete" : "");
  });

  window.EngadiManage = {open: open, confirmDeletion: confirmDeletion};
})();
