"""The ``flask --app wsgi explain`` command: what the gateway would do with a request, without sending it.

The work is :func:`gateway.proxy.explain.explain`, the admin API's ``POST /explain`` too. Run in
its own process, the command reads the configuration, circuits and (with ``REDIS_URL``) the shared
rate-limit counters; in-process counters (no Redis) belong to each gateway process and are not
seen here: ask the admin API for those.
"""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from gateway.cli import one_line_errors
from gateway.proxy.explain import explain
from gateway.proxy.explain.text import render
from gateway.ratelimits.rules import storage_kind
from gateway.schemas.common import HEADER_NAME_RE
from gateway.schemas.explain import validate_ip, validate_target
from gateway.specs.prefixes import METHODS


def parse_header(_ctx, _param, values) -> dict:
    """Return ``-H "Name: value"`` options as a dict."""
    headers = {}
    for value in values:
        name, sep, rest = value.partition(":")
        if not sep or not HEADER_NAME_RE.fullmatch(name.strip()):
            raise click.BadParameter(f"{value!r} is not 'Name: value'.")
        headers[name.strip()] = rest.strip()
    return headers


def checked(validator):
    def callback(_ctx, _param, value):
        try:
            validator(value)
        except Exception as exc:  # noqa: BLE001 (marshmallow's ValidationError: its text is the message)
            raise click.BadParameter(str(getattr(exc, "messages", exc))) from None
        return value

    return callback


@click.command("explain")
@click.argument("method", type=click.Choice(METHODS, case_sensitive=False))
@click.argument("path", callback=checked(validate_target))
@click.option("--header", "-H", "headers", multiple=True, callback=parse_header, metavar="'NAME: VALUE'",
              help="A request header; repeat for several.")
@click.option("--client-ip", default="127.0.0.1", show_default=True, callback=checked(validate_ip),
              help="The address the request comes from.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@with_appcontext
@one_line_errors
def explain_command(method, path, headers, client_ip, as_json):
    """Explain what the gateway would do with a request now, without forwarding it or counting it.

    Example: flask --app wsgi explain GET /api/v1/content/x -H "Authorization: Bearer ..."
    """
    report = explain(method.upper(), path, headers, client_ip)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    for line in render(report):
        click.echo(line)
    if report["rate_limits"]["checked"] and storage_kind() == "memory":
        click.echo("Note: without REDIS_URL each gateway process counts in its own memory; this command sees "
                   "none of it (POST /api/v1/gateway/explain does).", err=True)


def init_app(app) -> None:
    """Register ``explain`` on ``app.cli``."""
    app.cli.add_command(explain_command)
