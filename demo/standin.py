"""A stand-in Mission Engadi service: ``/health`` and a few JSON endpoints under its prefix.

One module serves all nine services, parametrised by name and prefix
(``gunicorn 'demo.standin:create_app("content", "/api/v1/content")'``). Every answer echoes
the headers the gateway added, so a demo user sees what the gateway did to the request.
"""

from __future__ import annotations

import functools

from flask import Flask, jsonify, request

ECHOED_HEADERS = ("X-User-ID", "X-User-Roles", "X-Request-ID", "X-Forwarded-For", "X-Forwarded-Proto", "Via")

# Each service's collections: GET <prefix>/<collection> lists them, .../<id> shows one.
SAMPLES: dict[str, dict[str, list[dict]]] = {
    "auth": {"users": [{"id": 1, "name": "demo-user"}, {"id": 2, "name": "demo-admin"}]},
    "content": {"articles": [{"id": 1, "title": "Welcome to Mission Engadi"},
                             {"id": 2, "title": "How the API gateway routes your requests"}]},
    "partners": {"partners": [{"id": 1, "name": "Engadi Foundation"}, {"id": 2, "name": "Alpine Gateway Trust"}]},
    "projects": {"projects": [{"id": 1, "title": "Clean water for Scuol"}, {"id": 2, "title": "Gateway rollout"}]},
    "social-media": {"posts": [{"id": 1, "text": "Our new gateway is live!"}]},
    "notifications": {"notifications": [{"id": 1, "text": "Your report is ready"}]},
    "analytics": {"reports": [{"id": 1, "title": "Weekly visits", "visits": 1234}]},
    "ai": {"models": [{"id": 1, "name": "summariser-demo"}]},
    "search": {},
}


def create_app(name: str, prefix: str) -> Flask:
    """Return the stand-in app of the service ``name``, its endpoints under ``prefix``."""
    app = Flask(f"standin-{name}")
    app.json.sort_keys = False
    app.add_url_rule("/health", "health", lambda: {"status": "healthy", "service": name})
    app.add_url_rule(prefix, "index", lambda: reply(name, endpoints=endpoints(name, prefix)))
    app.add_url_rule(f"{prefix}/<collection>", "collection", lambda collection: list_items(name, collection))
    app.add_url_rule(f"{prefix}/<collection>/<int:item_id>", "item",
                     lambda collection, item_id: show_item(name, collection, item_id))
    if name == "auth":
        app.add_url_rule(f"{prefix}/login", "login", lambda: login(name), methods=["GET", "POST"])
        app.add_url_rule(f"{prefix}/me", "me", lambda: reply(name, user_id=request.headers.get("X-User-ID")))
    if name == "search":
        app.add_url_rule(f"{prefix}/query", "query", lambda: search(name))
    for status in (404, 405):
        app.register_error_handler(status, functools.partial(http_error, name))
    return app


def http_error(service: str, exc):
    """Answer an unknown path or method in JSON too."""
    return reply(service, error=exc.name.lower().replace(" ", "_")), exc.code


def received_headers() -> dict:
    """Return the gateway-added headers this request carried (null when absent)."""
    return {header: request.headers.get(header) for header in ECHOED_HEADERS}


def reply(service: str, **fields):
    """Return a JSON answer naming the service and echoing the gateway's headers."""
    return jsonify({"service": service, **fields, "received_headers": received_headers()})


def endpoints(service: str, prefix: str) -> list[str]:
    """List the endpoints of ``service``, for its index."""
    paths = [f"{prefix}/{collection}" for collection in SAMPLES[service]]
    extra = {"auth": ["/login", "/me"], "search": ["/query?q=..."]}.get(service, [])
    return ["/health", *paths, *(prefix + path for path in extra)]


def list_items(service: str, collection: str):
    """List one collection of sample items."""
    items = SAMPLES[service].get(collection)
    if items is None:
        return reply(service, error="not_found"), 404
    return reply(service, items=items, total=len(items))


def show_item(service: str, collection: str, item_id: int):
    """Show one sample item."""
    item = next((i for i in SAMPLES[service].get(collection, []) if i["id"] == item_id), None)
    if item is None:
        return reply(service, error="not_found"), 404
    return reply(service, item=item)


def login(service: str):
    """Answer a login attempt with a demo message (a stand-in checks no password)."""
    # The demo's gateway signs with a key of its own, made per run: `flask token create` in another
    # shell would sign with another key. The demo's console issues tokens with the right one.
    message = ("demo login: this stand-in checks no password and issues no token; type `token ID user` "
               "in the demo's terminal for one (or use $USER_TOKEN from its banner)")
    return reply(service, message=message)


def search(service: str):
    """Return every sample item, of any service, whose text contains ``q``."""
    query = request.args.get("q", "").strip().lower()
    results = [{"service": owner, "collection": collection, **item}
               for owner, collections in SAMPLES.items()
               for collection, items in collections.items()
               for item in items if query and query in " ".join(map(str, item.values())).lower()]
    return reply(service, query=query, results=results, total=len(results))
