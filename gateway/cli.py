"""The gateway's flask commands: seed, config, token, logs, health, rate-limits, version (never ``routes``: Flask owns it).

The commands are thin: the work is done in the capability packages (config: seed, declarative, planner;
auth: tokens; requestlog: purge; health: checker). Every failure is one line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import functools
import sys
from importlib import metadata
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, routes_command, with_appcontext
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from gateway import __version__
from gateway.auth import tokens
from gateway.config import declarative, planner, seed
from gateway.coordination.dbstate import first_line
from gateway.errors import NotFound
from gateway.extensions import db
from gateway.health import checker
from gateway.history.context import change_context, cli_actor
from gateway.models import RateLimitRule, read_version
from gateway.refusal import refuse_unsafe
from gateway.requestlog import purge
from gateway.specs.ratelimits import compile_rules

# Commands other packages add to every `flask` through entry points, hidden from `flask --help` (they still
# run when named): Flask-Limiter's lists the Flask URL rules it decorates, not the gateway's rate-limit rules
# (those are `flask rate-limits list`); flasgger's (installed with httpbin, a test dependency) writes a
# Swagger 2 document of nothing the gateway serves.
FOREIGN_COMMANDS = ("limiter", "generate-api-schema")
# Flask's own `flask routes` lists URL rules: say so, beside the gateway's routes (proxied paths).
FLASK_ROUTES_HELP = "Show Flask's URL rules; the proxied routes are in GET /api/v1/gateway/routes."


def settings():
    """Return the current app's settings."""
    return current_app.config["GATEWAY_SETTINGS"]


