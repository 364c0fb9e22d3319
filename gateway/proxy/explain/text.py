"""An explained request's report as lines of text (``flask --app wsgi explain``; the dashboard shows the JSON)."""

from __future__ import annotations


def verdict_line(verdict: dict) -> str:
    """Return the one-line verdict."""
    outcome = verdict.get("outcome")
    if outcome == "forward":
        return "FORWARD: the request would reach the upstream."
    if outcome == "gateway":
        return "GATEWAY: " + verdict["message"]
    status = verdict.get("status")
    label = f"{status} {verdict['error']}" if verdict.get("error") else str(status)
    return f"{outcome.upper()} {label} (at {verdict['decided_by']}): {verdict['message']}"


def render(report: dict) -> list[str]:
    """Return the report as human-readable lines, the verdict first."""
    lines = [verdict_line(report["verdict"])]
    for name, value in report["verdict"].get("headers", {}).items():
        lines.append(f"  {name}: {value}")
    request = report["request"]
    lines.append(f"Request: {request['method']} {request['target']} from {request['client_ip']}")
    lines.append(f"Path: normalised {report['path']['normalised']}  (matched as {report['path']['match_form']})")
    lines.append("Steps: " + ", ".join(f"{step['step']} {step['outcome']}" for step in report["steps"]))
    lines.extend(section_routes(report["routes"]))
    lines.extend(section_auth(report["authentication"]))
    lines.extend(section_plugins(report["plugins"]))
    lines.extend(section_limits(report["rate_limits"]))
    lines.extend(section_choice(report["upstream_choice"]))
    cors = report["cors"]
    lines.append(f"CORS: origin {cors['origin'] or '(none)'}: {cors['why']}"
                 + (" (preflight answered by the gateway)" if cors["answered_by_gateway"] else ""))
    upstream = report["upstream"]
    if upstream is not None:
        lines.append(f"Upstream: {upstream['url']}")
        lines.extend(f"  {name}: {value}" for name, value in upstream["headers"].items())
    return lines


def section_routes(routes: list[dict]) -> list[str]:
    lines = [f"Routes ({len(routes)}):"]
    for route in routes:
        mark = "*" if route["chosen"] else " "
        where = f"#{route['position']}" if route["position"] else "--"
        lines.append(f" {mark}{where:>4} {route['path_pattern']}  priority {route['priority']}  "
                     f"[{','.join(route['methods'])}]{'  public' if route['is_public'] else ''}: {route['why']}")
    return lines


def section_auth(auth: dict) -> list[str]:
    who = auth["identity"]
    token = f"{auth['token']}" + (f" ({who['sub']}, roles {','.join(who['roles']) or '-'})" if who else "") + (
        f": {auth['reason']}" if auth.get("reason") and not who else "")
    return [f"Authentication: token {token}; {auth['outcome']}"]


def section_plugins(plugins: dict) -> list[str]:
    chain = plugins["chain"]
    if not chain:
        return ["Plugins: none"]
    lines = ["Plugins (in run order):"]
    for entry in chain:
        extra = {k: v for k, v in entry.items() if k not in ("name", "priority", "phases", "outcome")}
        detail = "  " + ", ".join(f"{k}={v}" for k, v in extra.items()) if extra else ""
        lines.append(f"  {entry['name']} (priority {entry['priority']}): {entry['outcome']}{detail}")
    return lines


def section_limits(limits: dict) -> list[str]:
    if not limits["checked"]:
        return ["Rate limits: not reached"]
    if not limits["rules"]:
        return ["Rate limits: no rule"]
    lines = ["Rate limits:" + (f" storage {limits['storage']}" if limits.get("storage") else "")]
    for rule in limits["rules"]:
        head = f"  {rule['rule']} ({rule['limit_type']}, {rule['max_requests']}/{rule['window_seconds']} s)"
        if "usage" in rule:
            verdict = "would pass" if rule["would_pass"] else "FULL: would refuse"
            lines.append(f"{head} key {rule['key']}: {rule['usage']} used, {verdict}, {rule['remaining_after']} left after")
        else:
            lines.append(f"{head}: {rule.get('why', 'not checked')}")
    return lines


def section_choice(choice: dict) -> list[str]:
    if not choice.get("checked"):
        return ["Target: not reached"]
    lines = ["Targets:"]
    for target in choice.get("candidates", ()):
        group = f" group {target['group']} weight {target['weight']}" if "group" in target else ""
        lines.append(f"  {target['service']} {target['url']}{group}: health {target['health'] or 'unknown'}, "
                     f"circuit {target['circuit']}")
    chosen = choice.get("chosen")
    lines.append(f"  chosen: {chosen['service'] if chosen else 'none'} ({choice.get('why')})")
    for service, why in (choice.get("passed_over") or {}).items():
        lines.append(f"  passed over {service}: {why}")
    return lines
