"""Management API: routes, registered services and the aggregate health."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint as FlaskBlueprint
from flask import current_app, request
from flask.views import MethodView
from werkzeug import exceptions as wz
from werkzeug.routing import Map, Rule

from gateway import __version__
from gateway.api.blueprint import AdminBlueprint
from gateway.circuits import registry
from gateway.config.planner import unregistered
from gateway.config.sections import route_defaults
from gateway.config.store import create_row, delete_row, get_by_or_404, get_or_404, update_row
from gateway.errors import MethodNotAllowed, NotFound, ValidationFailed
from gateway.extensions import db
from gateway.health import report as health_report
from gateway.models import PluginConfig, RouteConfig, ServiceHealth
from gateway.models.pages import page_of
from gateway.schemas import (
    AggregateHealthSchema,
    RouteListSchema,
    RouteQuerySchema,
    RouteSchema,
    ServiceListSchema,
    ServiceSchema,
)
from gateway.schemas.pages import PageQuerySchema
from gateway.schemas.route import check_targets
from gateway.specs.prefixes import ADMIN_API, METHODS

bp = AdminBlueprint("management", __name__, url_prefix=ADMIN_API, description="Routes, services and health.")
ADMIN_BLUEPRINTS = frozenset({"management", "monitoring", "configuration", "plugins", "history", "audit",
                              "explain"})


def check_registered(targets) -> None:
    """Refuse targets naming services that are not registered.

    :raise ValidationFailed: naming ``targets``.
    """
    missing = unregistered(db.session, targets)
    if missing:
        message = f"Not registered services: {', '.join(missing)} (register them with POST /services)."
        raise ValidationFailed("Invalid input: targets", fields={"targets": [message]})


@bp.route("/routes")
class Routes(MethodView):
    @bp.arguments(RouteQuerySchema, location="query")
    @bp.response(200, RouteListSchema)
    def get(self, query):
        """List routes, highest priority first (a page of them with limit and offset)."""
        rows = sa.select(RouteConfig).order_by(RouteConfig.priority.desc(), RouteConfig.path_pattern)
        if query["active_only"]:
            rows = rows.where(RouteConfig.is_active.is_(True))
        return page_of(db.session, rows, query)

    @bp.arguments(RouteSchema)
    @bp.response(201, RouteSchema)
    @bp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Create a route; fields left out take their defaults."""
        values = {**route_defaults(current_app.config["GATEWAY_SETTINGS"]), **data}
        return create_row(RouteConfig, values, "path_pattern", "route",
                          check=lambda: check_registered(data.get("targets")))


@bp.route("/routes/<id:route_id>")
class RouteById(MethodView):
    @bp.response(200, RouteSchema)
    def get(self, route_id):
        """Return one route."""
        return get_or_404(RouteConfig, route_id, "route")

    @bp.partial_update(RouteSchema)
    def patch(self, data, route_id):
        """Update a route: the fields given change, those left out stay as they were."""
        return update_route(data, route_id)

    @bp.partial_update(RouteSchema)
    def put(self, data, route_id):
        """Update a route as PATCH does (PUT stays a partial update for compatibility; prefer PATCH)."""
        return update_route(data, route_id)

    @bp.response(204)
    def delete(self, route_id):
        """Delete a route (and its plugins)."""
        route = get_or_404(RouteConfig, route_id, "route")
        db.session.query(PluginConfig).filter_by(route_id=route.id).delete()  # SQLite does not enforce the cascade
        delete_row(route)


def update_route(data: dict, route_id):
    """Apply a partial update to a route and return it.

    :raise ValidationFailed: when the targets, merged with the stored ones, are invalid or not registered.
    """
    route = get_or_404(RouteConfig, route_id, "route")
    merged = {name: data.get(name, getattr(route, name)) for name in ("target_url", "targets", "traffic")}
    check_targets(**merged)
    check_registered(data.get("targets"))
    update_row(route, data, "path_pattern", "route")
    return route


