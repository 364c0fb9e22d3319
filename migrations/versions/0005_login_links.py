"""the deployment's random id (its Via entry)

Revision ID: 0005_login_links
Revises: 0004_traffic
Create Date: 2026-11-27

deployment: one row, the random id every worker and instance of
the deployment puts in its Via entry to recognise a request that loops back (made at first use).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005_login_links'
down_revision = '0004_traffic'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'deployment',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('via_id', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deployment')),
    )


def downgrade():
    op.drop_table('deployment')
