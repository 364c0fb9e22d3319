"""login links used once; the deployment's random id (its Via entry)

Revision ID: 0005_login_links
Revises: 0004_traffic
Create Date: 2026-11-27

login_link_uses: the jti of every dashboard login link used, until it expires (a second use
conflicts on the primary key). deployment: one row, the random id every worker and instance of
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
        'login_link_uses',
        sa.Column('jti', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('jti', name=op.f('pk_login_link_uses')),
    )
    with op.batch_alter_table('login_link_uses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_link_uses_expires_at'), ['expires_at'], unique=False)
    op.create_table(
        'deployment',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('via_id', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deployment')),
    )


def downgrade():
    op.drop_table('deployment')
    with op.batch_alter_table('login_link_uses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_link_uses_expires_at'))
    op.drop_table('login_link_uses')
