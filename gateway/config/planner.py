"""Plan and apply the difference between a declarative configuration and the database.

A plan is a list of :class:`Change` (create, update, unchanged, delete; ``exists`` when the
caller only creates, as ``seed`` does). Applying it writes every change in one transaction;
entities that did not change are not touched, so an identical file changes nothing and does
not move the configuration version.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import sqlalchemy as sa

from gateway.config.sections import SECTIONS, Section
from gateway.models import Consumer, RouteConfig, ServiceHealth

ACTIONS = ("create", "update", "delete", "unchanged", "exists")


@dataclasses.dataclass(frozen=True)
class Change:
    """What happens to one entity."""

    action: str
    section: Section
    key: str
    values: dict | None = None  # the wanted values (create, update)
    diff: tuple[tuple[str, object, object], ...] = ()  # (field, stored, wanted)
    row: object = dataclasses.field(default=None, compare=False, repr=False)


def plan(session, desired: dict, prune: bool = False, create_only: bool = False) -> list[Change]:
    """Return the changes that make the stored sections of ``desired`` equal to it.

    ``prune`` deletes stored entities of a present section that ``desired`` lacks;
    ``create_only`` leaves existing entities as they are (action ``exists``).
    """
    changes = []
    for section in SECTIONS:
        if section.name in desired:
            changes.extend(_plan_section(session, section, desired[section.name], prune, create_only))
    return changes


def unregistered(session, targets, listed=frozenset(), stored: bool = True) -> list[str]:
    """Return the services a route's ``targets`` name that are not registered, sorted.

    Registered means listed in ``listed`` (a file's services) or, when ``stored``, in the database.
    The admin API and the configuration file both check a route's targets with it.
    """
    names = {target["service"] for target in targets or ()} - set(listed)
    if names and stored:
        names -= set(session.scalars(sa.select(ServiceHealth.service_name)
                                     .where(ServiceHealth.service_name.in_(names))))
    return sorted(names)


def unregistered_targets(session, desired: dict, prune: bool = False) -> list[str]:
    """Return a problem line per route whose targets name services neither the file nor the database has.

    With ``prune`` and a services section, the file's services are the only ones left.
    """
    listed = {entry["service_name"] for entry in desired.get("services") or ()}
    stored = not (prune and "services" in desired)
    problems = []
    for index, route in enumerate(desired.get("routes") or []):
        missing = unregistered(session, route.get("targets"), listed, stored)
        if missing:
            problems.append(f"routes[{index}].targets: not registered services: {', '.join(missing)} "
                            "(list them under services)")
    return problems


SCOPES = (("route", "routes", RouteConfig, "path_pattern"), ("consumer", "consumers", Consumer, "username"))


def unknown_scopes(session, desired: dict, prune: bool = False) -> list[str]:
    """Return a problem line per plugin naming a route or consumer that neither the file nor the database has.

    With ``prune`` and a routes (consumers) section, the file's are the only ones left.
    """
    problems = []
    for field, section, model, column in SCOPES:
        listed = {entry[column] for entry in desired.get(section) or ()}
        stored = not (prune and section in desired)
        for index, plugin in enumerate(desired.get("plugins") or []):
            value = plugin.get(field)
            if value is None or value in listed:
                continue
            if stored and session.scalar(sa.select(model.id).where(getattr(model, column) == value)) is not None:
                continue
            problems.append(f"plugins[{index}].{field}: no {section[:-1]} {value!r} (list it under {section})")
    return problems


def _plan_section(session, section: Section, wanted, prune: bool, create_only: bool) -> list[Change]:
    rows = section.rows(session)
    entries = wanted if isinstance(wanted, list) else [wanted]
    changes = [_plan_entity(section, rows.get(section.key_of(values)), values, create_only) for values in entries]
    if prune and section.key is not None:
        keep = {section.key_of(values) for values in entries}
        changes.extend(Change("delete", section, key, row=row) for key, row in rows.items() if key not in keep)
    return changes


def _plan_entity(section: Section, row, values: dict, create_only: bool) -> Change:
    key = section.key_of(values)
    if row is None:
        return Change("create", section, key, values)
    stored = section.values_of(row)
    diff = tuple((name, stored[name], value) for name, value in values.items() if stored[name] != value)
    if create_only:
        return Change("exists", section, key, values, diff, row)
    return Change("update" if diff else "unchanged", section, key, values, diff, row)


def apply(session, changes: list[Change]) -> Counter:
    """Write ``changes`` in one transaction and return the count per action.

    :raise sqlalchemy.exc.SQLAlchemyError: after rolling back, when the database refuses.
    """
    try:
        for change in changes:
            _apply_one(session, change)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return summarise(changes)


def _apply_one(session, change: Change) -> None:
    if change.action == "create":
        session.add(change.section.new_row(change.values))
    elif change.action == "update":
        for name, _stored, value in change.diff:
            setattr(change.row, name, value)
    elif change.action == "delete":
        session.delete(change.row)


def summarise(changes: list[Change]) -> Counter:
    """Count the changes per action (every action present, zero or not)."""
    counts = Counter({action: 0 for action in ACTIONS})
    counts.update(change.action for change in changes)
    return counts


def writes(changes: list[Change]) -> bool:
    """Return whether applying ``changes`` would write anything."""
    return any(change.action in ("create", "update", "delete") for change in changes)


def describe(change: Change, verb: str | None = None, detail: str | None = None) -> str:
    """Return one line for a change: action, section, key and a detail (default: the fields that differ)."""
    line = f"{verb or change.action:<10} {change.section.name:<12} {change.key}"
    if detail is None:
        detail = "; ".join(f"{name}: {show(old)} -> {show(new)}" for name, old, new in change.diff)
    return f"{line}  ({detail})" if detail else line


def show(value) -> str:
    """Return a field value as the plans and the history's summaries write it: null, true/false, [a, b], {k: v}."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(show(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {show(item)}" for key, item in value.items()) + "}"
    return str(value)