def one_line_errors(func):
    """Turn database and configuration errors of a command into one line on stderr, status 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except SQLAlchemyError as exc:
            db.session.rollback()
            raise click.ClickException(database_error(exc)) from None
        except (declarative.ConfigFileError, tokens.TokenError, OSError, UnicodeDecodeError) as exc:
            raise click.ClickException(str(exc)) from None
        except NotFound as exc:  # a lookup of the command's argument (a configuration version)
            db.session.rollback()
            raise click.ClickException(exc.description) from None

    return wrapper


def database_error(exc: SQLAlchemyError) -> str:
    """Return the first line of a database error, with a hint when the schema is missing."""
    text = first_line(exc)
    hint = ""
    if "no such table" in text or "does not exist" in text:
        hint = " (run `flask --app wsgi db upgrade` first)"
    return f"database error: {text}{hint}"


def report_invalid(exc: declarative.ConfigInvalid, source: str) -> None:
    """Print every validation error on stderr and stop with status 1."""
    for line in exc.errors:
        click.echo(line, err=True)
    raise click.ClickException(f"{source}: {exc}; nothing was written")


# --- seed ----------------------------------------------------------------------------------


@click.command("seed")
@click.option("--if-empty", is_flag=True,
              help="Seed only a configuration that was never written (version 0, no rows); else do nothing.")
@with_appcontext
@one_line_errors
def seed_command(if_empty):
    """Seed the Mission Engadi services and routes.

    Creates what is missing of the nine services (from the *_SERVICE_URL settings), their
    routes, the CORS settings (from CORS_ORIGINS) and, when RATE_LIMIT_ENABLED, the rules
    default-per-user and default-per-ip. Existing rows are left exactly as they are, so
    running it again changes nothing. With --if-empty (what `make run` uses) it seeds only a
    gateway whose configuration was never written, so what an operator deleted stays deleted.
    """
    refuse_unsafe()
    if if_empty and not seed.never_configured(db.session):
        db.session.rollback()  # end the read transaction
        click.echo(f"Seed: skipped, the configuration is not empty (version {read_version(db.session)}).")
        return
    try:
        with change_context("seed", "cli"):
            changes = seed.seed(db.session, settings())
    except declarative.ConfigInvalid as exc:
        report_invalid(exc, "the *_SERVICE_URL settings")
    for change in changes:
        verb = "created" if change.action == "create" else "left"
        detail = ("differs from the settings: " + ", ".join(name for name, *_ in change.diff)) if change.diff else ""
        click.echo(planner.describe(change, verb, detail))
    counts = planner.summarise(changes)
    click.echo(f"Seed: {counts['create']} created, {counts['exists']} left as they were "
               f"(configuration version {read_version(db.session)}).")


# --- config --------------------------------------------------------------------------------


@click.group("config", cls=AppGroup)
@with_appcontext
def config_cli():
    """Export or import the run-time configuration.

    One declarative YAML or JSON file holds the sections routes, services, rate_limits, cors,
    consumers (without their API keys) and plugins; entities are keyed by path_pattern,
    service_name, rule_name, username, and a plugin by its name, route and consumer.
    """
    refuse_unsafe()  # as the group is invoked: never while --help lists it


@config_cli.command("export")
@click.option("--format", "fmt", type=click.Choice(declarative.FORMATS), default=None,
              help="Output format. Default: from the --output extension, else yaml.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file instead of stdout.")
@one_line_errors
def export_config(fmt, output):
    """Print the whole configuration as YAML or JSON.

    Routes, services, rate limits and CORS settings, without ids or timestamps.
    """
    fmt = fmt or (declarative.format_of(output) if output else "yaml")
    text = declarative.render(declarative.export(db.session, settings()), fmt)
    db.session.rollback()  # end the read transaction
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output} ({fmt}).", err=True)
    else:
        click.echo(text, nl=False)


@config_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--dry-run", is_flag=True, help="Print the plan and write nothing.")
@click.option("--prune", is_flag=True,
              help="Delete entities of the sections in the file that the file does not list.")
@click.option("--message", "-m", default=None, help="Why (kept with the new configuration version).")
@one_line_errors
def import_config(file, dry_run, prune, message):
    """Apply a YAML or JSON configuration file.

    Creates missing entities, updates changed ones and, with --prune, deletes those of the
    file's sections that it does not list. Everything is validated first and written in one
    transaction; sections the file leaves out are not touched. Importing the same file twice
    changes nothing the second time.
    """
    text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    try:
        desired = declarative.load(text, None if file == "-" else file, settings())
        problems = (planner.unregistered_targets(db.session, desired, prune)
                    + planner.unknown_scopes(db.session, desired, prune))
        if problems:
            raise declarative.ConfigInvalid(problems)
    except declarative.ConfigInvalid as exc:
        report_invalid(exc, file)
    changes = planner.plan(db.session, desired, prune=prune)
    for change in changes:
        click.echo(planner.describe(change))
    if dry_run or not planner.writes(changes):
        db.session.rollback()
        click.echo(f"{'Dry run' if dry_run else 'Nothing to do'}: {plan_summary(changes)}; nothing was written.")
        return
    with change_context(cli_actor(), "import", message):
        planner.apply(db.session, changes)
    click.echo(f"Applied: {plan_summary(changes, done=True)} (configuration version {read_version(db.session)}).")


def plan_summary(changes: list[planner.Change], done: bool = False) -> str:
    """Return the count of each action, as a plan ("1 to create") or as done ("1 created")."""
    counts = planner.summarise(changes)
    words = ("created", "updated", "deleted") if done else ("to create", "to update", "to delete")
    return (f"{counts['create']} {words[0]}, {counts['update']} {words[1]}, {counts['delete']} {words[2]}, "
            f"{counts['unchanged']} unchanged")


# --- token ---------------------------------------------------------------------------------


class Lifetime(click.ParamType):
    """A token lifetime: seconds, or a number with s, m, h or d."""

    name = "ttl"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            return tokens.parse_ttl(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@click.group("token", cls=AppGroup)
@with_appcontext
def token_cli():
    """Issue JWTs signed with the gateway's keys."""
    refuse_unsafe()  # as the group is invoked: never while --help lists it


@token_cli.command("create")
@click.option("--sub", required=True, help="The subject (user id) of the token.")
@click.option("--role", "roles", multiple=True, required=True, help="A role; repeat for several.")
@click.option("--ttl", type=Lifetime(), default="1h", show_default=True,
              help="Lifetime: seconds, or 30s, 15m, 2h, 7d.")
@click.option("--login-url", is_flag=True,
              help="Print a dashboard login link (valid 60 s, admin role needed) instead of a token.")
@click.option("--base-url", default=None, metavar="URL",
              help="The gateway's address in the login link. Default: http://localhost:$PORT.")
