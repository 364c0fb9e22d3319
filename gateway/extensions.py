"""The Flask extensions, created unbound here and bound to an app in ``init_app``.

Flask-Limiter is the exception: its Limiter holds its storage itself, so one is made per app.
"""

from pathlib import Path

from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from gateway.coordination.dbtypes import include_name, render_item
from gateway.coordination.redisclients import TIMEOUTS
from gateway.coordination.sqliteio import cooperate
from gateway.server.clientaddr import client_ip
from gateway.services import services


class Model(DeclarativeBase):
    """Declarative base: constraint names are fixed so migrations are the same on every database."""

    metadata = MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


db = SQLAlchemy(model_class=Model)
migrate = Migrate()
jwt = JWTManager()

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def init_app(app):
    """Bind every extension to ``app`` from its ``GATEWAY_SETTINGS``."""
    settings = app.config["GATEWAY_SETTINGS"]
    app.config.update(_sqlalchemy_config(settings))
    app.config.update(_jwt_config(settings))
    app.config.update(_limiter_config(settings))
    db.init_app(app)
    with app.app_context():  # SQLite under gevent: calls in native threads (see gateway.coordination.sqliteio)
        for engine in db.engines.values():
            cooperate(engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), compare_type=True, render_as_batch=True,
                     render_item=render_item, include_name=include_name)
    jwt.init_app(app)
    # Flask-Limiter keeps its storage on the Limiter object, so each app gets its own (tests
    # build many apps in one process); the rate-limit step reaches it through services().limiter.
    limiter = services(app).limiter = Limiter(key_func=client_ip)
    limiter.init_app(app)


def _sqlalchemy_config(settings):
    options = {}
    if settings.is_sqlite:
        # No pre-ping: a file has no connection to lose, and under gevent each call is a hand-over
        # to the connection's thread (gateway.coordination.sqliteio).
        # A locked SQLite file answers "database is locked" after 5 s instead of at once (the
        # caller waits, in a native thread: the worker's other requests do not).
        options["connect_args"] = {"timeout": 5}
    else:
        options.update(pool_pre_ping=True, pool_size=5, max_overflow=10, pool_recycle=1800,
                       connect_args={"connect_timeout": 5})
    return {
        "SQLALCHEMY_DATABASE_URI": settings.sqlalchemy_url,
        "SQLALCHEMY_ENGINE_OPTIONS": options,
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    }


def _jwt_config(settings):
    return {
        "JWT_SECRET_KEY": settings.secret_key,
        "JWT_ALGORITHM": settings.algorithm,
        "JWT_DECODE_ALGORITHMS": [settings.algorithm],
        "JWT_PUBLIC_KEY": settings.jwt_public_key,
        "JWT_PRIVATE_KEY": settings.jwt_private_key,
        "JWT_TOKEN_LOCATION": ["headers"],
        "JWT_IDENTITY_CLAIM": "sub",
        "JWT_DECODE_LEEWAY": settings.jwt_leeway,
        # Checked on every token when set (PyJWT then also refuses a token without the claim);
        # tokens the gateway signs (`token create`, dashboard sessions) carry them.
        "JWT_DECODE_ISSUER": settings.jwt_issuer,
        "JWT_ENCODE_ISSUER": settings.jwt_issuer,
        "JWT_DECODE_AUDIENCE": settings.jwt_audience,
        "JWT_ENCODE_AUDIENCE": settings.jwt_audience,
        "JWT_ERROR_MESSAGE_KEY": "message",
    }


def _limiter_config(settings):
    target = settings.redis_target
    uri, options = target.limits_storage(TIMEOUTS) if target else ("memory://", {})
    return {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": uri,
        "RATELIMIT_STORAGE_OPTIONS": options,
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_HEADERS_ENABLED": False,
        "RATELIMIT_KEY_PREFIX": "engadi-gw",
    }
