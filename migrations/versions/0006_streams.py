"""long-lived connections: a route's cap on a whole streamed response

Revision ID: 0006_streams
Revises: 0005_login_links
Create Date: 2026-12-05

route_configs.stream_timeout: seconds a whole response may stream (NULL: no cap; the route's
timeout bounds the wait for the headers and each gap between chunks).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006_streams'
down_revision = '0005_login_links'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('route_configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stream_timeout', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('route_configs', schema=None) as batch_op:
        batch_op.drop_column('stream_timeout')
