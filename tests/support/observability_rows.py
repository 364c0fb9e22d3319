"""Log rows made by hand, for the query and statistics tests."""

from __future__ import annotations

import datetime as dt
import uuid

from gateway.coordination.dbtypes import utcnow
from gateway.extensions import db
from gateway.models import GatewayLog


def log(ago: dt.timedelta = dt.timedelta(minutes=1), **fields) -> dict:
    """Return the columns of one row created ``ago``; ``fields`` override the defaults."""
    return {"id": uuid.uuid4(), "request_id": uuid.uuid4().hex, "method": "GET", "path": "/api/x",
            "route_pattern": "/api/*", "target_service": "svc", "user_id": None, "client_ip": "10.0.0.1",
            "status_code": 200, "response_time": 10.0, "error_message": None, "created_at": utcnow() - ago, **fields}


def add_rows(app, rows: list[dict]) -> list[dict]:
    """Insert ``rows`` (from :func:`log`); return them."""
    with app.app_context():
        db.session.execute(GatewayLog.__table__.insert(), rows)
        db.session.commit()
    return rows
