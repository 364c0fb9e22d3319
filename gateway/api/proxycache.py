"""Purging the ``proxy-cache`` plugin's entries (Kong's ``DELETE /proxy-cache``), on the plugins blueprint.

``DELETE /api/v1/gateway/proxy-cache`` purges every entry; ``DELETE /proxy-cache/routes/{id}``
those of one route. With ``REDIS_URL`` the entries are shared, so one call purges them for every
worker and instance; without it they live in the one worker's memory that serves this call too.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from gateway.api.plugins import bp
from gateway.config.store import get_or_404
from gateway.errors import NotFound, ServiceUnavailable
from gateway.models import RouteConfig
from gateway.plugins.cache import ProxyCache
from gateway.plugins.cache.store import CacheUnavailable
from gateway.services import services


class PurgedSchema(Schema):
    purged = fields.Integer(required=True, metadata={"description": "Entries deleted."})


def purge(route_id: str | None) -> dict:
    """Delete the cache's entries (of one route); return how many.

    :raise NotFound: the proxy-cache plugin is not installed (or disabled).
    :raise ServiceUnavailable: the cache's Redis does not answer.
    """
    plugin = services().plugins.get(ProxyCache.name)
    if plugin is None:
        raise NotFound("The proxy-cache plugin is not installed (or disabled by GATEWAY_PLUGINS_DISABLED).")
    try:
        return {"purged": plugin.store().purge(route_id)}
    except CacheUnavailable:
        raise ServiceUnavailable("The cache's Redis is unavailable; try again.") from None


@bp.delete("/proxy-cache")
@bp.response(200, PurgedSchema)
@bp.alt_response(404, response="NOT_FOUND")
def purge_cache():
    """Purge every entry of the proxy-cache plugin (every route, every caller)."""
    return purge(None)


@bp.delete("/proxy-cache/routes/<id:route_id>")
@bp.response(200, PurgedSchema)
def purge_route_cache(route_id):
    """Purge the proxy-cache entries of one route."""
    get_or_404(RouteConfig, route_id, "route")
    return purge(str(route_id))
