"""request-log series mark: from when on the series count exactly the log rows there

Revision ID: 0012_log_series_mark
Revises: 0011_log_series
Create Date: 2026-12-06

gateway_log_series_mark (see gateway.models.log_series.SeriesMark), one row: the totals of /logs and
/errors are summed from the series from its instant on, and counted from the rows before it. Its
first value comes from what is there (gateway.requestlog.series.first_mark): the end of the last
minute whose series do not count its log rows exactly (an older version's purges may have deleted
rows or series first, or stopped half-way), found by comparing them minute by minute (one GROUP BY
over the log on PostgreSQL, as 0011's backfill); none when every minute agrees.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012_log_series_mark'
down_revision = '0011_log_series'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'gateway_log_series_mark',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('agree_from', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_log_series_mark')),
    )
    from gateway.models.log_series import MARK_ROW_ID, SeriesMark
    from gateway.requestlog import series

    connection = op.get_bind()
    connection.execute(sa.insert(SeriesMark.__table__).values(id=MARK_ROW_ID, agree_from=series.first_mark(connection)))


def downgrade():
    op.drop_table('gateway_log_series_mark')
