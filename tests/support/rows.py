"""Database rows made and read in process: configuration rows, log rows, unique names."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa

from gateway.coordination.dbtypes import utcnow
from gateway.extensions import db
from gateway.models import CorsConfig, GatewayLog, RateLimitRule, RouteConfig, ServiceHealth, read_version
from gateway.models.config_version import ConfigVersion
from gateway.requestlog import rollups, series

TABLES = {"routes": RouteConfig, "services": ServiceHealth, "rate_limits": RateLimitRule, "cors": CorsConfig}


def counts(app) -> dict[str, int]:
    """Return the number of rows per configuration section."""
    with app.app_context():
        return {name: db.session.query(model).count() for name, model in TABLES.items()}


def version(app) -> int:
    """Return the configuration version."""
    with app.app_context():
        return read_version(db.session)


def snapshot(app) -> dict[str, dict]:
    """Return every configuration row as a dict of its columns (timestamps included), by key."""
    with app.app_context():
        return {name: {_key(row): _columns(row) for row in db.session.query(model)} for name, model in TABLES.items()}


KEYS = {RouteConfig: "path_pattern", ServiceHealth: "service_name", RateLimitRule: "rule_name"}


def _key(row) -> str:
    return getattr(row, KEYS[type(row)]) if type(row) in KEYS else "cors"


def _columns(row) -> dict:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def get(app, model, **filters):
    """Return the one row of ``model`` matching ``filters`` (detached, loaded), or None."""
    with app.app_context():
        row = db.session.query(model).filter_by(**filters).one_or_none()
        if row is not None:
            db.session.expunge(row)
        return row


def update(app, model, filters: dict, **values) -> None:
    """Change columns of the row matching ``filters`` as an operator would."""
    with app.app_context():
        row = db.session.query(model).filter_by(**filters).one()
        for key, value in values.items():
            setattr(row, key, value)
        db.session.commit()


def delete(app, model, **filters) -> None:
    """Delete the row matching ``filters``."""
    with app.app_context():
        db.session.delete(db.session.query(model).filter_by(**filters).one())
        db.session.commit()


def delete_all(app, model) -> None:
    """Delete every row of ``model`` as an operator would (the configuration version moves)."""
    with app.app_context():
        for row in db.session.query(model):
            db.session.delete(row)
        db.session.commit()


def reset_version(app) -> None:
    """Forget the configuration version (as if the rows had been written by SQL, behind the gateway's back)."""
    with app.app_context():
        db.session.execute(sa.delete(ConfigVersion))
        db.session.commit()


def add(app, model, **values) -> None:
    """Insert one row."""
    with app.app_context():
        db.session.add(model(**values))
        db.session.commit()


def add_logs(app, ages: list[dt.timedelta]) -> dict[uuid.UUID, dt.timedelta]:
    """Insert one GatewayLog row per age (created that long ago); return id -> age."""
    now = utcnow()
    rows = {uuid.uuid4(): age for age in ages}
    with app.app_context():
        db.session.add_all(
            GatewayLog(id=row_id, request_id=f"req-{index}", method="GET", path=f"/api/v1/x/{index}",
                       status_code=200, response_time=1.0, created_at=now - age)
            for index, (row_id, age) in enumerate(rows.items())
        )
        db.session.commit()
    return rows


def log_ids(app) -> set[uuid.UUID]:
    """Return the ids of every GatewayLog row."""
    with app.app_context():
        return set(db.session.scalars(sa.select(GatewayLog.id)))


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def log(ago: dt.timedelta = dt.timedelta(minutes=1), **fields) -> dict:
    """Return the columns of one row created ``ago``; ``fields`` override the defaults."""
    return {"id": uuid.uuid4(), "request_id": uuid.uuid4().hex, "method": "GET", "path": "/api/x",
            "route_pattern": "/api/*", "target_service": "svc", "user_id": None, "client_ip": "10.0.0.1",
            "status_code": 200, "response_time": 10.0, "error_message": None, "created_at": utcnow() - ago, **fields}


def add_rows(app, rows: list[dict]) -> list[dict]:
    """Insert ``rows`` (from :func:`log`) and add them into the rollups and series, as the log writer does; return them."""
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(GatewayLog.__table__.insert(), rows)
        rollups.add(connection, rows)
        series.add(connection, rows)
    return rows


def reference_percentile(values: list[float], p: float) -> float:
    """percentile_cont, written out: linear interpolation between the ranks around (n - 1) p."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * p
    low = int(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])
