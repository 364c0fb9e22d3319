"""Request-log analytics at scale: rollups, partitions, percentiles' accuracy, writer throughput, purge.

Run: .venv/bin/python -m bench.analytics [--rows 100000000] [--days 30] [--purge-day-rows 3000000] [--keep]
with ``DATABASE_URL`` naming a PostgreSQL server (default postgresql://postgres@127.0.0.1:5432/postgres).

A scratch database beside the one named is migrated (the log partitioned by day), then filled by
PostgreSQL itself, a day partition at a time (``INSERT ... SELECT ... FROM generate_series``): ``--rows``
rows spread evenly over the last ``--days`` days up to now, 9 services x 3 route patterns x 4 methods,
11 status codes (2.5 % 5xx, 7 % 4xx), one service split over two target groups, log-normal-ish times
with a slow tail. Their rollups and per-minute series are made by the same SQL aggregations as the
migrations' backfills (:func:`gateway.requestlog.rollups.backfill`, :func:`gateway.requestlog.series.backfill`),
a day at a time. Then, through the app (the admin
API with its token, 1 warm-up + 5 timed calls each): ``/stats?hours=24``, ``/performance?hours=24``,
``/stats/timeseries`` (and a few more); the percentiles of ``/performance?hours=24`` against
``percentile_cont`` over the same rows; the log writer's throughput with rollups (a LogWriter flushing
40,000 queued rows in batches of 50, 500 and 2,000, one process); ``logs purge`` of an old day of ``--purge-day-rows`` rows. The scratch
database is dropped at the end unless --keep. ``--writer-only`` migrates and measures the writer only; ``--existing URL`` times the endpoints and
checks the percentiles on a database a ``--keep`` run filled.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import random
import secrets
import statistics
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = secrets.token_urlsafe(48)  # outside development the published default key is refused
SERVICES = ("auth", "content", "partners", "projects", "social-media", "notifications", "analytics", "ai", "search")
SERVICES_SQL = "ARRAY[" + ", ".join(f"'{name}'" for name in SERVICES) + "]"
STATUSES = "ARRAY[200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,"\
           "200,200,200,200,200,200,200,201,201,204,304,400,401,404,429,500,502,503,200,200,200,200,200,200,200,200]"
# Each row's key is drawn from a hash of its number, each part from its own digits, so service, route,
# method, status and target group vary independently (554 rollup groups a minute measured at 100 M
# rows in 30 days, out of the 1,320 possible), as varied traffic makes them.
FILL = f"""
INSERT INTO {{table}} (id, request_id, method, path, route_pattern, target_service, user_id, client_ip,
                      status_code, response_time, error_message, target_group, created_at)
SELECT gen_random_uuid(), md5(i::text), (ARRAY['GET','GET','GET','POST','PUT','DELETE'])[1 + ((h / 27) % 6)::int],
       '/api/v1/' || s.name || '/r' || s.route || '/' || (h % 5000), '/api/v1/' || s.name || '/r' || s.route || '/*',
       s.name, 'user-' || ((h / 16200) % 2000), '10.0.' || (i % 250) || '.' || (i % 200), s.status,
       exp(1.0 + random() * 3.5 + CASE WHEN random() < 0.02 THEN random() * 3 ELSE 0 END),
       CASE WHEN s.status >= 500 THEN 'bad_gateway: upstream unreachable' END,
       CASE WHEN s.name = 'content' THEN (ARRAY['v1', 'v2'])[1 + ((h / 8100) % 2)::int] END,
       :start + ((i - :first)::float / :count) * (:end - :start)
FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS i,
     LATERAL (SELECT (i * 2654435761) % 4294967296 AS h) AS k,
     LATERAL (SELECT ({SERVICES_SQL})[1 + (h % 9)::int] AS name, (h / 9) % 3 AS route,
                     ({STATUSES})[1 + ((h / 162) % 50)::int] AS status) AS s
