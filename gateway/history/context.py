"""Who is changing the configuration, through what and why: the context a new version is recorded with.

The admin API's request hook (:func:`gateway.history.init_app`) sets it from the admin token and
the ``X-Change-Message`` header; the flask commands set it with :func:`change_context`. A write
made with no context (a script using the models directly) is recorded as actor ``unknown``,
source ``direct``. A context variable: one per greenlet under gevent, one per thread otherwise.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import getpass
import os
import unicodedata

from gateway.models.config_history import ACTOR_LENGTH, MESSAGE_LENGTH

SOURCES = ("api", "dashboard", "cli", "import", "rollback", "circuit", "direct")


@dataclasses.dataclass(frozen=True)
class ChangeContext:
    """The actor, source and message of the changes made while it is current."""

    actor: str
    source: str
    message: str | None = None


DIRECT = ChangeContext("unknown", "direct")
_current: contextvars.ContextVar[ChangeContext | None] = contextvars.ContextVar("config_change", default=None)
# The version the last committed change of this request or command produced (for the audit trail).
_produced: contextvars.ContextVar[int | None] = contextvars.ContextVar("config_version_produced", default=None)


def current_change() -> ChangeContext:
    """Return the context of the change being made (``unknown``/``direct`` when none was set)."""
    return _current.get() or DIRECT


def set_change(change: ChangeContext | None) -> None:
    """Make ``change`` current (None: none) and forget the version produced so far."""
    _current.set(change)
    _produced.set(None)


@contextlib.contextmanager
def change_context(actor: str, source: str, message: str | None = None):
    """Record the changes committed inside the block with this actor, source and message."""
    token = _current.set(ChangeContext(clean(actor, ACTOR_LENGTH) or "unknown", source, clean(message, MESSAGE_LENGTH)))
    try:
        yield
    finally:
        _current.reset(token)


def produced_version() -> int | None:
    """Return the version the last change committed in this context produced (None: none)."""
    return _produced.get()


def note_produced(number: int) -> None:
    """Remember the version a change just committed produced."""
    _produced.set(number)


def clean(text: str | None, length: int) -> str | None:
    """Return ``text`` on one line, without control characters, at most ``length`` characters (None if empty)."""
    if text is None:
        return None
    text = "".join(" " if unicodedata.category(char).startswith("C") else char for char in text)
    text = " ".join(text.split())[:length]
    return text or None


def cli_actor() -> str:
    """Return ``cli:<the operating-system user>`` (the uid when the user has no name)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:{os.getuid()}"
