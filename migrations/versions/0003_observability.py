"""observability: request-log indexes for /logs by service and for /errors

Revision ID: 0003_observability
Revises: 0001_initial
Create Date: 2026-11-26

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003_observability'
down_revision = '0001_initial'
branch_labels = None
depends_on = None

ERROR_CONDITION = "status_code >= 400 OR error_message IS NOT NULL"


def upgrade():
    with op.batch_alter_table('gateway_logs', schema=None) as batch_op:
        batch_op.create_index('ix_gateway_logs_target_service_created_at', ['target_service', 'created_at'],
                              unique=False)
        batch_op.create_index('ix_gateway_logs_errors_created_at', ['created_at'], unique=False,
                              postgresql_where=sa.text(ERROR_CONDITION), sqlite_where=sa.text(ERROR_CONDITION))


def downgrade():
    with op.batch_alter_table('gateway_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_gateway_logs_errors_created_at')
        batch_op.drop_index('ix_gateway_logs_target_service_created_at')
