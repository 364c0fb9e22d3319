"""Fixtures: an app builder per database backend, tokens, and a clean database per test.

Backends: SQLite always; PostgreSQL when ``DATABASE_URL`` names one (each test session makes
its own database beside it and drops it at the end); Redis when ``REDIS_URL`` is set. With
``TESTS_REQUIRE_BACKENDS=1`` (set by ``.ci/run``) a missing or unreachable backend fails
the run instead of being skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest

from gateway import create_app
from gateway.extensions import db
from gateway.services import services
from tests.support.backends import (
    DB_BACKENDS,
    POSTGRES_URL,
    REDIS_URL,
    BackendMissing,
    fresh_postgres_database,
    redis_url_or_none,
    require_backends,
)
from tests.support.browser import CHROMIUM_ARGS, WAIT_MS, chromium_executable
from tests.support.database import empty_tables, migrate_to_head
from tests.support.http import local_session
from tests.support.servers import start_redis, start_upstream
from tests.support.tokens import TEST_SECRET, make_token

# Every app and process of the suite signs with the suite's own key: outside ENVIRONMENT=development
# (the suite runs as "testing") the published default SECRET_KEY refuses to start.
os.environ["SECRET_KEY"] = TEST_SECRET


def pytest_report_header(config):
    return (f"database backends: {', '.join(DB_BACKENDS)}; redis: {REDIS_URL or 'not set'}; "
            f"require backends: {require_backends()}")


def pytest_collection_modifyitems(config, items):
    if require_backends() and "postgresql" not in DB_BACKENDS:
        raise pytest.UsageError("TESTS_REQUIRE_BACKENDS=1 but DATABASE_URL does not name a PostgreSQL database")
    if require_backends() and not REDIS_URL:
        raise pytest.UsageError("TESTS_REQUIRE_BACKENDS=1 but REDIS_URL is not set")
    deselect_other_backends(config, items)


def deselect_other_backends(config, items) -> None:
    """Leave out the database backends a test's ``backends`` marker does not name (docs/testing.md).

    Deselected, not skipped: the test is not about that backend (the HTTP server's framing and
    timeouts, say, do not touch the database), so nothing is missing when it does not run there.
    """
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("backends")
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("database_url") if callspec is not None else None
        (dropped if marker is not None and backend is not None and backend not in marker.args else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def migrated_databases(tmp_path_factory):
    """Return the session's migrated database of a backend, made on first use (dropped at the end).

    Made once per backend and session even when the backends alternate: pytest-xdist hands a
    worker a whole file, SQLite and PostgreSQL tests together, and ``database_url`` is set up
    again at each switch.
    """
    made: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        def url_of(backend: str) -> str:
            if backend not in made:
                if backend == "sqlite":
                    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'gateway.db'}"
                else:
                    url = stack.enter_context(fresh_postgres_database(POSTGRES_URL, "engadi_test"))
                migrate_to_head(url)
                made[backend] = url
            return made[backend]

        yield url_of


@pytest.fixture(scope="session", params=DB_BACKENDS)
def database_url(request, migrated_databases):
    """A migrated, empty database for this test session, one per backend."""
    return migrated_databases(request.param)


@pytest.fixture
def backend(database_url) -> str:
    """The name of the database backend of this test."""
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


@pytest.fixture(scope="session")
def redis_url():
    """The Redis URL of the run (skipped, or failed in CI, without one)."""
    try:
        return redis_url_or_none(REDIS_URL)
    except BackendMissing as exc:
        if require_backends():
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture
def make_app(database_url):
    """Build apps on this session's database with extra settings; tables are emptied after."""
    apps = []

    def build(**settings):
        env = {"DATABASE_URL": database_url, "REDIS_URL": "", "CONFIG_POLL_INTERVAL": "0.2",
               "ENVIRONMENT": "testing", **{k.upper(): str(v) for k, v in settings.items()}}
        app = create_app(env)
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield build
    for app in apps:
        services(app).runtime.stop()
    if apps:
        with apps[0].app_context():
            empty_tables()
        for app in apps:
            with app.app_context():
                db.engine.dispose()


@pytest.fixture
def http():
    """A requests session for the servers a test started on 127.0.0.1."""
    with local_session() as session:
        yield session


@pytest.fixture(scope="module")
def upstream():
    """The well-behaved test upstream (``/echo``, ``/slow/<s>``...), one gevent worker, per module."""
    with start_upstream() as server:
        yield server


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin_headers(app):
    return {"Authorization": f"Bearer {make_token(app, 'admin-1', ('admin',))}"}


@pytest.fixture
def user_headers(app):
    return {"Authorization": f"Bearer {make_token(app, 'user-1', ('user',))}"}


@pytest.fixture
def private_redis():
    """A redis-server of this test's own, which it may stop and restart."""
    if shutil.which("redis-server") is None:
        if require_backends():
            pytest.fail("redis-server is not installed")
        pytest.skip("redis-server is not installed")
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium for the whole session (skipped, or failed in CI, without one).

    Debian's package, driven by Playwright (its own browser downloads are never used). One per
    process: a second Playwright sync session in the same process refuses to start.
    """
    executable = chromium_executable()
    if executable is None:
        reason = "Chromium is not installed (apt-get install -y chromium): the dashboard's browser tests need it"
        if require_backends():
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
