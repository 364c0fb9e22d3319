"""Time the request-log analytics over a million log rows on PostgreSQL.

Run: .venv/bin/python bench/stats_1m.py [--rows 1000000] [--keep]
with ``DATABASE_URL`` naming a PostgreSQL server (default postgresql://postgres@127.0.0.1:5432/postgres).
A scratch database is created beside the one named, migrated, filled in the database itself
(``generate_series``: 9 services, 2 % 5xx, 4 % 4xx, times 1-150 ms, spread evenly over the last
24 hours in insertion order, as a live log is; ``/stats?hours=24`` aggregates every row),
vacuumed, and dropped at the end unless --keep.
Each endpoint is called through the app (the admin API with its token), 1 warm-up + 5 timed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

SECRET = secrets.token_urlsafe(48)  # outside development the published default key is refused

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVICES = "ARRAY['auth','content','partners','projects','social-media','notifications','analytics','ai','search']"
FILL = f"""
INSERT INTO gateway_logs (id, request_id, method, path, route_pattern, target_service, user_id, client_ip,
                          status_code, response_time, error_message, created_at)
SELECT gen_random_uuid(), md5(i::text), (ARRAY['GET','GET','GET','POST','PUT','DELETE'])[1 + i % 6],
       '/api/v1/' || s.name || '/items/' || (i % 5000), '/api/v1/' || s.name || '/*', s.name,
       'user-' || (i % 2000), '10.0.' || (i % 250) || '.' || (i % 200),
       CASE WHEN i % 100 < 2 THEN 502 WHEN i % 100 < 5 THEN 404 WHEN i % 100 < 6 THEN 429 ELSE 200 END,
       exp(random() * 5), CASE WHEN i % 100 < 2 THEN 'bad_gateway: upstream unreachable' END,
       now() - interval '23 hours 59 minutes' + (i::float / :rows) * interval '23 hours 58 minutes'
FROM generate_series(1, :rows) AS i, LATERAL (SELECT ({SERVICES})[1 + i % 9] AS name) AS s
"""
ENDPOINTS = ("/stats?hours=24", "/stats?hours=1", "/metrics?hours=168", "/performance?hours=24",
             "/logs?limit=100", "/logs?target_service=search&limit=100", "/errors?limit=100")


def scratch_database(base_url: str) -> tuple[str, sa.Engine]:
    """Create an empty database beside ``base_url``; return its URL and an admin engine."""
    base = sa.make_url(base_url).set(drivername="postgresql+psycopg")
    name = f"engadi_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return base.set(database=name).render_as_string(hide_password=False), admin


def fill(url: str, rows: int) -> float:
    """Insert ``rows`` log rows and vacuum; return the seconds it took."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    started = time.perf_counter()
    with engine.connect() as connection:
        connection.execute(sa.text(FILL), {"rows": rows})
        connection.execute(sa.text("VACUUM ANALYZE gateway_logs"))
        count = connection.execute(sa.text("SELECT count(*) FROM gateway_logs")).scalar()
    engine.dispose()
    print(f"{count} rows in gateway_logs (filled in {time.perf_counter() - started:.1f} s)")
    return count


def time_endpoints(url: str) -> None:
    """Call each endpoint through the app and print its timings."""
    from flask_migrate import upgrade  # noqa: F401 (the app is already migrated)

    from gateway import create_app
    from tests.conftest import make_token

    app = create_app({"DATABASE_URL": url, "REDIS_URL": "", "ENVIRONMENT": "testing", "SECRET_KEY": SECRET})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {make_token(app, 'bench', ('admin',))}"}
    for endpoint in ENDPOINTS:
        times = []
        for attempt in range(6):
            started = time.perf_counter()
            response = client.get("/api/v1/gateway" + endpoint, headers=headers)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.get_data(as_text=True)
            if attempt:
                times.append(elapsed * 1000)
        body = response.get_json()
        total = body.get("total_requests", body.get("requests", body.get("total")))
        print(f"GET {endpoint:<40} median {statistics.median(times):7.1f} ms  max {max(times):7.1f} ms  "
              f"(rows counted: {total})")
    app.extensions["gateway.runtime"].stop()


def migrate(url: str) -> None:
    from flask_migrate import upgrade

    from gateway import create_app

    app = create_app({"DATABASE_URL": url, "REDIS_URL": "", "ENVIRONMENT": "testing", "SECRET_KEY": SECRET})
    with app.app_context():
        upgrade()
    app.extensions["gateway.runtime"].stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="Keep the scratch database.")
    args = parser.parse_args()
    url, admin = scratch_database(os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    try:
        migrate(url)
        fill(url, args.rows)
        time_endpoints(url)
    finally:
        if args.keep:
            print(f"kept {url}")
        else:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