"""
ENDPOINTS = ("/stats?hours=24", "/performance?hours=24", "/stats/timeseries", "/stats/timeseries?hours=24&step=60",
             "/stats/timeseries?hours=24&step=60&source=proxy", "/stats?hours=168", "/stats?hours=1", "/logs?limit=100",
             "/logs?limit=100&target_service=content", "/errors?limit=100",
             "/errors?limit=15&source=proxy")  # the dashboard's, at every refresh
TARGETS_MS = {"/stats?hours=24": 100, "/performance?hours=24": 100, "/stats/timeseries": 100}


def scratch_database(base_url: str) -> tuple[str, sa.Engine]:
    """Create an empty database beside ``base_url``; return its URL and an admin engine."""
    base = sa.make_url(base_url).set(drivername="postgresql+psycopg")
    name = f"engadi_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return base.set(database=name).render_as_string(hide_password=False), admin


def make_app(url: str):
    from gateway import create_app

    app = create_app({"DATABASE_URL": url, "REDIS_URL": "", "ENVIRONMENT": "testing", "SECRET_KEY": SECRET})
    app.config["TESTING"] = True  # no background task starts by itself
    return app


def stop(app) -> None:
    from gateway.extensions import db
    from gateway.services import services

    services(app).runtime.stop()
    with app.app_context():
        db.engine.dispose()


def migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = make_app(url)
    with app.app_context():
        upgrade()
    stop(app)


def fill(url: str, rows: int, days: int) -> dt.datetime:
    """Insert ``rows`` rows over the last ``days`` days, a day partition at a time, and their rollups; return now.

    Each UTC day's rows go into a table of their own without indexes, which is then attached as the
    day's partition: PostgreSQL builds its indexes in one sorted pass each (a bulk load), far faster
    than updating nine indexes row by row. Rows are spread evenly over time (a partial first and last day).
    """
    from gateway.requestlog import partitions, rollups, series

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=days)
    started = time.perf_counter()
    make_partitions(url, now.date() + dt.timedelta(days=1), now.date() + dt.timedelta(days=partitions.AHEAD))
    midnights = [dt.datetime.combine(start.date() + dt.timedelta(days=n), dt.time(), tzinfo=dt.UTC)
                 for n in range(1, days + 1)]
    edges = [start] + [moment for moment in midnights if moment < now] + [now]
    span = (now - start).total_seconds()
    with engine.connect() as connection:
        connection.execute(sa.text("SET work_mem = '256MB'"))
        connection.execute(sa.text("SET maintenance_work_mem = '1GB'"))
        done = 0
        for index, (low, high) in enumerate(zip(edges, edges[1:], strict=False)):
            first = round(rows * (low - start).total_seconds() / span) + 1
            last = round(rows * (high - start).total_seconds() / span)
            day = low.date()
            name = partitions.partition_name(day)
            t0 = time.perf_counter()
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))  # an empty one the migration made ahead
            connection.execute(sa.text(f"CREATE TABLE {name} (LIKE {partitions.TABLE} INCLUDING DEFAULTS)"))
            connection.execute(sa.text(FILL.format(table=name)), {"first": first, "last": last,
                                                                 "count": last - first + 1, "start": low, "end": high})
            t1 = time.perf_counter()
            connection.execute(sa.text(
                f"ALTER TABLE {partitions.TABLE} ATTACH PARTITION {name} FOR VALUES FROM "
                f"('{day.isoformat()} 00:00:00+00') TO ('{(day + dt.timedelta(days=1)).isoformat()} 00:00:00+00')"))
            t2 = time.perf_counter()
            rollups.backfill(connection, low, high)  # autocommit: each statement its own transaction
            series.backfill(connection, low, high)
            done += last - first + 1
            print(f"  day {index + 1}/{len(edges) - 1} ({day}): {last - first + 1} rows in {t1 - t0:.1f} s, "
                  f"indexes in {t2 - t1:.1f} s, rollups in {time.perf_counter() - t2:.1f} s ({done} rows so far)",
                  flush=True)
        connection.execute(sa.text("VACUUM ANALYZE"))
        sizes = connection.execute(sa.text(
            "SELECT (SELECT count(*) FROM gateway_log_rollups), (SELECT count(*) FROM gateway_log_latency), "
            "(SELECT count(*) FROM gateway_log_series), pg_size_pretty(pg_database_size(current_database())), "
            "(SELECT round(avg(n)) FROM (SELECT count(*) AS n FROM gateway_log_rollups WHERE span = 60 "
            " AND start >= :since GROUP BY start) AS m)"), {"since": now - dt.timedelta(hours=24)}).one()
    engine.dispose()
    print(f"{rows} rows over {days} days, {sizes[0]} rollup rows ({sizes[4]} groups a minute in the last 24 h), "
          f"{sizes[1]} latency rows, {sizes[2]} series rows, database {sizes[3]} "
          f"(filled in {time.perf_counter() - started:.0f} s)", flush=True)
    return now


def make_partitions(url: str, first: dt.date, last: dt.date) -> None:
    from gateway.requestlog import partitions

    engine = sa.create_engine(url)
    with engine.begin() as connection:
        partitions.create(connection, first, last)
    engine.dispose()


def time_endpoints(app, headers: dict) -> dict:
    """Call each endpoint through the app; print and return its median time (ms)."""
    client = app.test_client()
    medians = {}
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
        medians[endpoint] = statistics.median(times)
        target = f"  (target < {TARGETS_MS[endpoint]} ms)" if endpoint in TARGETS_MS else ""
        print(f"GET {endpoint:<48} median {medians[endpoint]:7.1f} ms  max {max(times):7.1f} ms  "
              f"(requests: {total}){target}", flush=True)
    return medians


def accuracy(app, headers: dict, url: str) -> float:
    """Compare /performance?hours=24 with percentile_cont over the same rows; return the worst relative error."""
    body = app.test_client().get("/api/v1/gateway/performance?hours=24", headers=headers).get_json()
    names = ("p50", "p90", "p95", "p99")
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        connection.execute(sa.text("SET work_mem = '512MB'"))
        exact = connection.execute(sa.text(
            "SELECT target_service, count(*), "
            + ", ".join(f"percentile_cont({p}) WITHIN GROUP (ORDER BY response_time)" for p in (0.5, 0.9, 0.95, 0.99))
            + " FROM gateway_logs WHERE created_at >= :since AND response_time IS NOT NULL "
              "GROUP BY ROLLUP (target_service)"), {"since": dt.datetime.fromisoformat(body["since"])}).all()
    engine.dispose()
    found = {None: body, **{item["target_service"]: item for item in body["services"]}}
    worst = 0.0
    for service, count, *values in exact:
        assert found[service]["requests"] == count, (service, found[service]["requests"], count)
        for name, value in zip(names, values, strict=True):
            worst = max(worst, abs(found[service][name] - value) / value)
    print(f"percentiles of /performance?hours=24 vs percentile_cont over the same {body['requests']} rows "
          f"(overall and 9 services, p50-p99): worst relative error {worst * 100:.2f} % (target < 2 %)", flush=True)
    return worst


def reports(app, url: str) -> None:
    """Time the report endpoints through ``app`` with an admin token, then check the percentiles' accuracy."""
    from tests.support.tokens import make_token

    headers = {"Authorization": f"Bearer {make_token(app, 'bench', ('admin',))}"}
    time_endpoints(app, headers)
    accuracy(app, headers, url)


