"""The gateway's own paths and the HTTP methods it routes: one table each, read by every user.

A path here is never forwarded, whatever route would match it (:func:`gateway.specs.routes.
is_reserved_path`), and a route may not be created to cover one. ``OWN_PATHS`` are exactly
those paths; ``OWN_NAMESPACES`` are prefixes: the path and everything below it. Imports nothing.
"""

API = "/api/v1"
HEALTH = "/health"
METRICS = "/metrics"
ADMIN_API = API + "/gateway"  # admin token needed, except for its health
ADMIN_HEALTH = ADMIN_API + "/health"  # public
DOCS = API + "/docs"  # Swagger UI
REDOC = API + "/redoc"
OPENAPI_JSON = API + "/openapi.json"
DOCS_ASSETS = API + "/docs-assets"  # the vendored scripts of the two docs pages
DASHBOARD = "/dashboard"

OWN_PATHS = (HEALTH, METRICS, DOCS, REDOC, OPENAPI_JSON)
OWN_NAMESPACES = (ADMIN_API, DOCS_ASSETS, DASHBOARD)

# With ADMIN_LISTEN set, these are served on the admin listener only (404 on the proxy's): the
# admin API but its public health, the docs, the dashboard and /metrics. /health stays on both.
ADMIN_LISTENER_PATHS = (METRICS, DOCS, REDOC, OPENAPI_JSON)
ADMIN_LISTENER_NAMESPACES = (ADMIN_API, DOCS_ASSETS, DASHBOARD)
PUBLIC_OWN_PATHS = (HEALTH, ADMIN_HEALTH)

# Short names of the docs (the seed's): redirected to the ones above, only when no route matches
# them (they are not reserved: a route may cover /docs, and then it wins).
SHORT_DOCS = {"/docs": DOCS, "/redoc": REDOC, "/openapi.json": OPENAPI_JSON}

# Every method a route may allow (a route's default), the proxy's and the admin API's catch-alls.
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
