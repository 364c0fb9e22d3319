"""traffic management: several targets per route, traffic groups, the group in the request log

Revision ID: 0004_traffic
Revises: 0003_observability
Create Date: 2026-11-26

Existing routes keep their target_url and get no targets (NULL): they work unchanged.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004_traffic'
down_revision = '0003_observability'
branch_labels = None
depends_on = None

GROUP_CONDITION = "target_group IS NOT NULL"


def upgrade():
    with op.batch_alter_table('route_configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('targets', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('traffic', sa.JSON(), nullable=True))
        batch_op.alter_column('target_url', existing_type=sa.String(length=2048), nullable=True)
    with op.batch_alter_table('gateway_logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_group', sa.String(length=100), nullable=True))
        batch_op.create_index('ix_gateway_logs_groups_created_at', ['created_at'], unique=False,
                              postgresql_where=sa.text(GROUP_CONDITION), sqlite_where=sa.text(GROUP_CONDITION))


def downgrade():
    with op.batch_alter_table('gateway_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_gateway_logs_groups_created_at')
        batch_op.drop_column('target_group')
    with op.batch_alter_table('route_configs', schema=None) as batch_op:
        batch_op.alter_column('target_url', existing_type=sa.String(length=2048), nullable=False)
        batch_op.drop_column('traffic')
        batch_op.drop_column('targets')