WRITER_BATCH_SIZES = (50, 500, 2000)
WRITER_ROWS = 40_000  # rows written at each batch size


def writer_rows(rng: random.Random, count: int) -> list[dict]:
    """Return ``count`` log rows as the recorder makes them (no id: the writer gives it), a millisecond apart."""
    now = dt.datetime.now(dt.UTC)
    rows = []
    for n in range(count):
        service = rng.choice(SERVICES)
        status = rng.choice((200, 200, 200, 200, 201, 404, 502))
        rows.append({"request_id": uuid.uuid4().hex, "method": rng.choice(("GET", "POST")),
                     "path": f"/api/v1/{service}/r1/{n}", "route_pattern": f"/api/v1/{service}/r{n % 3}/*",
                     "target_service": service, "user_id": f"user-{n % 50}", "client_ip": "10.0.0.1",
                     "status_code": status, "error_message": "bad_gateway: refused" if status == 502 else None,
                     "target_group": None, "response_time": round(rng.lognormvariate(3, 1), 3),
                     "created_at": now + dt.timedelta(milliseconds=n)})
    return rows


def backend_cpu(pid: int | None) -> float:
    """Return the CPU seconds a local PostgreSQL backend has used so far (0 if it cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def writer_throughput(app, sizes: tuple[int, ...] = WRITER_BATCH_SIZES, rows: int = WRITER_ROWS) -> dict:
    """Write ``rows`` rows through the log writer (ids, rows, rollups) at each batch size; return rows/s by size.

    Besides the wall-clock rate, prints rows per CPU second of this process and of the writer's
    database backend together: what the machine's load (other processes) does not change much.
    """
    from gateway.requestlog.writer import LogWriter

    rates = {}
    for size in sizes:
        settings = app.config["GATEWAY_SETTINGS"]
        writer = LogWriter(app, dataclasses.replace(settings, request_log_batch_size=size,
                                                    request_log_queue_size=rows + size))
        for row in writer_rows(random.Random(size), size):
            writer.put(row)
        writer.flush()  # connect, make the partitions ahead
        with writer.store.engine.connect() as connection:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        writer.rows.extend(writer_rows(random.Random(1), rows))
        cpu, server, started = time.process_time(), backend_cpu(pid), time.perf_counter()
        written = writer.flush()
        elapsed = time.perf_counter() - started
        cpu, server = time.process_time() - cpu, backend_cpu(pid) - server
        writer.store.close()
        assert written == rows and not writer.dropped, (written, writer.dropped)
        rates[size] = rows / elapsed
        print(f"log writer with rollups: {rows} rows in batches of {size} in {elapsed:.2f} s: "
              f"{rates[size]:,.0f} rows/s (target >= 20,000); CPU {cpu:.2f} s here + {server:.2f} s in the "
              f"database backend: {rows / (cpu + server):,.0f} rows per CPU second", flush=True)
    return rates


def purge_a_day(app, url: str, rows: int, days: int) -> float:
    """Fill the day ``days + 10`` days ago with ``rows`` rows, then time `logs purge --days days+1`."""
    from gateway.extensions import db
    from gateway.requestlog import partitions, purge

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days + 10)
    low = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    make_partitions(url, day, day)
    with engine.connect() as connection:
        connection.execute(sa.text(FILL.format(table=partitions.TABLE)), {
            "first": 1, "last": rows, "count": rows, "start": low, "end": low + dt.timedelta(days=1)})
        connection.execute(sa.text(f"VACUUM ANALYZE {partitions.partition_name(day)}"))
    engine.dispose()
    with app.app_context():
        started = time.perf_counter()
        result = purge.purge(db.session, days + 1, 400)
        elapsed = time.perf_counter() - started
    print(f"logs purge of a day of {rows} rows: {result.rows} rows gone ({len(result.partitions)} partition "
          f"dropped) in {elapsed * 1000:.0f} ms (target < 1 s)", flush=True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--purge-day-rows", type=int, default=3_000_000)
    parser.add_argument("--keep", action="store_true", help="Keep the scratch database.")
    parser.add_argument("--writer-only", action="store_true", help="Only migrate and measure the log writer.")
    parser.add_argument("--existing", metavar="URL", help="Time the endpoints and check the percentiles on a "
                        "database an earlier --keep run filled (nothing is written).")
    args = parser.parse_args()
    if args.existing:
        app = make_app(sa.make_url(args.existing).set(drivername="postgresql+psycopg").render_as_string(False))
        reports(app, args.existing)
        stop(app)
        return
    url, admin = scratch_database(os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    try:
        migrate(url)
        if args.writer_only:
            app = make_app(url)
            writer_throughput(app)
            stop(app)
            return
        fill(url, args.rows, args.days)
        app = make_app(url)
        reports(app, url)
        writer_throughput(app)
        purge_a_day(app, url, args.purge_day_rows, args.days)
        stop(app)
    finally:
        if args.keep:
            print(f"kept {url}")
        else:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
