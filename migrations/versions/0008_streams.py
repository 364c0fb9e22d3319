"""long-lived connections: a route's cap on a whole streamed response, WebSocket pass-through

Revision ID: 0008_streams
Revises: 0007_history_audit
Create Date: 2026-12-05

route_configs.stream_timeout: seconds a whole response may stream (NULL: no cap; the route's
timeout bounds the wait for the headers and each gap between chunks). route_configs.websocket:
the route passes WebSocket handshakes through (false for every existing route: unchanged);
websocket_idle_timeout: its own idle limit (NULL: the setting's). gateway_logs.request_bytes and
response_bytes: what a WebSocket connection relayed each way (NULL on other rows).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008_streams'
down_revision = '0007_history_audit'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('route_configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stream_timeout', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('websocket', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('websocket_idle_timeout', sa.Integer(), nullable=True))
    with op.batch_alter_table('gateway_logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_bytes', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('response_bytes', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('gateway_logs', schema=None) as batch_op:
        batch_op.drop_column('response_bytes')
        batch_op.drop_column('request_bytes')
    with op.batch_alter_table('route_configs', schema=None) as batch_op:
        batch_op.drop_column('websocket_idle_timeout')
        batch_op.drop_column('websocket')
        batch_op.drop_column('stream_timeout')
