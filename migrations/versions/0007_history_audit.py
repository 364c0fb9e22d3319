"""configuration history and the audit trail

Revision ID: 0007_history_audit
Revises: 0006_plugins
Create Date: 2026-12-05

config_history: one row per configuration version (the whole declarative configuration as JSON,
actor, source, message, one-line summary), numbered by config_version.version. audit_records: the
admin requests that changed something or were refused, and the dashboard's sign-in attempts.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007_history_audit'
down_revision = '0006_plugins'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'config_history',
        sa.Column('number', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=200), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('message', sa.String(length=500), nullable=True),
        sa.Column('summary', sa.String(length=500), nullable=False),
        sa.Column('document', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('number', name=op.f('pk_config_history')),
    )
    op.create_table(
        'audit_records',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=200), nullable=True),
        sa.Column('source_ip', sa.String(length=64), nullable=False),
        sa.Column('method', sa.String(length=16), nullable=False),
        sa.Column('path', sa.String(length=2048), nullable=False),
        sa.Column('status', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.String(length=128), nullable=True),
        sa.Column('version', sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_records')),
    )
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_records_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_records_actor'), ['actor'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_records_actor'))
        batch_op.drop_index(batch_op.f('ix_audit_records_created_at'))
    op.drop_table('audit_records')
    op.drop_table('config_history')
