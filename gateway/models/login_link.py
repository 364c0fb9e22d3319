"""LoginLinkUse: the login links already used, so that each works once.

A dashboard login link's token (60 s) is remembered by its ``jti`` until it expires: the
primary key makes a second use fail on insert, atomically on every backend and across
workers and instances. Rows of links expired for a while are deleted at the next login.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from gateway.coordination.dbtypes import UTCDateTime, utcnow
from gateway.extensions import db


class LoginLinkUse(db.Model):
    __tablename__ = "login_link_uses"

    jti: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


# Rows are kept this long past their link's expiry: instances whose clocks differ a little must
# not delete a row another one still needs.
PURGE_AFTER = dt.timedelta(minutes=5)


def use_login_link(session, jti: str, expires_at: dt.datetime) -> bool:
    """Record the use of the login link ``jti`` (valid until ``expires_at``); False if it was used before.

    Deletes the rows of long-expired links on the way. Commits.
    """
    session.execute(sa.delete(LoginLinkUse).where(LoginLinkUse.expires_at < utcnow() - PURGE_AFTER))
    try:
        session.execute(sa.insert(LoginLinkUse).values(jti=jti, expires_at=expires_at))
        session.commit()
    except IntegrityError:
        session.rollback()  # the primary key: this link was used already (maybe a moment ago elsewhere)
        return False
    return True
