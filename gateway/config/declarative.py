"""The declarative configuration file: parse, validate, export and render it.

The file is a mapping of sections (``routes``, ``services``, ``rate_limits``: lists of
entries keyed by their natural key; ``cors``: one mapping). Entries are validated with the
admin API's schemas; the fields an entry leaves out take the admin API's create defaults, so a
file always describes complete entities.
"""

from __future__ import annotations

import json
from pathlib import PurePath

import yaml
from marshmallow import ValidationError

from gateway.config.sections import CORS_KEY, SECTION_NAMES, SECTIONS, Section
from gateway.schemas.body import MAX_DEPTH, depth_over
from gateway.schemas.cors import CREDENTIALS_WITH_WILDCARD, credentials_with_wildcard

FORMATS = ("yaml", "json")


class ConfigFileError(Exception):
    """The file cannot be read or parsed; the text says where."""


class ConfigInvalid(Exception):
    """The file parsed but some values are invalid; ``errors`` lists ``location: message``."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} invalid value{'s' if len(errors) != 1 else ''}")
        self.errors = errors


# --- reading -------------------------------------------------------------------------------


def format_of(filename: str | None, text: str = "") -> str:
    """Return ``json`` or ``yaml``: from the extension, else from the content."""
    suffix = PurePath(filename or "").suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    return "json" if text.lstrip().startswith(("{", "[")) else "yaml"


def parse(text: str, filename: str | None = None):
    """Parse YAML or JSON text.

    :raise ConfigFileError: with the line and column of a syntax error.
    """
    name = filename or "<input>"
    too_deep = ConfigFileError(f"{name}: nested too deeply (at most {MAX_DEPTH} levels of lists and mappings)")
    try:
        document = _parse(text, name, format_of(filename, text))
    except RecursionError:  # both parsers recurse once per level of nesting
        raise too_deep from None
    if depth_over(document, MAX_DEPTH):
        raise too_deep
    return document


def _parse(text: str, name: str, kind: str):
    if kind == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigFileError(f"{name}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{name}: invalid YAML{_yaml_where(exc)}: {_yaml_problem(exc)}") from None


def _yaml_where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def _yaml_problem(exc: yaml.YAMLError) -> str:
    return " ".join(str(getattr(exc, "problem", None) or exc).split())


# --- validating ----------------------------------------------------------------------------


def validate(document, settings) -> dict:
    """Return the complete entities of every section present in ``document``.

    :raise ConfigInvalid: listing every problem with its location (``routes[2].timeout: ...``).
    """
    if not isinstance(document, dict):
        raise ConfigInvalid([f"(top level): must be a mapping with any of {', '.join(SECTION_NAMES)}"])
    errors = [f"{key}: unknown section (expected one of {', '.join(SECTION_NAMES)})"
              for key in document if key not in SECTION_NAMES]
    desired = {}
    for section in SECTIONS:
        if section.name in document:
            desired[section.name] = _validate_section(section, document[section.name], settings, errors)
    if errors:
        raise ConfigInvalid(errors)
    return desired


def _validate_section(section: Section, value, settings, errors: list[str]):
    if section.key is None:
        return _validate_entry(section, value, section.name, settings, errors)
    if not isinstance(value, list):
        errors.append(f"{section.name}: must be a list of entries (use [] for none)")
        return []
    entries, seen = [], {}
    for index, item in enumerate(value):
        where = f"{section.name}[{index}]"
        entry = _validate_entry(section, item, where, settings, errors)
        if entry is None:
            continue
        key = section.key_of(entry)
        if key in seen:
            errors.append(f"{where}.{section.key}: duplicate of {seen[key]}")
        seen.setdefault(key, where)
        entries.append(entry)
    return entries


def _validate_entry(section: Section, item, where: str, settings, errors: list[str]) -> dict | None:
    if not isinstance(item, dict):
        errors.append(f"{where}: must be a mapping of fields")
        return None
    try:
        loaded = section.schema().load(item)
    except ValidationError as exc:
        errors.extend(_flatten(exc.messages, where))
        return None
    values = {**section.defaults(settings), **loaded}
    if section.key is None and credentials_with_wildcard(values["allow_origins"], values["allow_credentials"]):
        errors.append(f"{where}.allow_credentials: {CREDENTIALS_WITH_WILDCARD}")
    return {name: values[name] for name in section.fields}


def _flatten(messages, where: str) -> list[str]:
    """Turn marshmallow's nested messages into ``location: message`` lines."""
    if isinstance(messages, dict):
        lines = []
        for key, value in messages.items():
            inner = where if key == "_schema" else f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}"
            lines.extend(_flatten(value, inner))
        return lines
    if isinstance(messages, list):
        return [line for message in messages for line in _flatten(message, where)]
    return [f"{where}: {messages}"]


def load(text: str, filename: str | None, settings) -> dict:
    """Parse and validate a configuration file's text.

    :raise ConfigFileError: when it does not parse.
    :raise ConfigInvalid: when values are invalid.
    """
    return validate(parse(text, filename), settings)


# --- writing -------------------------------------------------------------------------------


def export(session, settings) -> dict:
    """Return every section of the stored configuration, entities in natural-key order."""
    document = {}
    for section in SECTIONS:
        rows = section.rows(session)
        if section.key is None:
            row = rows.get(CORS_KEY)
            document[section.name] = section.values_of(row) if row else cors_default(section, settings)
        else:
            document[section.name] = [section.exported(row) for row in rows.values()]
    return document


def cors_default(section: Section, settings) -> dict:
    """Return the CORS values in force while no CORS row is stored."""
    values = section.defaults(settings)
    return {name: values[name] for name in section.fields}


class _Dumper(yaml.SafeDumper):
    """Safe YAML with lists of scalars on one line (``methods: [GET, POST]``)."""


def _represent_list(dumper: yaml.SafeDumper, data: list):
    flow = all(item is None or isinstance(item, (str, int, float, bool)) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def render(document: dict, fmt: str) -> str:
    """Render a document as YAML or JSON text ending in a newline."""
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
