"""Request bodies of the admin API: a JSON object, or a 422 that says what is wrong with it."""

from __future__ import annotations

import json

from marshmallow import ValidationError
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

WHOLE_BODY = "_schema"  # marshmallow's key for errors about the input as a whole


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
        try:
            return core.parse_json(data)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise body_error("The body is not valid JSON.") from None