@click.pass_context
@one_line_errors
def create_token(ctx, sub, roles, ttl, login_url, base_url):
    """Print a signed JWT for --sub with the --role claims.

    Nothing else goes to stdout, so TOKEN=$(flask token create ...) works. With --login-url it
    prints a link to /dashboard/login instead, holding a token good for that login only and for
    60 seconds; opening it logs the browser in for DASHBOARD_SESSION_LIFETIME.
    """
    if not sub.strip() or not all(role.strip() for role in roles):
        raise click.UsageError("--sub and --role must not be empty")
    if not login_url:
        if base_url is not None:
            raise click.UsageError("--base-url goes with --login-url")
        click.echo(tokens.issue_token(sub, list(roles), ttl))
        return
    if ctx.get_parameter_source("ttl") is not click.core.ParameterSource.DEFAULT:
        raise click.UsageError("--ttl does not apply to --login-url: the link lasts 60 s, "
                               "the login DASHBOARD_SESSION_LIFETIME")
    base = checked_base_url(base_url or f"http://localhost:{settings().port}")
    click.echo(tokens.login_url(base, tokens.issue_login_token(sub, list(roles))))


def checked_base_url(value: str) -> str:
    """Return ``value`` if it is an http(s) URL with a host and no query or fragment."""
    from gateway.settings import SettingsError, parse_http_url

    try:
        return parse_http_url("--base-url", value)
    except SettingsError:
        raise click.BadParameter(f"{value!r} is not an http:// or https:// URL with a host",
                                 param_hint="--base-url") from None


# --- logs ----------------------------------------------------------------------------------


@click.group("logs", cls=AppGroup)
@with_appcontext
def logs_cli():
    """Maintain the request log (GatewayLog rows)."""
    refuse_unsafe()  # as the group is invoked: never while --help lists it


@logs_cli.command("purge")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Delete rows older than this many days. Default: GATEWAY_LOG_RETENTION_DAYS.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=purge.BATCH_SIZE, show_default=True,
              help="Rows deleted per transaction.")
@one_line_errors
def purge_logs(days, batch_size):
    """Delete log rows older than the retention, and rollups older than theirs.

    The retention is GATEWAY_LOG_RETENTION_DAYS unless --days is given. On PostgreSQL the day
    partitions wholly older go at once (DROP TABLE) and the partitions of today and the next days
    are made; the other old rows go in batches, one short transaction each. Hour rollups and the
    per-minute series older than GATEWAY_ROLLUP_RETENTION_DAYS are deleted, minute rollups with the
    rows (kept 8 days at least).
    """
    days = settings().gateway_log_retention_days if days is None else days
    result = purge.purge(db.session, days, settings().gateway_rollup_retention_days, batch_size)
    cutoff = purge.cutoff_for(days)
    click.echo(f"Deleted {result.rows} log row{'s' if result.rows != 1 else ''} older than {days} days "
               f"(created before {cutoff.isoformat(timespec='seconds')}).")
    if result.partitions:
        click.echo(f"Dropped {len(result.partitions)} day partition(s): {', '.join(result.partitions)}.")
    if result.made:
        click.echo(f"Made {len(result.made)} day partition(s) ahead: {', '.join(result.made)}.")
    click.echo(f"Deleted {result.rollups} rollup row{'s' if result.rollups != 1 else ''}.")


# --- health --------------------------------------------------------------------------------


@click.group("health", cls=AppGroup)
@with_appcontext
def health_cli():
    """Check the registered services' health."""
    refuse_unsafe()  # as the group is invoked: never while --help lists it


@health_cli.command("check")
@one_line_errors
def check_health():
    """Run one round of health checks now and record it.

    Calls every registered service's health path once (HEALTH_CHECK_TIMEOUT, all at once),
    records status, response time and counts as the server's own checker does every
    HEALTH_CHECK_INTERVAL, and prints one line per service.
    """
    results = checker.run_round(current_app)
    for result in results:
        click.echo(describe_check(result))
    counts = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    click.echo(f"Checked {len(results)} service{'s' if len(results) != 1 else ''}" + (f": {summary}." if summary else "."))


def describe_check(result: checker.CheckResult) -> str:
    """Return one service's line: its status (and the one it had), what the check saw, how long it took."""
    change = f"{result.previous} -> {result.status}" if result.previous != result.status else result.status
    took = f", {result.probe.response_time:g} ms" if result.probe.response_time is not None else ""
    opened = "; circuit opened" if result.circuit_opened else ""
    return f"{result.service_name}: {change} ({result.probe.detail}{took}){opened}"


