"""Management API: routes, registered services and the aggregate health."""

from __future__ import annotations

from flask import Blueprint as FlaskBlueprint
from flask import current_app, request
from flask.views import MethodView
from werkzeug import exceptions as wz
from werkzeug.routing import Map, Rule

from gateway.api.blueprint import AdminBlueprint
from gateway.circuits import registry
from gateway.config.planner import unregistered
from gateway.config.sections import route_defaults
from gateway.config.store import create_row, delete_row, get_by_or_404, get_or_404, update_row
from gateway.errors import MethodNotAllowed, NotFound, ValidationFailed
from gateway.extensions import db
from gateway.health import report as health_report
from gateway.models import RouteConfig, ServiceHealth
from gateway.schemas import (
    AggregateHealthSchema,
    RouteListSchema,
    RouteQuerySchema,
    RouteSchema,
    ServiceListSchema,
    ServiceSchema,
)
from gateway.schemas.route import check_targets
from gateway.specs.prefixes import ADMIN_API, METHODS

bp = AdminBlueprint("management", __name__, url_prefix=ADMIN_API, description="Routes, services and health.")
ADMIN_BLUEPRINTS = frozenset({"management", "monitoring", "configuration", "history", "audit"})


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
        """List routes, highest priority first."""
        rows = db.session.query(RouteConfig)
        if query["active_only"]:
            rows = rows.filter(RouteConfig.is_active.is_(True))
        items = rows.order_by(RouteConfig.priority.desc(), RouteConfig.path_pattern).all()
        return {"items": items, "total": len(items)}

    @bp.arguments(RouteSchema)
    @bp.response(201, RouteSchema)
    @bp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Create a route; fields left out take their defaults."""
        values = {**route_defaults(current_app.config["GATEWAY_SETTINGS"]), **data}
        return create_row(RouteConfig, values, "path_pattern", "route",
                          check=lambda: check_registered(data.get("targets")))


@bp.route("/routes/<uuid:route_id>")
class RouteById(MethodView):
    @bp.response(200, RouteSchema)
    def get(self, route_id):
        """Return one route."""
        return get_or_404(RouteConfig, route_id, "route")

    @bp.arguments(RouteSchema(partial=True))
    @bp.response(200, RouteSchema)
    @bp.alt_response(409, response="CONFLICT")
    def put(self, data, route_id):
        """Update a route; fields left out stay as they were."""
        route = get_or_404(RouteConfig, route_id, "route")
        merged = {name: data.get(name, getattr(route, name)) for name in ("target_url", "targets", "traffic")}
        check_targets(**merged)
        check_registered(data.get("targets"))
        update_row(route, data, "path_pattern", "route")
        return route

    @bp.response(204)
    def delete(self, route_id):
        """Delete a route."""
        delete_row(get_or_404(RouteConfig, route_id, "route"))


@bp.route("/services")
class Services(MethodView):
    @bp.response(200, ServiceListSchema)
    def get(self):
        """List registered services with their health and circuit state."""
        items = db.session.query(ServiceHealth).order_by(ServiceHealth.service_name).all()
        return {"items": items, "total": len(items)}

    @bp.arguments(ServiceSchema)
    @bp.response(201, ServiceSchema)
    @bp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Register a service; 409 if the name exists."""
        return create_row(ServiceHealth, data, "service_name", "service")


@bp.route("/services/<string:name>")
class ServiceByName(MethodView):
    @bp.response(204)
    def delete(self, name):
        """Unregister a service (its routes stay)."""
        delete_row(get_by_or_404(ServiceHealth, "service", service_name=name))


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
    """Report the gateway's dependencies and every service's health (public)."""
    return health_report.aggregate()


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
        Map(rules).bind("localhost").match(path, method="--")
    except wz.MethodNotAllowed as exc:
        return list(exc.valid_methods or ())
    except wz.HTTPException:
        pass
    return []
