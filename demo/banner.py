"""What the demo prints once everything is up: where things are, tokens, and calls to try."""

from __future__ import annotations

from demo.layout import ROOT, Layout
from demo.provision import TOKEN_TTL, Tokens

BURST = 8  # requests in the burst: the demo rule lets 5 through per 10 s


def public_call(base: str) -> str:
    return (f"curl -s -X POST {base}/api/v1/auth/login -H 'Content-Type: application/json' "
            """-d '{"username": "demo"}'""")


def protected_call(base: str) -> str:
    return f'curl -s {base}/api/v1/content/articles -H "Authorization: Bearer $USER_TOKEN"'


def burst_call(base: str) -> str:
    return (f"for i in $(seq {BURST}); do curl -s -o /dev/null -w '%{{http_code}}\\n' "
            f"""-H "Authorization: Bearer $USER_TOKEN" '{base}/api/v1/search/query?q=gateway'; done""")


def where(layout: Layout) -> list[str]:
    """Describe the processes, the database and the logs."""
    services = [f"{s.name} :{s.port}" for s in layout.standins]
    return [
        f"  gateway     {layout.gateway_url}  (gunicorn -c gunicorn.conf.py wsgi:app, one gevent worker)",
        f"  stand-ins   {'  '.join(services[:5])}",
        f"              {'  '.join(services[5:])}",
        f"  database    {shown(layout.database_path)} (SQLite, fresh each run); rate-limit counters in memory",
        f"  logs        {shown(layout.directory)}/*.log",
        f"  API docs    {layout.gateway_url}/api/v1/docs",
        f"  dashboard   {layout.gateway_url}/dashboard  (the login link below, or paste $ADMIN_TOKEN)",
    ]


def shown(path) -> str:
    """Return ``path`` relative to the repository when it is inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def tries(base: str) -> list[str]:
    """Return the commented curl lines to try."""
    return [
        "# 1. a public route (auth): no token needed",
        public_call(base),
        "# 2. a protected route: 401 without the header, 200 with it; the service echoes the",
        "#    X-User-ID and X-Request-ID the gateway added",
        protected_call(base),
        "# 3. a burst on search (rule demo-search-per-ip: 5 requests per 10 s per IP): 200s, then 429s",
        burst_call(base),
        "# and the admin API: every service with its health and circuit state",
        f'curl -s {base}/api/v1/gateway/services -H "Authorization: Bearer $ADMIN_TOKEN"',
    ]


def banner(layout: Layout, tokens: Tokens, login_url: str) -> str:
    """Return the whole text printed when the demo is ready."""
    lines = ["", "Engadi Gateway demo: ready.", "", *where(layout), "",
             f"Tokens (valid {TOKEN_TTL}, signed with this run's own SECRET_KEY):", "",
             f"export ADMIN_TOKEN={tokens.admin}", f"export USER_TOKEN={tokens.user}", "",
             "Dashboard login link (valid 60 s; type `login` for a fresh one):", "", login_url, "",
             "Then try:", "", *tries(layout.gateway_url), "",
             "Type `stop NAME` / `start NAME` to take a stand-in down and bring it back (its circuit",
             "opens, then closes), `status` to list them, `token ID ROLE` for another token, `login` for",
             "a dashboard login link. Ctrl-C stops everything.", ""]
    return "\n".join(lines)
