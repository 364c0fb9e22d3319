"""The flask commands of safe change: ``config history``, ``config diff``, ``config rollback``, ``audit purge``.

Added to the ``config`` group of :mod:`gateway.cli`; the work is done in :mod:`gateway.history`
and :mod:`gateway.audit`.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from gateway.audit import trail
from gateway.cli import one_line_errors, plan_summary, report_invalid, settings
from gateway.config import declarative, planner
from gateway.config.runtime import configuration_changed
from gateway.extensions import db
from gateway.history import diff, versions
from gateway.history.context import cli_actor
from gateway.requestlog.purge import cutoff_for


@click.command("history")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Versions shown.")
@with_appcontext
@one_line_errors
def show_history(limit):
    """List the newest configuration versions: number, time, actor, source, summary and message."""
    rows, total = versions.page(db.session, limit, 0)
    for row in rows:
        message = f'  "{row.message}"' if row.message else ""
        click.echo(f"{row.number:>6}  {row.created_at.isoformat(timespec='seconds')}  {row.actor}  {row.source}  "
                   f"{row.summary}{message}")
    db.session.rollback()
    click.echo(f"{len(rows)} of {total} version{'s' if total != 1 else ''} shown.", err=True)


@click.command("diff")
@click.argument("number", type=click.IntRange(min=1))
@click.argument("against", type=click.IntRange(min=0), required=False)
@with_appcontext
@one_line_errors
def show_diff(number, against):
    """Show what changed from version AGAINST (default: the one before) to version NUMBER."""
    result = versions.compare(db.session, settings(), number, against)
    db.session.rollback()
    base = f"version {result['against']}" if result["against"] is not None else "the empty configuration"
    click.echo(f"From {base} to version {number}:")
    lines = diff.phrases(result)
    for line in lines:
        click.echo(f"  {line}")
    if not lines:
        click.echo("  no change")


@click.command("rollback")
@click.argument("number", type=click.IntRange(min=1))
@click.option("--dry-run", is_flag=True, help="Print the plan and write nothing.")
@click.option("--message", "-m", default=None, help="Why (kept with the new version).")
@with_appcontext
@one_line_errors
def roll_back(number, dry_run, message):
    """Make the configuration equal to version NUMBER, as a new version.

    Creates, updates and deletes what differs (an import of that version with --prune), in one
    transaction; every worker and instance follows within CONFIG_POLL_INTERVAL.
    """
    try:
        changes = versions.rollback_plan(db.session, settings(), number)
    except declarative.ConfigInvalid as exc:
        db.session.rollback()
        report_invalid(exc, f"version {number}")
    for change in changes:
        if change.action != "unchanged":
            click.echo(planner.describe(change))
    if dry_run or not planner.writes(changes):
        db.session.rollback()
        click.echo(f"{'Dry run' if dry_run else 'Nothing to do'}: {plan_summary(changes)}; nothing was written.")
        return
    produced = versions.roll_back(db.session, changes, number, cli_actor(), message)
    configuration_changed()
    click.echo(f"Rolled back to version {number}: {plan_summary(changes, done=True)} "
               f"(configuration version {produced}).")


@click.group("audit", cls=AppGroup)
def audit_cli():
    """Maintain the audit trail."""


@audit_cli.command("purge")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Delete records older than this many days. Default: GATEWAY_AUDIT_RETENTION_DAYS.")
@one_line_errors
def purge_audit(days):
    """Delete audit records older than the retention (GATEWAY_AUDIT_RETENTION_DAYS unless --days)."""
    days = settings().gateway_audit_retention_days if days is None else days
    cutoff = cutoff_for(days)
    deleted = trail.purge(db.session, cutoff)
    click.echo(f"Deleted {deleted} audit record{'s' if deleted != 1 else ''} older than {days} days "
               f"(made before {cutoff.isoformat(timespec='seconds')}).")


def init_app(app) -> None:
    """Add the history commands to the ``config`` group and the ``audit`` group to ``app.cli``."""
    group = app.cli.commands["config"]
    for command in (show_history, show_diff, roll_back):
        group.add_command(command)
    app.cli.add_command(audit_cli)
