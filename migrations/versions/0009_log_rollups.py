"""request-log rollups: per-minute and per-hour counts and latency histograms, backfilled

Revision ID: 0009_log_rollups
Revises: 0008_streams
Create Date: 2026-12-05

gateway_log_rollups and gateway_log_latency (see gateway.models.log_rollup), filled from the log
rows already there by the same sums the log writer makes (gateway.requestlog.rollups.backfill:
one INSERT ... SELECT per table on PostgreSQL, chunks on SQLite), so /stats reads the same
history after the upgrade as before it.
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009_log_rollups'
down_revision = '0008_streams'
branch_labels = None
depends_on = None

EVER = (dt.datetime(1970, 1, 1, tzinfo=dt.UTC), dt.datetime(9999, 1, 1, tzinfo=dt.UTC))


def upgrade():
    op.create_table(
        'gateway_log_rollups',
        sa.Column('span', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('target_service', sa.String(length=100), nullable=False),
        sa.Column('route_pattern', sa.String(length=255), nullable=False),
        sa.Column('method', sa.String(length=16), nullable=False),
        sa.Column('status_code', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('target_group', sa.String(length=100), nullable=False),
        sa.Column('requests', sa.BigInteger(), nullable=False),
        sa.Column('errors', sa.BigInteger(), nullable=False),
        sa.Column('server_errors', sa.BigInteger(), nullable=False),
        sa.Column('timed', sa.BigInteger(), nullable=False),
        sa.Column('time_sum', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('span', 'start', 'target_service', 'route_pattern', 'method', 'status_code',
                                'target_group', name=op.f('pk_gateway_log_rollups')),
    )
    op.create_table(
        'gateway_log_latency',
        sa.Column('span', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('target_service', sa.String(length=100), nullable=False),
        sa.Column('bucket', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('count', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('span', 'start', 'target_service', 'bucket', name=op.f('pk_gateway_log_latency')),
    )
    from gateway.requestlog import rollups

    rollups.backfill(op.get_bind(), *EVER)


def downgrade():
    op.drop_table('gateway_log_latency')
    op.drop_table('gateway_log_rollups')
