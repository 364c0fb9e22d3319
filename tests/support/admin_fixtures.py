"""A shared app for the admin API's large validation matrices.

Building an app costs about 40 ms (flask-smorest documents every view), so the hundreds of
small "this input is refused" cases share one app per module and backend instead of the
per-test app of ``tests/conftest.py``; the tables are still emptied after every test.
"""

from __future__ import annotations

import pytest

from gateway import create_app
from gateway.extensions import db
from gateway.services import services
from tests.support.database import empty_tables
from tests.support.tokens import make_token


@pytest.fixture(scope="module")
def shared_app(database_url):
    """One app on this backend's database for every test of a module."""
    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": "", "ENVIRONMENT": "testing",
                      "CONFIG_POLL_INTERVAL": "0.2"})
    app.config["TESTING"] = True
    yield app
    services(app).runtime.stop()
    with app.app_context():
        empty_tables()
        db.engine.dispose()


@pytest.fixture
def shared_client(shared_app):
    """A client of the shared app; whatever the test stored is deleted after it."""
    yield shared_app.test_client()
    with shared_app.app_context():
        empty_tables()


@pytest.fixture(scope="module")
def shared_admin(shared_app):
    """An admin token for the shared app."""
    return {"Authorization": f"Bearer {make_token(shared_app, 'admin-1', ('admin',))}"}
