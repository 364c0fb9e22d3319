"""Deployment: the one row that names this deployment (every worker and instance on this database).

Its ``via_id`` is random, made by whichever worker needs it first, and says nothing about any
secret. The gateway's ``Via`` entry carries it (``1.1 engadi-gateway-<via_id>``): a request that
arrives with it has already been through this deployment, on this or another instance, so a
route points back at it (a loop). It lasts as long as the database; another deployment, even one
signing with the same key, has another.
"""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from gateway.coordination.dbtypes import UTCDateTime, utcnow
from gateway.extensions import db

DEPLOYMENT_ROW_ID = 1


class Deployment(db.Model):
    __tablename__ = "deployment"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    via_id: Mapped[str] = mapped_column(sa.String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


def deployment_id(session) -> str:
    """Return the deployment's id, making it first if there is none (whoever inserts first wins).

    Commits the session when it makes the row.
    """
    found = _read(session)
    if found is None:
        try:
            session.execute(sa.insert(Deployment).values(id=DEPLOYMENT_ROW_ID, via_id=secrets.token_hex(8),
                                                         created_at=utcnow()))
            session.commit()
        except IntegrityError:
            session.rollback()  # another worker or instance made it meanwhile: theirs stands
        found = _read(session)
    return found


def _read(session) -> str | None:
    return session.execute(sa.select(Deployment.via_id).where(Deployment.id == DEPLOYMENT_ROW_ID)).scalar()
