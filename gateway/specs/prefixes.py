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

# Every method a route may allow (a route's default), the proxy's and the admin API's catch-alls.
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