@bp.route("/services")
class Services(MethodView):
    @bp.arguments(PageQuerySchema, location="query")
    @bp.response(200, ServiceListSchema)
    def get(self, page):
        """List registered services with their health and circuit state, by name (a page with limit and offset)."""
        return page_of(db.session, sa.select(ServiceHealth).order_by(ServiceHealth.service_name), page)

    @bp.arguments(ServiceSchema)
    @bp.response(201, ServiceSchema)
    @bp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Register a service; 409 if the name exists."""
        return create_row(ServiceHealth, data, "service_name", "service")


@bp.route("/services/<string:name>")
class ServiceByName(MethodView):
    @bp.partial_update(ServiceSchema, conflict=False)
    def patch(self, data, name):
        """Change a service's URL or health path; its name stays (routes name it)."""
        return update_service(data, name)

    @bp.partial_update(ServiceSchema, conflict=False)
    def put(self, data, name):
        """Update a service as PATCH does (a partial update, as PUT is on routes; prefer PATCH)."""
        return update_service(data, name)

    @bp.response(204)
    def delete(self, name):
        """Unregister a service (its routes stay)."""
        delete_row(get_by_or_404(ServiceHealth, "service", service_name=name))


def update_service(data: dict, name: str):
    """Apply a partial update to a registered service and return it; its health and circuit state stay.

    :raise ValidationFailed: when the body renames the service.
    """
    service = get_by_or_404(ServiceHealth, "service", service_name=name)
    if data.get("service_name", name) != name:
        message = "Cannot be changed: routes name the service. Register the new name and point the routes at it."
        raise ValidationFailed("Invalid input: service_name", fields={"service_name": [message]})
    update_row(service, data)
    return service


@bp.post("/services/<string:name>/reset")
@bp.response(200, ServiceSchema)
def reset_service(name):
    """Close the service's circuit breaker (every worker follows within about a second)."""
    service = get_by_or_404(ServiceHealth, "service", service_name=name)
    registry.reset_circuit(db.session, name)
    return service


@bp.get("/health")
@bp.response(200, AggregateHealthSchema)
@bp.alt_response(503, schema=AggregateHealthSchema,
                 description="The gateway's database is unreachable or not migrated (checks.database says which).")
@bp.doc(security=[])
def get_aggregate_health():
    """Report the gateway's dependencies, every service's health and the gateway's version (public)."""
    report, status = health_report.aggregate()
    return {**report, "version": __version__}, status


# Unknown paths under /api/v1/gateway/: the admin guard has already demanded an admin token,
# so only admins learn what exists (a known path with another method: 405 and Allow).
fallback = FlaskBlueprint("management_fallback", __name__)


@fallback.route(ADMIN_API, defaults={"rest": ""}, methods=METHODS, strict_slashes=False)
@fallback.route(ADMIN_API + "/<path:rest>", methods=METHODS)
def unknown_gateway_path(rest):
    """Answer 405 on a known path of the gateway's API with another method, else 404."""
    allowed = admin_methods(request.path)
    if allowed:
        raise MethodNotAllowed(headers={"Allow": ", ".join(sorted(allowed))})
    raise NotFound("No such endpoint in the gateway API.")


@fallback.after_app_request
def list_only_admin_methods(response):
    """Make an ``OPTIONS`` answer of the admin API list its own methods.

    Flask's automatic answer lists the methods of every rule matching the path, so the
    catch-all above would add all of its methods to it.
    """
    if request.method == "OPTIONS" and "Allow" in response.headers and request.blueprint in ADMIN_BLUEPRINTS:
        response.headers["Allow"] = ", ".join(sorted(admin_methods(request.path)))
    return response


def admin_methods(path: str) -> list[str]:
    """Return the methods the admin API answers at ``path`` (none: it has no such path)."""
    rules = [Rule(rule.rule, methods=rule.methods, endpoint=rule.endpoint)
             for rule in current_app.url_map.iter_rules() if rule.endpoint.split(".")[0] in ADMIN_BLUEPRINTS]
    try:
        Map(rules, converters=current_app.url_map.converters).bind("localhost").match(path, method="--")
    except wz.MethodNotAllowed as exc:
        return list(exc.valid_methods or ())
    except wz.HTTPException:
        pass
    return []
