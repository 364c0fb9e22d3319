"""PostgreSQL: the request log range-partitioned by day on created_at, rows kept

Revision ID: 0010_log_partitions
Revises: 0009_log_rollups
Create Date: 2026-12-05

The existing table is renamed gateway_logs_unpartitioned (its indexes dropped, their definitions
kept), a partitioned gateway_logs takes its place with a DEFAULT partition and one partition per
day from the oldest row's day (at most 400 days back; older rows go to the default partition) to
3 days ahead, the rows are copied over, the indexes and the primary key (id, created_at) made
again, and the old table dropped: one transaction, so a failure leaves the table as it was.
SQLite keeps its one table (nothing to do). The downgrade copies the rows back into a plain table.
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010_log_partitions'
down_revision = '0009_log_rollups'
branch_labels = None
depends_on = None

AHEAD = 3
OLDEST = 400


def indexes(connection, table: str) -> list[tuple[str, str]]:
    """Return (name, definition) of ``table``'s indexes, its primary key's aside."""
    return [tuple(row) for row in connection.execute(sa.text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :table AND indexname NOT LIKE 'pk_%'"),
        {"table": table})]


def swap(connection, old: str, create: str) -> list[tuple[str, str]]:
    """Rename gateway_logs to ``old``, drop its indexes (returned) and create the new gateway_logs."""
    kept = indexes(connection, "gateway_logs")
    connection.execute(sa.text(f"ALTER TABLE gateway_logs RENAME TO {old}"))
    connection.execute(sa.text(f"ALTER TABLE {old} RENAME CONSTRAINT pk_gateway_logs TO pk_{old}"))
    for name, _ in kept:
        connection.execute(sa.text(f"DROP INDEX {name}"))
    connection.execute(sa.text(create.format(old=old)))
    return kept


def fill(connection, old: str, kept: list[tuple[str, str]], primary_key: str) -> None:
    """Copy ``old``'s rows into gateway_logs, make its key and indexes, drop ``old``."""
    connection.execute(sa.text(f"INSERT INTO gateway_logs SELECT * FROM {old}"))
    connection.execute(sa.text(f"ALTER TABLE gateway_logs ADD CONSTRAINT pk_gateway_logs PRIMARY KEY ({primary_key})"))
    for _, definition in kept:
        connection.execute(sa.text(definition.replace(f" ON public.{old} ", " ON public.gateway_logs ")
                                   .replace(f" ON {old} ", " ON gateway_logs ")))
    connection.execute(sa.text(f"DROP TABLE {old}"))


def upgrade():
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    old = "gateway_logs_unpartitioned"
    kept = swap(connection, old, "CREATE TABLE gateway_logs (LIKE {old} INCLUDING DEFAULTS) "
                                 "PARTITION BY RANGE (created_at)")
    connection.execute(sa.text("CREATE TABLE gateway_logs_default PARTITION OF gateway_logs DEFAULT"))
    today = dt.datetime.now(dt.UTC).date()
    oldest = connection.execute(sa.text(f"SELECT min(created_at) FROM {old}")).scalar()
    first = max(oldest.astimezone(dt.UTC).date(), today - dt.timedelta(days=OLDEST)) if oldest else today
    day = min(first, today)
    while day <= today + dt.timedelta(days=AHEAD):
        connection.execute(sa.text(
            f"CREATE TABLE gateway_logs_p{day:%Y%m%d} PARTITION OF gateway_logs FOR VALUES "
            f"FROM ('{day.isoformat()} 00:00:00+00') TO ('{(day + dt.timedelta(days=1)).isoformat()} 00:00:00+00')"))
        day += dt.timedelta(days=1)
    fill(connection, old, kept, "id, created_at")


def downgrade():
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    old = "gateway_logs_partitioned"
    kept = swap(connection, old, "CREATE TABLE gateway_logs (LIKE {old} INCLUDING DEFAULTS)")
    fill(connection, old, kept, "id")
