"""Request bodies of the admin API: a JSON object, or a 422 that says what is wrong with it."""

from __future__ import annotations

import json
import math

from marshmallow import ValidationError
from webargs.flaskparser import FlaskParser, is_json_request

WHOLE_BODY = "_schema"  # marshmallow's key for errors about the input as a whole
# The deepest admin body is a route's traffic.match[i] (4 levels); 32 leaves room and keeps every
# later step (marshmallow, SQLAlchemy's JSON columns, error rendering) far from Python's recursion limit.
MAX_DEPTH = 32
NOT_JSON = "The body is not valid JSON."


def body_error(message: str) -> ValidationError:
    """Return a validation error about the body as a whole."""
    return ValidationError({WHOLE_BODY: [message]})


class JsonBodyParser(FlaskParser):
    """webargs' Flask parser, strict about bodies: no body, a non-JSON body or bad JSON is a 422.

    webargs would read those as "no data", which turns a PUT into a silent no-op.
    """

    def load_json(self, req, schema):
        data = req.get_data(cache=True)
        if not data:
            raise body_error("A JSON object body is required (Content-Type: application/json).")
        if not is_json_request(req):
            shown = req.mimetype or "untyped"
            raise body_error(f"The body must be JSON (Content-Type: application/json), not {shown}.")
        return decode_json(data)


class _Refused(ValueError):
    """A construct the decoder refuses; its text is the client's message."""


def decode_json(data: bytes):
    """Return the document of a UTF-8 JSON text, refusing what JSON parsers disagree on or choke on.

    Refused: invalid UTF-8 or JSON, ``NaN``/``Infinity`` and numbers out of a float's range (not
    JSON numbers), integers longer than Python converts (4300 digits), a key repeated in an
    object (parsers differ on which one wins), nesting deeper than ``MAX_DEPTH``.

    :raise ValidationError: about the body as a whole (a 422 naming ``_schema``).
    """
    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys,
                              parse_constant=_no_constant, parse_float=_finite_float, parse_int=_convertible_int)
    except RecursionError:  # the C scanner recurses once per level: far too deep
        raise body_error(_too_deep()) from None
    except _Refused as exc:
        raise body_error(f"{NOT_JSON[:-1]}: {exc}") from None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise body_error(NOT_JSON) from None
    if depth_over(document, MAX_DEPTH):
        raise body_error(_too_deep())
    return document


def _too_deep() -> str:
    return f"The body is nested too deeply (at most {MAX_DEPTH} levels of arrays and objects)."


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen = set()
        repeated = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise _Refused(f"the key {ascii(repeated)} is repeated in an object.")
    return document


def _no_constant(name: str):
    raise _Refused(f"{name} is not a JSON number.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:20]} is out of range.")
    return value


def _convertible_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # longer than sys.get_int_max_str_digits() (4300): refused to bound the CPU it costs
        raise _Refused("a number has too many digits.") from None


def depth_over(document, limit: int) -> bool:
    """Return whether ``document`` nests arrays and objects more than ``limit`` levels deep (no recursion)."""
    stack = [(document, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if level > limit:
            return True
        stack.extend((child, level + 1) for child in children)
    return False
