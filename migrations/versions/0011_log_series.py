"""request-log series: per-minute requests and errors per service and source, backfilled

Revision ID: 0011_log_series
Revises: 0010_log_partitions
Create Date: 2026-12-05

gateway_log_series (see gateway.models.log_series), what /stats/timeseries reads for steps of whole
minutes, filled from the log rows still there by the same sums the log writer makes
(gateway.requestlog.series.backfill: one INSERT ... SELECT on PostgreSQL, chunks on SQLite). Minutes
whose log rows were purged already get no series rows: their timeseries shows zeros.
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011_log_series'
down_revision = '0010_log_partitions'
branch_labels = None
depends_on = None

EVER = (dt.datetime(1970, 1, 1, tzinfo=dt.UTC), dt.datetime(9999, 1, 1, tzinfo=dt.UTC))


def upgrade():
    op.create_table(
        'gateway_log_series',
        sa.Column('start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('target_service', sa.String(length=100), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('requests', sa.BigInteger(), nullable=False),
        sa.Column('errors', sa.BigInteger(), nullable=False),
        sa.Column('server_errors', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('start', 'target_service', 'source', name=op.f('pk_gateway_log_series')),
    )
    from gateway.requestlog import series

    series.backfill(op.get_bind(), *EVER)


def downgrade():
    op.drop_table('gateway_log_series')