# --- rate-limits ---------------------------------------------------------------------------


@click.group("rate-limits", cls=AppGroup)
def rate_limits_cli():
    """Show the gateway's rate-limit rules (not Flask-Limiter's `flask limiter`)."""


@rate_limits_cli.command("list")
@one_line_errors
def list_rate_limits():
    """List the rate-limit rules in force, as the proxy applies them.

    The active rules of the database, and the settings' default-per-user and default-per-ip
    when RATE_LIMIT_ENABLED and no rule of that name exists. Their current usage is in
    GET /api/v1/gateway/rate-limits.
    """
    rules = compile_rules(db.session.query(RateLimitRule).order_by(RateLimitRule.rule_name).all(), settings())
    for rule in rules:
        source = "settings" if rule.id.startswith("settings:") else "database"
        pattern = rule.pattern.text if rule.pattern else "every path"
        click.echo(f"{rule.name}\t{rule.limit_type}\t{pattern}\t{rule.max_requests}/{rule.window}s\t{source}")
    click.echo(f"{len(rules)} rule{'s' if len(rules) != 1 else ''} in force.", err=True)


# --- version -------------------------------------------------------------------------------


@click.command("version")
def version_command():
    """Print the gateway's version (`flask --version` prints Flask's)."""
    click.echo(__version__)


# --- other packages' commands --------------------------------------------------------------


def openapi_commands(group: click.Group) -> click.Group:
    """Return flask-smorest's ``openapi`` group saying what it is for, without its config-prefix listing."""
    commands = {name: command for name, command in group.commands.items() if name != "list-config-prefixes"}
    return click.Group(name=group.name, commands=commands,
                       help="Print or write the admin API's OpenAPI document (the one served at "
                            "/api/v1/openapi.json), e.g. `flask --app wsgi openapi write openapi.json`.")


def relabel_flask_program_commands() -> None:
    """Hide FOREIGN_COMMANDS from `flask --help` and shell completion, and say what `flask routes` lists.

    They belong to the `flask` program (entry points, Flask's built-ins), not to the app, and are
    shown before the app's: their command objects, loaded by the program, are changed in this
    process only. A module the program has not loaded (a gunicorn worker) is left alone.
    """
    for entry_point in metadata.entry_points(group="flask.commands"):
        if entry_point.name in FOREIGN_COMMANDS and entry_point.module in sys.modules:
            entry_point.load().hidden = True
    routes_command.short_help = FLASK_ROUTES_HELP


# --- db (Flask-Migrate's) -----------------------------------------------------------------


class MigrationCommands(click.Group):
    """Flask-Migrate's ``db`` group: a database error is one line naming the database, not a traceback."""

    def __init__(self, group: click.Group, database_url: str) -> None:
        super().__init__(name=group.name, commands=group.commands, help=group.help, params=group.params,
                         callback=group.callback)
        self.database_url = database_url

    def invoke(self, ctx):
        refuse_unsafe()
        try:
            return super().invoke(ctx)
        except SQLAlchemyError as exc:
            raise click.ClickException(migration_error(exc, self.database_url)) from None


def migration_error(exc: SQLAlchemyError, database_url: str) -> str:
    """Return one line: which database (password hidden) and the first line of its error."""
    shown = make_url(database_url).render_as_string(hide_password=True)
    if getattr(exc, "statement", "") is None:  # failed connecting: no statement was sent
        return f"cannot connect to the database {shown}: {first_line(exc)}"
    return f"database error on {shown}: {first_line(exc)}"


def init_app(app) -> None:
    """Register the command groups on ``app.cli``; wrap Flask-Migrate's ``db`` and flask-smorest's ``openapi``."""
    for command in (seed_command, config_cli, token_cli, logs_cli, health_cli, rate_limits_cli, version_command):
        app.cli.add_command(command)
    migrations = app.cli.commands.get("db")  # added by Migrate.init_app (gateway.extensions)
    if migrations is not None:
        app.cli.add_command(MigrationCommands(migrations, app.config["SQLALCHEMY_DATABASE_URI"]))
    openapi = app.cli.commands.get("openapi")  # added by flask-smorest's Api (gateway.api)
    if openapi is not None:
        app.cli.add_command(openapi_commands(openapi))
    relabel_flask_program_commands()
