"""The structured difference between two configuration documents, and its one-line summary.

Entities are matched by their natural keys (a route's ``path_pattern``, a service's
``service_name``, a rule's ``rule_name``; the one CORS entity is ``settings``), sections by
:data:`gateway.config.sections.SECTIONS`: a new section there is diffed with no change here.
"""

from __future__ import annotations

from gateway.config.declarative import cors_default
from gateway.config.planner import show
from gateway.config.sections import CORS_KEY, SECTIONS
from gateway.models.config_history import SUMMARY_LENGTH

# How the summary names one entity of a section.
NOUNS = {"routes": "route", "services": "service", "rate_limits": "rate-limit rule", "cors": "cors"}
SHOWN_CHANGES = 2  # changes spelled out in a summary; the rest are counted


def empty_document(settings) -> dict:
    """Return what ``config export`` writes for an empty database: no entity, the CORS settings' defaults.

    The first version recorded is compared with it.
    """
    return {section.name: [] if section.key is not None else cors_default(section, settings) for section in SECTIONS}


def entities(document: dict, section) -> dict:
    """Return a section's entities of ``document`` by natural key."""
    value = document.get(section.name)
    if value is None:
        return {}
    if section.key is None:
        return {CORS_KEY: value}
    return {entry[section.key]: entry for entry in value}


def diff(old: dict, new: dict) -> dict:
    """Return what turns ``old`` into ``new``: ``added``, ``removed`` and ``changed`` entities.

    ``changed`` entries list their fields with ``from`` and ``to`` (a field an entity leaves out
    is null).
    """
    result = {"added": [], "removed": [], "changed": []}
    for section in SECTIONS:
        before, after = entities(old, section), entities(new, section)
        for key in sorted(after.keys() - before.keys()):
            result["added"].append({"section": section.name, "key": key, "values": after[key]})
        for key in sorted(before.keys() - after.keys()):
            result["removed"].append({"section": section.name, "key": key, "values": before[key]})
        for key in sorted(before.keys() & after.keys()):
            fields = field_changes(before[key], after[key])
            if fields:
                result["changed"].append({"section": section.name, "key": key, "fields": fields})
    return result


def field_changes(before: dict, after: dict) -> list[dict]:
    """Return ``{"field", "from", "to"}`` for every field whose value differs, in the entity's order."""
    names = list(after) + [name for name in before if name not in after]
    return [{"field": name, "from": before.get(name), "to": after.get(name)}
            for name in names if before.get(name) != after.get(name)]


def is_empty(changes: dict) -> bool:
    """Return whether a diff holds no change."""
    return not any(changes.values())


def phrases(changes: dict) -> list[str]:
    """Return one phrase per changed entity: ``route /x/* changed: timeout 30 → 5``."""
    lines = []
    for entry in changes["changed"]:
        detail = ", ".join(f"{item['field']} {show(item['from'])} → {show(item['to'])}" for item in entry["fields"])
        lines.append(f"{name_of(entry)} changed: {detail}")
    lines.extend(f"{name_of(entry)} added" for entry in changes["added"])
    lines.extend(f"{name_of(entry)} removed" for entry in changes["removed"])
    return lines


def summary(changes: dict) -> str:
    """Return a one-line summary of a diff (the first changes spelled out, the others counted)."""
    lines = phrases(changes)
    if not lines:
        return "no change"
    text = "; ".join(lines[:SHOWN_CHANGES])
    if len(lines) > SHOWN_CHANGES:
        text += f"; and {len(lines) - SHOWN_CHANGES} more"
    return text if len(text) <= SUMMARY_LENGTH else text[:SUMMARY_LENGTH - 1] + "…"


def name_of(entry: dict) -> str:
    """Return how a summary names the entity of a diff entry."""
    noun = NOUNS.get(entry["section"], entry["section"])
    return noun if entry["key"] == CORS_KEY and noun == "cors" else f"{noun} {entry['key']}"
